// Calls of the API's /api/v1 from the console: the session's token as Authorization, problem
// details (RFC 9457) turned into ApiProblem errors with the API's title and detail.

import { currentSession } from './session.js';

/** The API's base, from the console's own address (/console/ → /api/v1/). */
const BASE = new URL('../api/v1/', document.baseURI);

/** An answer of the API that is not a success: its problem details. */
export class ApiProblem extends Error {
  /**
   * @param {number} status
   * @param {string} title
   * @param {string} [detail]
   * @param {{path: string, message: string}[]} [errors]
   */
  constructor(status, title, detail, errors = []) {
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = detail;
    /** The fields the API names: `{path, message}` each (e.g. `spec.schedule`). */
    this.errors = errors;
  }
}

/** Called when the API refuses the token (401), so the page can ask to sign in again. */
let onUnauthorized = () => {};
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

/**
 * `/projects/{project}/...` with each segment encoded.
 * @param {string} project
 * @param {...string} segments
 */
export function projectPath(project, ...segments) {
  return ['projects', project, ...segments].map(encodeURIComponent).join('/');
}

/**
 * Sends a request to the API and returns its response, or throws an ApiProblem.
 * @param {string} path relative to /api/v1/, with its query
 * @param {{method?: string, headers?: Record<string, string>, body?: unknown, text?: string, signal?: AbortSignal, token?: string, anyStatus?: boolean}} [options]
 *   `body` is sent as JSON, `text` as it is (with the content-type of `headers`); with
 *   `anyStatus` every response but a 401 is returned as it is (a function's own error answers)
 */
export async function request(path, options = {}) {
  const token = options.token ?? currentSession()?.token;
  if (!token) {
    onUnauthorized();
    throw new ApiProblem(401, 'Signed out', 'Sign in with a token to use the console');
  }
  let res;
  try {
    res = await fetch(new URL(path, BASE), {
      method: options.method ?? 'GET',
      headers: {
        accept: 'application/json',
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
        authorization: `Bearer ${token}`,
      },
      body: options.text ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
      signal: options.signal,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new ApiProblem(0, 'The API cannot be reached', String(error?.message ?? error));
  }
  if (res.ok || (options.anyStatus && res.status !== 401)) return res;
  const problem = await problemOf(res);
  if (res.status === 401 && options.token === undefined) onUnauthorized(problem);
  throw problem;
}

/** A JSON answer of the API. @param {string} path @param {object} [options] */
export async function getJson(path, options) {
  return (await request(path, options)).json();
}

/**
 * Sends `body` as JSON with `method` and returns the JSON answer (`undefined` for 204).
 * @param {string} path @param {string} method @param {unknown} [body] @param {object} [options]
 */
export async function sendJson(path, method, body, options = {}) {
  const res = await request(path, { ...options, method, body });
  return res.status === 204 ? undefined : res.json();
}

/** The problem details of a failed response, or what can be said without them. */
async function problemOf(res) {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text);
    if (typeof body?.title === 'string')
      return new ApiProblem(
        res.status,
        body.title,
        typeof body.detail === 'string' ? body.detail : undefined,
        Array.isArray(body.errors) ? body.errors : [],
      );
  } catch {
    // Not JSON: a proxy's page, say.
  }
  return new ApiProblem(
    res.status,
    `${res.status} ${res.statusText}`.trim(),
    text.slice(0, 300) || undefined,
  );
}

/**
 * Reads a streamed text answer chunk by chunk until it ends or `signal` aborts it.
 * @param {string} path
 * @param {(chunk: string) => void} onText
 * @param {AbortSignal} signal
 */
export async function streamText(path, onText, signal) {
  const res = await request(path, { signal, headers: { accept: 'text/plain' } });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    onText(value);
  }
}
