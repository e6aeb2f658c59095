import { Http, LONG_REQUEST_TIMEOUT_MS, segment } from './http';
import { AgentSession, openSession, OpenSessionRequest } from './sessions';
import { executeStream, ExecuteStreamEvent, ExecuteStreamOptions } from './execute-stream';
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

  /**
   * `execute`, streamed (`Accept: text/event-stream`): yields `phase` events, the code's
   * `output` as it writes it (`{stream, text}`), then the `result` (also the iterator's return
   * value). A refused request throws `HksApiError` before any event. Leaving the loop early or
   * aborting `options.signal` stops the code: the API deletes the temporary function.
   *
   * ```ts
   * for await (const event of hks.operations.executeStream({ runtime: 'python3.12', code })) {
   *   if (event.type === 'output') process[event.stream].write(event.text);
   *   else if (event.type === 'result') console.log(event.result.status);
   * }
   * ```
   */
  public executeStream(
    request: ExecuteRequest,
    options: ExecuteStreamOptions = {},
  ): AsyncGenerator<ExecuteStreamEvent, ExecuteResult, undefined> {
    return executeStream(this.http, request, options, LONG_REQUEST_TIMEOUT_MS);
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

  /**
   * Opens an agent session: a warm function that successive `execute` calls reuse with new
   * code each time; `close()` it when done.
   *
   * ```ts
   * const session = await hks.operations.openSession({ runtime: 'python3.12' });
   * try {
   *   await session.execute('def handler(event):\n    open("notes.txt", "w").write("x")\n');
   *   const read = await session.execute('def handler(event):\n    return open("notes.txt").read()\n');
   * } finally {
   *   await session.close();
   * }
   * ```
   */
  public openSession(
    request: OpenSessionRequest,
    options: OperationOptions = {},
  ): Promise<AgentSession> {
    return openSession(this.http, request, options);
  }
}
