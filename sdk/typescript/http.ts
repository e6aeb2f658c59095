import { HksApiError, HksTransportError, problemFrom } from './errors';

/** How the client reaches the API. */
export interface HttpOptions {
  readonly apiUrl: string;
  readonly token: string;
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
}

/** One request. */
export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the API root, starting with `/`, e.g. `/api/v1/projects/shop/functions`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** JSON body (serialized here). */
  readonly json?: unknown;
  /** Raw body, sent as it is. */
  readonly body?: string | Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
  /** Stop waiting once the headers are in (streams); the body is read by the caller. */
  readonly stream?: boolean;
  readonly signal?: AbortSignal;
  /** Time limit of this request. @default - the client's */
  readonly timeoutMs?: number;
  /** Return error statuses instead of throwing. @default false */
  readonly allowErrorStatus?: boolean;
}

/** A response whose body was read (or, for streams, not yet). */
export interface HttpResponse {
  readonly response: Response;
  /** The whole body; empty for streams. */
  readonly body: Uint8Array;
}

/** The client's transport: base URL, bearer token, timeouts and errors. */
export class Http {
  private readonly base: string;

  constructor(private readonly options: HttpOptions) {
    this.base = options.apiUrl.replace(/\/+$/, '');
  }

  /** Sends a request; error statuses throw `HksApiError`, network failures `HksTransportError`. */
  public async send(request: HttpRequest): Promise<HttpResponse> {
    const url = this.url(request);
    const what = `${request.method} ${url}`;
    const controller = new AbortController();
    const onAbort = () => controller.abort(request.signal?.reason);
    request.signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timeoutMs = request.timeoutMs ?? this.options.timeoutMs;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.token}`,
      ...(request.json !== undefined ? { 'content-type': 'application/json' } : {}),
      ...request.headers,
    };
    const body = request.json !== undefined ? JSON.stringify(request.json) : request.body;
    try {
      const fetchImpl = this.options.fetch;
      const response = await fetchImpl(url, {
        method: request.method,
        headers,
        body,
        signal: controller.signal,
      });
      if (request.stream && response.ok) {
        clearTimeout(timer);
        return { response, body: new Uint8Array() };
      }
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (!response.ok && !request.allowErrorStatus) {
        const text = new TextDecoder().decode(bytes);
        throw new HksApiError(
          response.status,
          problemFrom(response.status, response.statusText, text),
          request.method,
          url,
        );
      }
      return { response, body: bytes };
    } catch (error) {
      if (error instanceof HksApiError) throw error;
      if (timedOut)
        throw new HksTransportError(`${what}: no answer within ${timeoutMs} ms`, what, {
          cause: error,
        });
      if (request.signal?.aborted) throw error;
      throw new HksTransportError(`${what}: ${describeNetworkError(error)}`, what, {
        cause: error,
      });
    } finally {
      // A stream goes on after this returns: the caller's signal must still stop it.
      if (!request.stream) {
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
      }
    }
  }

  /** Sends a request and parses the JSON answer. */
  public async json<T>(request: HttpRequest): Promise<T> {
    const { body } = await this.send(request);
    const text = new TextDecoder().decode(body);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Sends a request and returns the text answer. */
  public async text(request: HttpRequest): Promise<string> {
    const { body } = await this.send(request);
    return new TextDecoder().decode(body);
  }

  /** Sends a request and yields the answer line by line as it arrives (without the `\n`). */
  public async *lines(request: HttpRequest): AsyncGenerator<string, void, undefined> {
    const { response } = await this.send({ ...request, stream: true });
    if (!response.body) return;
    const decoder = new TextDecoder();
    let pending = '';
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        pending += decoder.decode(value, { stream: true });
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        for (const line of parts) {
          // Lines that arrived in the same chunk are not yielded once the caller has aborted.
          if (request.signal?.aborted) return;
          yield line;
        }
      }
      pending += decoder.decode();
      if (pending) yield pending;
    } catch (error) {
      if (request.signal?.aborted) return;
      throw new HksTransportError(
        `${request.method} ${this.url(request)}: stream broke off (${describeNetworkError(error)})`,
        `${request.method} ${this.url(request)}`,
        { cause: error },
      );
    } finally {
      reader.releaseLock();
      if (!request.signal?.aborted) await response.body.cancel().catch(() => undefined);
    }
  }

  private url(request: HttpRequest): string {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) query.set(key, String(value));
    }
    const search = query.size ? `?${query.toString()}` : '';
    return `${this.base}${request.path}${search}`;
  }
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const why = [cause?.code, cause?.message].filter(Boolean).join(': ');
  return `could not reach the API (${why || (error instanceof Error ? error.message : String(error))})`;
}

/**
 * Time limit of requests that run user code (invocations, operations): the longest function
 * timeout (600 s) and a deploy, plus a margin.
 */
export const LONG_REQUEST_TIMEOUT_MS = 15 * 60_000;

/** `encodeURIComponent` for one path segment. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

/** `/api/v1/projects/{project}`. */
export function projectPath(project: string): string {
  return `/api/v1/projects/${segment(project)}`;
}
