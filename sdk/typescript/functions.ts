import { LOG_RESULT_HEADER, LOG_TAIL_HEADER, splitLogTail } from '../../runtimes/log-records';
import { HksFunctionFailedError, HksTimeoutError } from './errors';
import { Http, LONG_REQUEST_TIMEOUT_MS, projectPath, segment } from './http';
import type {
  FollowOptions,
  FunctionLogOptions,
  FunctionView,
  InvocationPage,
  InvocationQuery,
  InvocationView,
  InvokeOptions,
  ItemList,
  RawInvokeRequest,
  RawInvokeResult,
  RevisionView,
  TrafficTarget,
  WaitOptions,
} from './types';

/** `/api/v1/projects/{project}/functions`: Functions as Knative serves them. */
export class FunctionsApi {
  constructor(private readonly http: Http) {}

  /** The Functions of a project. */
  public async list(project: string): Promise<FunctionView[]> {
    const list = await this.http.json<ItemList<FunctionView>>({
      method: 'GET',
      path: `${projectPath(project)}/functions`,
    });
    return list.items;
  }

  /** One Function: readiness, URL, revisions and traffic. */
  public get(project: string, name: string): Promise<FunctionView> {
    return this.http.json({ method: 'GET', path: this.path(project, name) });
  }

  /**
   * Invokes a Function with a JSON event and parses its JSON answer. An error status (the
   * function's own, or the API's 502/503/504) throws `HksApiError`.
   */
  public async invoke<TResult = unknown>(
    project: string,
    name: string,
    input: unknown,
    options: InvokeOptions = {},
  ): Promise<TResult> {
    const { body, response } = await this.http.send({
      method: 'POST',
      path: `${this.path(project, name)}/invoke`,
      query: { tag: options.tag },
      json: input ?? null,
      timeoutMs: options.timeoutMs ?? LONG_REQUEST_TIMEOUT_MS,
    });
    const text = new TextDecoder().decode(body);
    const type = response.headers.get('content-type') ?? '';
    if (!text) return undefined as TResult;
    return (type.includes('json') ? JSON.parse(text) : text) as TResult;
  }

  /**
   * Invokes a Function with any body and returns its answer as it is (status, headers,
   * bytes): error statuses do not throw.
   */
  public async invokeRaw(
    project: string,
    name: string,
    request: RawInvokeRequest,
  ): Promise<RawInvokeResult> {
    const defaultType =
      typeof request.body === 'string' ? 'text/plain' : 'application/octet-stream';
    const { body, response } = await this.http.send({
      method: 'POST',
      path: `${this.path(project, name)}/invoke`,
      query: { tag: request.tag },
      body: request.body,
      headers: {
        'content-type': request.contentType ?? defaultType,
        ...(request.logs ? { [LOG_TAIL_HEADER]: 'tail' } : {}),
      },
      allowErrorStatus: true,
      timeoutMs: request.timeoutMs ?? LONG_REQUEST_TIMEOUT_MS,
    });
    const requestId = response.headers.get('x-request-id') ?? undefined;
    const tail = response.headers.get(LOG_RESULT_HEADER);
    const split = tail === null ? undefined : splitLogTail(tail);
    return {
      status: response.status,
      headers: response.headers,
      body,
      text: new TextDecoder().decode(body),
      requestId,
      ...(split === undefined ? {} : { logs: split.output, invocation: split.record }),
    };
  }

  /** One page of a Function's invocation history, newest first (without logs). */
  public invocations(
    project: string,
    name: string,
    query: InvocationQuery = {},
  ): Promise<InvocationPage> {
    return this.http.json({
      method: 'GET',
      path: `${this.path(project, name)}/invocations`,
      query: {
        limit: query.limit,
        cursor: query.cursor,
        status: query.status,
        trigger: query.trigger,
        since: query.since,
        until: query.until,
      },
    });
  }

  /**
   * Every recorded invocation, newest first, fetching page after page as the iteration goes.
   * @param query.limit the page size. @default 20
   */
  public async *allInvocations(
    project: string,
    name: string,
    query: Omit<InvocationQuery, 'cursor'> = {},
  ): AsyncGenerator<InvocationView, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.invocations(project, name, { ...query, cursor });
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor);
  }

  /** One invocation, with the logs its runtime returned. */
  public invocation(project: string, name: string, id: string): Promise<InvocationView> {
    return this.http.json({
      method: 'GET',
      path: `${this.path(project, name)}/invocations/${segment(id)}`,
    });
  }

  /** The logs of a Function's pods as they are now. */
  public logs(project: string, name: string, options: FunctionLogOptions = {}): Promise<string> {
    return this.http.text({
      method: 'GET',
      path: `${this.path(project, name)}/logs`,
      query: { since: options.since, tail: options.tail },
    });
  }

  /** The logs of a Function's pods line by line, following new lines until stopped. */
  public followLogs(
    project: string,
    name: string,
    options: FunctionLogOptions & FollowOptions = {},
  ): AsyncIterable<string> {
    return this.http.lines({
      method: 'GET',
      path: `${this.path(project, name)}/logs`,
      query: { since: options.since, tail: options.tail, follow: true },
      signal: options.signal,
    });
  }

  /** The revisions of a Function, oldest first, with their share of traffic and tags. */
  public async revisions(project: string, name: string): Promise<RevisionView[]> {
    const list = await this.http.json<ItemList<RevisionView>>({
      method: 'GET',
      path: `${this.path(project, name)}/revisions`,
    });
    return list.items;
  }

  /** Splits the traffic between revisions (the percentages add up to 100). */
  public setTraffic(
    project: string,
    name: string,
    traffic: readonly TrafficTarget[],
  ): Promise<FunctionView> {
    return this.http.json({
      method: 'PUT',
      path: `${this.path(project, name)}/traffic`,
      json: { traffic },
    });
  }

  /**
   * Polls a Function until it is ready and returns it.
   * @throws HksTimeoutError naming the last reason when it is not ready in time
   * @throws HksFunctionFailedError at once when its current version failed (Ready False)
   */
  public async waitUntilReady(
    project: string,
    name: string,
    options: WaitOptions = {},
  ): Promise<FunctionView> {
    const timeoutMs = options.timeoutMs ?? 120_000;
    const intervalMs = options.intervalMs ?? 1000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await this.get(project, name);
      options.onProgress?.(view);
      if (view.ready) return view;
      if (view.failed) {
        throw new HksFunctionFailedError(
          `Function ${name} of project ${project} failed to become ready: ${[view.reason, view.message].filter(Boolean).join(': ')}`,
          view,
        );
      }
      if (Date.now() + intervalMs > deadline) {
        const why = [view.reason, view.message].filter(Boolean).join(': ') || 'no reason given';
        throw new HksTimeoutError(
          `Function ${name} of project ${project} was not ready within ${timeoutMs} ms (${why})`,
        );
      }
      await sleep(intervalMs, options.signal);
    }
  }

  private path(project: string, name: string): string {
    return `${projectPath(project)}/functions/${segment(name)}`;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}
