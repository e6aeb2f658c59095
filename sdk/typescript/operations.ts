import { Http, segment } from './http';
import type {
  DeployedFunction,
  DeployFunctionRequest,
  ExecuteRequest,
  ExecuteResult,
  InvokeFunctionResult,
} from './types';

/**
 * `/internal/v1/operations`: the execute-once path for agents. Needs an internal token
 * (audience `hks-internal`); user tokens get 403 here.
 */
export class OperationsApi {
  constructor(private readonly http: Http) {}

  /**
   * Deploys code as a temporary function, invokes it once with `input` and removes it.
   * A handler error is a result with `status: "failed"`, not an exception; code that does not
   * compile is a 400 `HksApiError` naming file and line.
   */
  public execute(request: ExecuteRequest): Promise<ExecuteResult> {
    return this.http.json({
      method: 'POST',
      path: '/internal/v1/operations/execute',
      json: request,
    });
  }

  /** Deploys a temporary function that lives `ttlSeconds`; invoke it by its `id`. */
  public deployFunction(request: DeployFunctionRequest): Promise<DeployedFunction> {
    return this.http.json({
      method: 'POST',
      path: '/internal/v1/operations/deploy-function',
      json: request,
    });
  }

  /** Invokes a temporary function with a JSON input. */
  public invokeFunction(id: string, input: unknown = null): Promise<InvokeFunctionResult> {
    return this.http.json({
      method: 'POST',
      path: `/internal/v1/operations/functions/${segment(id)}/invoke`,
      json: input ?? null,
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
