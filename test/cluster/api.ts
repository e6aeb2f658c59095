import { readFileSync } from 'node:fs';
import { request } from 'node:https';

/** How to reach and authenticate to a kube-apiserver. */
export interface ApiClient {
  /** e.g. `https://127.0.0.1:26443` */
  readonly server: string;
  /** CA certificate (PEM) the server's certificate chains to. */
  readonly ca: string;
  /** Client certificate and key (PEM), or a bearer token. */
  readonly auth: { readonly cert: string; readonly key: string } | { readonly token: string };
}

/** Status code and raw body of one API response. */
export interface ApiResponse {
  readonly status: number;
  readonly body: string;
}

/** Builds a client from PEM files: the CA and a client certificate pair. */
export function certClient(
  server: string,
  caFile: string,
  pair: { cert: string; key: string },
): ApiClient {
  return {
    server,
    ca: readFileSync(caFile, 'utf8'),
    auth: { cert: readFileSync(pair.cert, 'utf8'), key: readFileSync(pair.key, 'utf8') },
  };
}

/**
 * Sends one request to the API server.
 *
 * @param client where and who
 * @param method HTTP method
 * @param path e.g. `/api/v1/nodes`
 * @param body JSON-serialisable body, sent as `application/json`
 * @param timeoutMs request timeout
 */
export function apiRequest(
  client: ApiClient,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 5_000,
): Promise<ApiResponse> {
  const url = new URL(path, client.server);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (payload !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  const tls = 'token' in client.auth ? {} : { cert: client.auth.cert, key: client.auth.key };
  if ('token' in client.auth) {
    headers.Authorization = `Bearer ${client.auth.token}`;
  }
  return new Promise((resolvePromise, reject) => {
    const req = request(
      url,
      { method, headers, ca: client.ca, ...tls, timeout: timeoutMs, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.href} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}
