import { Http, LONG_REQUEST_TIMEOUT_MS, segment } from './http';
import type {
  DeployedFunction,
  DeployFunctionRequest,
  ExecuteRequest,
  ExecuteResult,
  InvokeFunctionResult,
  OperationOptions,
} from './types';

/**
 * `/internal/v1/operations`: the execute-once path for agents. Needs an internal token
 * (audience `hks-internal`); user tokens get 403 here.
 */
export class OperationsApi {
  constructor(private readonly http: Http) {}

  /**
   * Deploys code as a temporary function, invokes it once with `input` and removes it.
   * A handler error is a result with `status: "failed"` (`"timeout"`, `"killed"`) and `error`,
   * not an exception; `stdout`, `stderr` and `output` hold what the code wrote (`truncated` says
   * what was cut at the API's cap). `inputFiles` (`{path: {text} | {base64}}`) are placed under
   * `input/` of the code's working directory; what it writes under `output/` comes back as
   * `outputFiles`, and what was left out as `omittedFiles`. Code that does not compile is a 400
   * `HksApiError` naming file and line.
   */
  public execute(request: ExecuteRequest, options: OperationOptions = {}): Promise<ExecuteResult> {
    return this.http.json({
      method: 'POST',
      path: '/internal/v1/operations/execute',
      json: request,
      timeoutMs: options.timeoutMs ?? LONG_REQUEST_TIMEOUT_MS,
    });
  }

  /** Deploys a temporary function that lives `ttlSeconds`; invoke it by its `id`. */
  public deployFunction(
    request: DeployFunctionRequest,
    options: OperationOptions = {},
  ): Promise<DeployedFunction> {
    return this.http.json({
      method: 'POST',
      path: '/internal/v1/operations/deploy-function',
      json: request,
      timeoutMs: options.timeoutMs ?? LONG_REQUEST_TIMEOUT_MS,
    });
  }

  /** Invokes a temporary function with a JSON input. */
  public invokeFunction(
    id: string,
    input: unknown = null,
    options: OperationOptions = {},
  ): Promise<InvokeFunctionResult> {
    return this.http.json({
      method: 'POST',
      path: `/internal/v1/operations/functions/${segment(id)}/invoke`,
      json: input ?? null,
      timeoutMs: options.timeoutMs ?? LONG_REQUEST_TIMEOUT_MS,
    });
  }

  /** Deletes a temporary function before it expires. */
  public async deleteFunction(id: string): Promise<void> {
    await this.http.send({
      method: 'DELETE',
      path: `/internal/v1/operations/functions/${segment(id)}`,
    });
  }
}
