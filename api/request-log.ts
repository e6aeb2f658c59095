/**
 * Per-request logging: a request id (the client's `X-Request-Id` when valid, else a new UUID)
 * echoed in every response, a child logger carrying it, and one access line when the request
 * ends. Bodies, the Authorization header and tokens are never logged.
 */
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { type Caller, callerOf } from './auth';
import type { Logger } from './logger';
import { routeTemplateOf } from './metrics';

/** The header a request id comes in and goes back out in. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

/** Longest client request id accepted; a longer one is replaced by a new id. */
export const MAX_REQUEST_ID_LENGTH = 128;

// Letters, digits and the punctuation of UUIDs, ULIDs and trace ids: nothing that could
// break a log line or a header.
const REQUEST_ID = new RegExp(`^[A-Za-z0-9._:-]{1,${MAX_REQUEST_ID_LENGTH}}$`);

/** What {@link requestLogging} leaves in `res.locals`. */
export interface RequestLogLocals {
  /** The request's id, as echoed in `X-Request-Id`. */
  requestId: string;
  /** The logger of the request: every line carries `reqId`. */
  log: Logger;
}

/** The client's id when it is 1 to 128 of `A-Z a-z 0-9 . _ : -`, else a new UUID. */
export function acceptedRequestId(given: string | undefined): string {
  return given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
}

/** The request's id and logger set by {@link requestLogging}, if it ran. */
export function requestLogOf(res: Response): Partial<RequestLogLocals> {
  return res.locals as Partial<RequestLogLocals>;
}

/**
 * Express middleware, first in the chain: the request id, the request's logger and, when the
 * response is done (or the client went away), one `request` line with `method`, `route` (the
 * route template, never the raw path), `status`, `durationMs`, `project`, `subject` (the
 * token's `sub`) and `reqId`. Server errors log at `error`, the rest at `info`.
 */
export function requestLogging(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const requestId = acceptedRequestId(req.header(REQUEST_ID_HEADER));
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const log = logger.child({ reqId: requestId });
    Object.assign(res.locals, { requestId, log } satisfies RequestLogLocals);
    res.once('close', () => {
      const route = routeTemplateOf(req, res);
      const line = {
        method: req.method,
        route,
        status: res.statusCode,
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        project: projectOf(req, route),
        subject: subjectOf(res),
        ...(res.writableFinished ? {} : { aborted: true }),
      };
      if (res.statusCode >= 500) log.error(line, 'request');
      else log.info(line, 'request');
    });
    next();
  };
}

/** The path segment where the template has `:project`: routers' params are gone by now. */
function projectOf(req: Request, route: string): string | undefined {
  const at = route.split('/').indexOf(':project');
  if (at < 0) return undefined;
  const segment = req.originalUrl.split('?')[0].split('/')[at];
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function subjectOf(res: Response): string | undefined {
  const caller = callerOf(res) as Caller | undefined;
  return caller?.subject;
}
