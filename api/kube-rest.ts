import type { IncomingMessage } from 'node:http';
import { type RequestOptions, request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeAgentPool } from './kube-agent';
import { KubeRequestCounts, kubeCallOf } from './kube-request-counts';
import { currentRequestSignal } from './request-signal';

/** Default of `HKS_KUBE_TIMEOUT_SECONDS`: how long one Kubernetes call may take. */
export const DEFAULT_KUBE_TIMEOUT_MS = 10_000;

/** The API server answered with an error status. */
export class KubeRequestError extends Error {
  constructor(
    /** HTTP status. */
    public readonly code: number,
    message: string,
    /** The API server's own message (its Status `message`), or the response text. */
    public readonly serverMessage: string = message,
  ) {
    super(message);
    this.name = 'KubeRequestError';
  }
}

/** The API server did not answer a call within its deadline. */
export class KubeTimeoutError extends Error {
  constructor(
    what: string,
    /** The deadline, in milliseconds. */
    public readonly timeoutMs: number,
  ) {
    super(`${what}: the API server did not answer within ${timeoutMs / 1000} s`);
    this.name = 'KubeTimeoutError';
  }
}

/** The client of the request this call was made for has gone: the call was abandoned. */
export class ClientGoneError extends Error {
  constructor(what: string) {
    super(`${what}: abandoned, the client of the request has gone`);
    this.name = 'ClientGoneError';
  }
}

/** Options of one call. */
export interface CallOptions {
  /** Deadline of this call. @default - the client's deadline */
  readonly timeoutMs?: number;
  /** Abandons the call. @default - the current request's signal ({@link currentRequestSignal}) */
  readonly signal?: AbortSignal;
}

/** Content types of request bodies. */
export type BodyType =
  | 'application/json'
  | 'application/json-patch+json'
  | 'application/merge-patch+json'
  | 'application/apply-patch+yaml';

/** What several clients of one process share: the connection pool and the request counts. */
export interface KubeRestShared {
  readonly pool: KubeAgentPool;
  readonly requests: KubeRequestCounts;
}

/**
 * The one client of the API server for the API and the Knative stand-in: JSON requests, text
 * (logs) and streams (watches, log follows) over one keep-alive connection pool, one deadline
 * per call, abandoned when the current request's client goes. The kubeconfig's credentials are
 * read at every call: bearer tokens as client-node refreshes them (an in-cluster token file
 * every 60 s), client certificates, keys and CAs from their files, the pool rebuilt when they
 * change ({@link KubeAgentPool}). Not client-node's generated clients: they make a new TLS
 * connection per request (10–30 ms each), and given a keep-alive agent node-fetch 2 fails
 * reused connections with false "Premature close" errors (node-fetch/node-fetch#1767).
 */
export class KubeRest {
  private readonly server: URL;
  private readonly pool: KubeAgentPool;
  /** Requests made, by verb and resource (every client sharing the pool). */
  public readonly requests: KubeRequestCounts;

