import {
  ClientRequest,
  Agent as HttpAgent,
  IncomingHttpHeaders,
  IncomingMessage,
  request as httpRequest,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable, Transform } from 'node:stream';
import { requestHeadersForFunction, responseHeadersFromFunction } from './invoke-headers';
import { Problem } from './problem';
import { currentRequestSignal } from './request-signal';

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
  /** Gives up (504) after this long, the response's body included. */
  readonly timeoutMs: number;
  /** Largest response body taken from the function; beyond it a 502 problem naming it. */
  readonly limitBytes: number;
  /** Abandons the call (the caller has gone). @default - the current request's signal */
  readonly signal?: AbortSignal;
}

/** A function's response; its headers are those safe to send on ({@link responseHeadersFromFunction}). */
export interface FunctionResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** A function's response whose body is still coming, at most its limit. */
export interface StreamedFunctionResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Bytes of the body: known before it is streamed. */
  readonly length: number;
  /**
   * The body. It errors (and the connection to the function is closed) when the function
   * stops half way or the timeout passes while it streams.
   */
  readonly body: Readable;
}

/** A function's response passed on as it arrives, whatever its framing. */
export interface IncrementalFunctionResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The body, each chunk as it comes. It errors with a Problem (and the connection to the
   * function is closed) past the limit (502), past the timeout (504), when the caller goes
   * (499) or when the function stops half way (502).
   */
  readonly body: Readable;
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

/** Title of the 502 of a function response over the limit. */
export const TOO_LARGE_TITLE = 'Function response too large';

/** The 502 of a function response over the limit. */
export function tooLarge(limitBytes: number, given: string): Problem {
  return new Problem(
    502,
    TOO_LARGE_TITLE,
    `The function answered ${given}, expected at most ${limitBytes} bytes (HKS_FUNCTION_RESPONSE_LIMIT_BYTES)`,
  );
}

/**
 * Sends one request to a function and streams its response, holding at most
 * `request.limitBytes` of it: a body of declared length (`content-length`) within the limit
 * is passed on as it arrives and a declared length above it is refused before any byte is
 * read; a body of unknown length (chunked) is collected up to the limit, so that its size is
 * known before the status is sent.
 * @throws Problem 504 past the timeout, 502 when the function cannot be reached or its
 *   response is larger than the limit
 */
export function forwardStreaming(
  target: InvocationTarget,
  request: ForwardedRequest,
): Promise<StreamedFunctionResponse> {
  return sendRequest(target, request, (response, outgoing, resolve) => {
    const answer = {
      status: response.statusCode ?? 502,
      headers: responseHeadersFromFunction(response.headers),
    };
    const declared = response.headers['content-length'];
    if (declared !== undefined) {
      const length = Number(declared);
      if (length > request.limitBytes) {
        outgoing.destroy(tooLarge(request.limitBytes, `${length} bytes (content-length)`));
        return;
      }
      resolve({ ...answer, length, body: response });
      return;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    response.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > request.limitBytes) {
        outgoing.destroy(tooLarge(request.limitBytes, `more than ${request.limitBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () =>
      resolve({ ...answer, length, body: Readable.from([Buffer.concat(chunks)]) }),
    );
  });
}

/**
 * Sends one request to a function and passes its response on as it arrives, chunked or not:
 * for answers whose parts matter as they come (a runtime's streamed output). The timeout
 * covers the whole body; past `request.limitBytes` the body errors with a 502.
 * @throws Problem 504 past the timeout before the headers, 502 when the function cannot be
 *   reached or declares a length above the limit
 */
export function forwardIncremental(
  target: InvocationTarget,
  request: ForwardedRequest,
): Promise<IncrementalFunctionResponse> {
  return sendRequest(target, request, (response, outgoing, resolve) => {
    const declared = Number(response.headers['content-length']);
    if (declared > request.limitBytes) {
      outgoing.destroy(tooLarge(request.limitBytes, `${declared} bytes (content-length)`));
      return;
    }
    let length = 0;
    const body = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        length += chunk.length;
        if (length <= request.limitBytes) return done(null, chunk);
        outgoing.destroy(tooLarge(request.limitBytes, `more than ${request.limitBytes} bytes`));
        done();
      },
    });
    let failure: Error | undefined;
    outgoing.on('error', (error) => (failure = error));
    // Closed before the whole answer came: the reason is the request's error, if it had one.
    outgoing.on('close', () => {
      if (response.complete) return;
      body.destroy(
        failure instanceof Problem
          ? failure
          : unreachable(target, failure ?? new Error('the function stopped answering half way')),
      );
    });
    response.pipe(body);
    resolve({
      status: response.statusCode ?? 502,
      headers: responseHeadersFromFunction(response.headers),
      body,
    });
  });
}

/**
 * Sends the request with the timeout and the caller's signal; `answer` takes the response
 * and resolves (or destroys `outgoing` with a Problem, which rejects).
 */
function sendRequest<T>(
  target: InvocationTarget,
  request: ForwardedRequest,
  answer: (response: IncomingMessage, outgoing: ClientRequest, resolve: (value: T) => void) => void,
): Promise<T> {
  const secure = target.url.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  const base = target.url.pathname.replace(/\/$/, '');
  const signal = request.signal ?? currentRequestSignal();
  return new Promise<T>((resolve, reject) => {
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
      (response) => answer(response, outgoing, resolve),
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
    const abandon = () => outgoing.destroy(new Problem(499, 'Client gone', 'The caller has gone'));
    signal?.addEventListener('abort', abandon, { once: true });
    outgoing.on('close', () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abandon);
    });
    outgoing.on('error', (error) =>
      reject(error instanceof Problem ? error : unreachable(target, error)),
    );
    if (signal?.aborted) abandon();
    outgoing.end(request.body);
  });
}

/**
 * Sends one request to a function and reads its response, at most `request.limitBytes`.
 * @throws Problem 504 past the timeout, 502 when the function cannot be reached or its
 *   response is larger than the limit
 */
export async function forward(
  target: InvocationTarget,
  request: ForwardedRequest,
): Promise<FunctionResponse> {
  const { status, headers, body } = await forwardStreaming(target, request);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of body) chunks.push(chunk as Buffer);
  } catch (error) {
    throw error instanceof Problem ? error : unreachable(target, error as Error);
  }
  return { status, headers, body: Buffer.concat(chunks) };
}

function unreachable(target: InvocationTarget, error: Error): Problem {
  return new Problem(
    502,
    'Function unreachable',
    `Could not reach the function at ${target.url.origin}${target.host ? ` (host ${target.host})` : ''}: ${error.message}`,
  );
}
