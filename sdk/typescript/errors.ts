import type { FieldError as ProblemFieldError, ProblemDetails } from '../../api/problem';
import type { FunctionView } from './types';

export type { ProblemDetails, ProblemFieldError };

/**
 * The API answered with an error status. Carries the status and the problem details; the
 * message shows them (title, detail and every field error).
 */
export class HksApiError extends Error {
  /** The HTTP method and URL of the request. */
  public readonly request: string;

  constructor(
    public readonly status: number,
    public readonly problem: ProblemDetails,
    method: string,
    url: string,
  ) {
    super(describeProblem(status, problem));
    this.name = 'HksApiError';
    this.request = `${method} ${url}`;
  }

  /** The field errors of the problem (empty when it has none). */
  public get errors(): readonly ProblemFieldError[] {
    return this.problem.errors ?? [];
  }
}

/** The API could not be reached, or did not answer in time (no HTTP response to show). */
export class HksTransportError extends Error {
  constructor(
    message: string,
    /** The HTTP method and URL of the request. */
    public readonly request: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HksTransportError';
  }
}

/** A wait (e.g. for a Function to become ready) ran out of time. */
export class HksTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HksTimeoutError';
  }
}

/** A Function's current version failed to start (Knative reported Ready False). */
export class HksFunctionFailedError extends Error {
  constructor(
    message: string,
    /** The Function as last seen, with the reason and message. */
    public readonly view: FunctionView,
  ) {
    super(message);
    this.name = 'HksFunctionFailedError';
  }
}

function describeProblem(status: number, problem: ProblemDetails): string {
  const head = `${status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ''}`;
  const fields = (problem.errors ?? []).map((e) => `\n  ${e.path || '(body)'}: ${e.message}`);
  return head + fields.join('');
}

/**
 * Reads a problem document from an error response; bodies that are not one (a proxy's HTML
 * page, a function's own error JSON) become a problem whose detail is the body text.
 */
export function problemFrom(status: number, statusText: string, body: string): ProblemDetails {
  try {
    const parsed = JSON.parse(body) as Partial<ProblemDetails> & {
      error?: { type?: unknown; message?: unknown };
    };
    if (parsed && typeof parsed === 'object' && typeof parsed.title === 'string') {
      return {
        type: typeof parsed.type === 'string' ? parsed.type : 'about:blank',
        title: parsed.title,
        status: typeof parsed.status === 'number' ? parsed.status : status,
        detail: typeof parsed.detail === 'string' ? parsed.detail : '',
        ...(typeof parsed.instance === 'string' ? { instance: parsed.instance } : {}),
        ...(Array.isArray(parsed.errors) ? { errors: parsed.errors } : {}),
      };
    }
    if (parsed?.error && typeof parsed.error === 'object') {
      // A function's own error response: {"error": {"type", "message"}}.
      return {
        type: 'about:blank',
        title: 'Function error',
        status,
        detail: `${String(parsed.error.type ?? 'Error')}: ${String(parsed.error.message ?? '')}`,
      };
    }
  } catch {
    // not JSON: fall through
  }
  return {
    type: 'about:blank',
    title: statusText || 'Error',
    status,
    detail: body.trim().slice(0, 2000),
  };
}
