import type { ErrorRequestHandler, Response } from 'express';
import { processLog } from './logger';
import type { RequestLogLocals } from './request-log';

/** One failing field of a request. */
export interface FieldError {
  /** Field path such as `spec.schedule`. */
  readonly path: string;
  /** What was given and what is expected. */
  readonly message: string;
  /**
   * The line (from 1) of the source file the error is on, for source code errors, so that an
   * editor can mark it without reading the message. @default - none
   */
  readonly line?: number;
}

/** An RFC 9457 problem document (`application/problem+json`), as the API sends it. */
export interface ProblemDetails {
  /** URI naming the kind of problem, e.g. `https://hks.hexabase.io/problems/not-found`. */
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** The request path the problem is about, when the API names it. */
  readonly instance?: string;
  /** Every failing field, for validation problems. @default - none */
  readonly errors?: readonly FieldError[];
}

/** An RFC 9457 problem, thrown by handlers and rendered as `application/problem+json`. */
export class Problem extends Error {
  constructor(
    public readonly status: number,
    public readonly title: string,
    public readonly detail: string,
    public readonly errors: readonly FieldError[] = [],
    /** Response headers that come with it, e.g. `retry-after`. @default - none */
    public readonly headers: Readonly<Record<string, string>> = {},
    /** Extension members of the document (RFC 9457 §3.2), e.g. each check of `/readyz`. @default - none */
    public readonly extensions: Readonly<Record<string, unknown>> = {},
  ) {
    super(detail);
    this.name = 'Problem';
  }

  /** A 404 for something the caller named. */
  public static notFound(detail: string): Problem {
    return new Problem(404, 'Not found', detail);
  }
}

const TYPES: Record<number, string> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  409: 'conflict',
  412: 'precondition-failed',
  413: 'body-too-large',
  415: 'unsupported-media-type',
  422: 'rejected-by-kubernetes',
  429: 'too-many-requests',
  499: 'client-gone',
  500: 'internal',
  502: 'kubernetes-unavailable',
  503: 'unavailable',
  504: 'timeout',
};

/** The document of a problem, as a response or a streamed event carries it. */
export function problemDocument(problem: Problem, instance?: string): ProblemDetails {
  return {
    ...problem.extensions,
    type: `https://hks.hexabase.io/problems/${TYPES[problem.status] ?? 'error'}`,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    ...(instance ? { instance } : {}),
    ...(problem.errors.length ? { errors: problem.errors } : {}),
  };
}

/** Writes a problem response. */
export function sendProblem(res: Response, problem: Problem, instance?: string): void {
  res.set(problem.headers);
  res
    .status(problem.status)
    .type('application/problem+json')
    .json(problemDocument(problem, instance));
}

/** The last middleware: every error becomes a problem; unknown errors are 500s and logged. */
export const problemHandler: ErrorRequestHandler = (error, req, res, _next) => {
  // Too late for a status (a streamed body failed half way): cut the response short.
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof Problem) {
    sendProblem(res, error, req.originalUrl);
    return;
  }
  const status = (error as { status?: number; type?: string }).status;
  if (status === 400 && (error as { type?: string }).type === 'entity.parse.failed') {
    sendProblem(
      res,
      new Problem(
        400,
        'Invalid JSON',
        `The request body is not valid JSON: ${(error as Error).message}`,
      ),
      req.originalUrl,
    );
    return;
  }
  if (status === 413) {
    sendProblem(res, new Problem(413, 'Body too large', (error as Error).message), req.originalUrl);
    return;
  }
  ((res.locals as Partial<RequestLogLocals>).log ?? processLog('http')).error(
    { err: error, url: req.originalUrl },
    'unhandled error',
  );
  sendProblem(
    res,
    new Problem(500, 'Internal error', 'The server failed to handle the request; see its logs.'),
    req.originalUrl,
  );
};
