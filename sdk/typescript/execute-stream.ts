import type { ExecutePhase, OutputChunk } from '../../api/execute-stream';
import type { ProblemDetails } from '../../api/problem';
import { HksApiError, HksTransportError } from './errors';
import type { Http } from './http';
import type { ExecuteRequest, ExecuteResult, OperationOptions, OperationTimings } from './types';

export type { ExecutePhase, OutputChunk };

/**
 * One event of a streamed execute, in order: `phase` events as the execution reaches them,
 * `output` as the code writes (cut at the API's output cap, the last one then `truncated`),
 * and last the `result`, the same as `execute` returns.
 */
export type ExecuteStreamEvent =
  | { readonly type: 'phase'; readonly phase: ExecutePhase; readonly timings: OperationTimings }
  | ({ readonly type: 'output' } & OutputChunk)
  | { readonly type: 'result'; readonly result: ExecuteResult };

/** Options of a streamed execute. */
export interface ExecuteStreamOptions extends OperationOptions {
  /**
   * Stops the execution: the stream is closed and the API deletes the temporary function.
   * Leaving the loop early (`break`) does the same. @default - none
   */
  readonly signal?: AbortSignal;
}

const PATH = '/internal/v1/operations/execute';

/**
 * `POST /internal/v1/operations/execute` with `Accept: text/event-stream`: the events as they
 * arrive. A refused request throws `HksApiError` before any event; a failure of the platform
 * mid-way (an `error` event) throws `HksApiError` with its problem.
 */
export async function* executeStream(
  http: Http,
  request: ExecuteRequest,
  options: ExecuteStreamOptions,
  timeoutMs: number,
): AsyncGenerator<ExecuteStreamEvent, ExecuteResult, undefined> {
  const controller = new AbortController();
  const stop = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.signal?.aborted) stop();
  let event = '';
  let data = '';
  try {
    const lines = http.lines({
      method: 'POST',
      path: PATH,
      json: request,
      headers: { accept: 'text/event-stream' },
      timeoutMs: options.timeoutMs ?? timeoutMs,
      signal: controller.signal,
    });
    for await (const line of lines) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trimStart();
      else if (line === '' && event) {
        const parsed = JSON.parse(data) as Record<string, unknown>;
        const name = event;
        event = '';
        data = '';
        if (name === 'phase') yield { type: 'phase', ...parsed } as ExecuteStreamEvent;
        else if (name === 'output') yield { type: 'output', ...parsed } as ExecuteStreamEvent;
        else if (name === 'result') {
          const result = parsed as unknown as ExecuteResult;
          yield { type: 'result', result };
          return result;
        } else if (name === 'error') {
          const problem = parsed as unknown as ProblemDetails;
          throw new HksApiError(problem.status, problem, 'POST', PATH);
        }
      }
    }
    if (options.signal?.aborted) throw options.signal.reason;
    throw new HksTransportError(`POST ${PATH}: the stream ended before its result`, `POST ${PATH}`);
  } finally {
    options.signal?.removeEventListener('abort', stop);
    // Left early (break, an error) or not: the API stops the code once the stream closes.
    controller.abort();
  }
}