  /**
   * @param timeoutMs deadline of every call, from sending to the last byte of the answer
   *   (to the answer's headers for a stream) @default DEFAULT_KUBE_TIMEOUT_MS
   * @param shared the pool and counts of another client @default - a pool of its own
   */
  constructor(
    private readonly config: KubeConfig,
    public readonly timeoutMs: number = DEFAULT_KUBE_TIMEOUT_MS,
    shared?: KubeRestShared,
  ) {
    const cluster = config.getCurrentCluster();
    if (cluster === null) throw new Error('the kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
    this.pool = shared?.pool ?? new KubeAgentPool();
    this.requests = shared?.requests ?? new KubeRequestCounts();
  }

  /** A client over the same connections and counts with another deadline (leader election). */
  public withDeadline(timeoutMs: number): KubeRest {
    return new KubeRest(this.config, timeoutMs, { pool: this.pool, requests: this.requests });
  }

  /** How many requests needed a new connection (a TLS handshake). */
  public get newConnections(): number {
    return this.pool.newConnections;
  }

  /** How many connection pools were built: 1, plus one per change of the TLS material. */
  public get agentsBuilt(): number {
    return this.pool.agentsBuilt;
  }

  /**
   * Sends one request and parses the JSON answer.
   * @throws KubeRequestError for an error status, with the server's message; KubeTimeoutError
   *   past the deadline; ClientGoneError once the request's client has gone
   */
  public async request<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType: BodyType = 'application/json',
    options: CallOptions = {},
  ): Promise<T> {
    const text = await this.send(method, path, body, contentType, 'application/json', options);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /**
   * Sends one request and returns the answer as text (pod logs).
   * @throws KubeRequestError for an error status, with the server's message; KubeTimeoutError
   *   past the deadline; ClientGoneError once the request's client has gone
   */
  public async text(method: string, path: string, options: CallOptions = {}): Promise<string> {
    return this.send(method, path, undefined, 'application/json', '*/*', options);
  }

  /**
   * Sends a GET and resolves with the answer's body as a stream once its headers came (a watch,
   * a log followed). The deadline is the answer's headers'; the stream then lasts until the
   * server ends it, the caller destroys it or the signal aborts.
   * @throws KubeRequestError for an error status, with the server's message; KubeTimeoutError
   *   when no answer came within the deadline; ClientGoneError once the request's client has gone
   */
  public async stream(path: string, options: CallOptions = {}): Promise<IncomingMessage> {
    return this.exchange('GET', path, undefined, 'application/json', '*/*', options, true);
  }

  private async send(
    method: string,
    path: string,
    body: unknown,
    contentType: BodyType,
    accept: string,
    call: CallOptions,
  ): Promise<string> {
    return this.exchange(method, path, body, contentType, accept, call, false);
  }

  private async exchange(
    method: string,
    path: string,
    body: unknown,
    contentType: BodyType,
    accept: string,
    call: CallOptions,
    streamed: true,
  ): Promise<IncomingMessage>;
  private async exchange(
    method: string,
    path: string,
    body: unknown,
    contentType: BodyType,
    accept: string,
    call: CallOptions,
    streamed: false,
  ): Promise<string>;
  private async exchange(
    method: string,
    path: string,
    body: unknown,
    contentType: BodyType,
    accept: string,
    call: CallOptions,
    streamed: boolean,
  ): Promise<string | IncomingMessage> {
    const what = `${method} ${path}`;
    const signal = call.signal ?? currentRequestSignal();
    // A request whose client has gone writes nothing more (a later request may have won).
    if (signal?.aborted) throw new ClientGoneError(what);
    const timeoutMs = call.timeoutMs ?? this.timeoutMs;
    const options: RequestOptions = {};
    // Re-read at every call: tokens and certificate files may have been rotated.
    await this.config.applyToHTTPSOptions(options);
    const payload = body === undefined ? undefined : yamlSafeJson(body);
    const headers: Record<string, string> = { accept };
    for (const [k, v] of Object.entries(options.headers ?? {})) {
      if (typeof v === 'string') headers[k] = v;
    }
    if (options.auth)
      headers.authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
    if (payload !== undefined) headers['content-type'] = contentType;
    this.requests.count(kubeCallOf(method, path, payload === undefined ? undefined : contentType));
    const basePath = this.server.pathname.replace(/\/$/, '');
    const lease = this.pool.acquire(options);
    return new Promise<string | IncomingMessage>((resolve, reject) => {
      const req = request(
        {
          host: this.server.hostname,
          port: this.server.port || 443,
          method,
          path: `${basePath}${path}`,
          headers,
          agent: lease.agent,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          if (ok && streamed) {
            clearTimeout(timer);
            // The caller listens for errors as it needs; none must crash the process.
            res.on('error', () => undefined);
            resolve(res);
            return;
          }
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (ok) {
              resolve(text);
              return;
            }
            let message = text;
            try {
              message = (JSON.parse(text) as { message?: string }).message ?? text;
            } catch {
              // not JSON: keep the text
            }
            reject(
              new KubeRequestError(
                status,
                `${method} ${path}: HTTP ${status}: ${message}`,
                message,
              ),
            );
          });
          res.on('error', reject);
        },
      );
      req.once('socket', () => {
        if (!req.reusedSocket) this.pool.newConnections += 1;
      });
      // One deadline from sending to the answer's last byte: a frozen server never answers.
      const timer = setTimeout(() => req.destroy(new KubeTimeoutError(what, timeoutMs)), timeoutMs);
      const abandon = () => req.destroy(new ClientGoneError(what));
      signal?.addEventListener('abort', abandon, { once: true });
      req.once('close', () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abandon);
        lease.release();
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Closes the pooled connections (of every client sharing them). */
  public close(): void {
    this.pool.close();
  }
}

/**
 * JSON that is also YAML the API server reads: JSON.stringify leaves DEL, the C1 controls
 * (U+007F–U+009F) and U+FFFE/U+FFFF raw, which YAML does not allow in a stream (an apply patch
 * is read as YAML: "control characters are not allowed", a 422 for a valid definition), so
 * they are written as \u escapes, which both read as the same character.
 */
export function yamlSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f\ufffe\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
