import { HksTimeoutError } from './errors';
import { Http, projectPath, segment } from './http';

/** Where an asynchronous invocation is. */
export type AsyncInvocationState =
  'queued' | 'running' | 'succeeded' | 'failed-retrying' | 'dead' | 'cancelled';

/** How an asynchronous invocation is submitted. */
export interface InvokeAsyncOptions {
  /** A traffic tag. @default - the function's traffic split */
  readonly tag?: string;
  /** An http(s) URL the signed result is POSTed to when the invocation ends. @default - none */
  readonly callbackUrl?: string;
  /** The same key (with the same body) returns the same invocation. @default - none */
  readonly idempotencyKey?: string;
}

/** The answer to a submission. */
export interface AsyncSubmission {
  readonly id: string;
  readonly state: AsyncInvocationState;
  /** The API path to poll. */
  readonly location: string;
  /** The invocation already held the idempotency key (200, not 202). */
  readonly replayed: boolean;
}

/** An asynchronous invocation as the API shows it. */
export interface AsyncInvocationView {
  readonly id: string;
  readonly project: string;
  readonly function: string;
  readonly tag?: string;
  readonly state: AsyncInvocationState;
  readonly attempts: number;
  readonly maxAttempts: number;
  /** Invocation-history ids of the attempts, first to last. */
  readonly attemptIds: string[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly nextAttemptAt?: string;
  readonly finishedAt?: string;
  readonly durationMs?: number;
  readonly requestBytes: number;
  readonly idempotencyKey?: string;
  readonly callbackUrl?: string;
  readonly callback?: {
    readonly state: 'pending' | 'delivered' | 'failed';
    readonly attempts: number;
    readonly status?: number;
    readonly error?: string;
    readonly at?: string;
  };
  readonly lastError?: string;
  readonly result?: {
    readonly status: number;
    readonly contentType?: string;
    readonly bytes: number;
    readonly truncated: boolean;
    readonly body?: string;
    readonly bodyBase64?: string;
  };
}

/** States an asynchronous invocation does not leave. */
export const FINAL_ASYNC_STATES: readonly AsyncInvocationState[] = [
  'succeeded',
  'dead',
  'cancelled',
];

/** `/functions/{name}/async-invocations`: queued invocations and their results. */
export class AsyncInvocationsApi {
  constructor(private readonly http: Http) {}

  /** Queues an invocation of a Function with a JSON event (`Prefer: respond-async`). */
  public async invokeAsync(
    project: string,
    name: string,
    input: unknown,
    options: InvokeAsyncOptions = {},
  ): Promise<AsyncSubmission> {
    const { body, response } = await this.http.send({
      method: 'POST',
      path: `${functionPath(project, name)}/invoke`,
      query: { tag: options.tag },
      json: input ?? null,
      headers: {
        prefer: 'respond-async',
        ...(options.callbackUrl ? { 'x-callback-url': options.callbackUrl } : {}),
        ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}),
      },
    });
    const view = JSON.parse(new TextDecoder().decode(body)) as Omit<AsyncSubmission, 'replayed'>;
    return { ...view, replayed: response.status === 200 };
  }

  /** One asynchronous invocation: state, attempts, result, callback. */
  public getInvocation(project: string, name: string, id: string): Promise<AsyncInvocationView> {
    return this.http.json({
      method: 'GET',
      path: `${functionPath(project, name)}/async-invocations/${segment(id)}`,
    });
  }

  /** A function's asynchronous invocations, newest first, without result bodies. */
  public async listInvocations(
    project: string,
    name: string,
    query: { state?: AsyncInvocationState; limit?: number } = {},
  ): Promise<AsyncInvocationView[]> {
    const list = await this.http.json<{ items: AsyncInvocationView[] }>({
      method: 'GET',
      path: `${functionPath(project, name)}/async-invocations`,
      query: { state: query.state, limit: query.limit },
    });
    return list.items;
  }

  /** Cancels a queued invocation (or one waiting for a retry); `HksApiError` 409 otherwise. */
  public cancelInvocation(project: string, name: string, id: string): Promise<AsyncInvocationView> {
    return this.http.json({
      method: 'DELETE',
      path: `${functionPath(project, name)}/async-invocations/${segment(id)}`,
    });
  }

  /**
   * Polls an invocation until it is succeeded, dead or cancelled.
   * @param options.timeoutMs @default 300000
   * @param options.intervalMs @default 1000
   * @throws HksTimeoutError when it has not ended in time
   */
  public async waitForInvocation(
    project: string,
    name: string,
    id: string,
    options: { timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<AsyncInvocationView> {
    const deadline = Date.now() + (options.timeoutMs ?? 300_000);
    for (;;) {
      const view = await this.getInvocation(project, name, id);
      if (FINAL_ASYNC_STATES.includes(view.state)) return view;
      if (Date.now() > deadline)
        throw new HksTimeoutError(
          `Invocation ${id} of ${name} is still ${view.state} after ${(options.timeoutMs ?? 300_000) / 1000} s`,
        );
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1000));
    }
  }

  /** The key this project's callbacks are signed with (see verifyCallbackSignature). */
  public async callbackKey(project: string): Promise<string> {
    const answer = await this.http.json<{ key: string }>({
      method: 'GET',
      path: `${projectPath(project)}/async-callback-key`,
    });
    return answer.key;
  }
}

function functionPath(project: string, name: string): string {
  return `${projectPath(project)}/functions/${segment(name)}`;
}
