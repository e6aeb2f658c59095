import { Agent as HttpAgent, IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { requestHeadersForFunction, responseHeadersFromFunction } from './invoke-headers';
import { Problem } from './problem';

/** Where an invocation goes: the function's own address, or a gateway and the function's host. */
export interface InvocationTarget {
  readonly url: URL;
  /** `Host` header for a gateway that routes by host (Kourier). @default - the URL's host */
  readonly host?: string;
}

/** The request forwarded to a function. */
export interface ForwardedRequest {
  readonly method: string;
  /** Path and query on the function, e.g. `/`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  /** Gives up (504) after this long. */
  readonly timeoutMs: number;
}

/** A function's response; its headers are those safe to send on ({@link responseHeadersFromFunction}). */
export interface FunctionResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/**
 * The caller's request headers that may go on to a function ({@link requestHeadersForFunction}:
 * no credentials, hop-by-hop, forwarding or Knative routing headers).
 */
export const forwardableHeaders: (headers: IncomingHttpHeaders) => Record<string, string> =
  requestHeadersForFunction;

// Invocations reuse connections: a new TCP (and TLS) handshake per call costs more than the call.
const agents = {
  http: new HttpAgent({ keepAlive: true, maxSockets: 256 }),
  https: new HttpsAgent({ keepAlive: true, maxSockets: 256 }),
};

/**
 * Sends one request to a function and buffers its response.
 * @throws Problem 504 past the timeout, 502 when the function cannot be reached
 */
export function forward(
  target: InvocationTarget,
  request: ForwardedRequest,
): Promise<FunctionResponse> {
  const secure = target.url.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  const base = target.url.pathname.replace(/\/$/, '');
  return new Promise((resolve, reject) => {
    const outgoing = send(
      {
        protocol: target.url.protocol,
        hostname: target.url.hostname,
        port: target.url.port || (secure ? 443 : 80),
        method: request.method,
        path: `${base}${request.path}`,
        agent: secure ? agents.https : agents.http,
        headers: {
          ...request.headers,
          host: target.host ?? target.url.host,
          ...(request.body ? { 'content-length': String(request.body.length) } : {}),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 502,
            headers: responseHeadersFromFunction(response.headers),
            body: Buffer.concat(chunks),
          }),
        );
        response.on('error', (error) => reject(unreachable(target, error)));
      },
    );
    const timer = setTimeout(() => {
      outgoing.destroy(
        new Problem(
          504,
          'Function timed out',
          `The function did not answer within ${request.timeoutMs / 1000} s`,
        ),
      );
    }, request.timeoutMs);
    outgoing.on('close', () => clearTimeout(timer));
    outgoing.on('error', (error) =>
      reject(error instanceof Problem ? error : unreachable(target, error)),
    );
    outgoing.end(request.body);
  });
}

function unreachable(target: InvocationTarget, error: Error): Problem {
  return new Problem(
    502,
    'Function unreachable',
    `Could not reach the function at ${target.url.origin}${target.host ? ` (host ${target.host})` : ''}: ${error.message}`,
  );
}
