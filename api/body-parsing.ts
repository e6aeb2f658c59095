import express, { RequestHandler } from 'express';
import { Problem } from './problem';

/** How a route's body is read. */
export interface BodyRule {
  /** `json` parses JSON (objects only when `strict`); `raw` takes any media type as bytes. */
  readonly kind: 'json' | 'raw';
  /** Largest body, in bytes after decompression. */
  readonly limitBytes: number;
  /** The variable that sets the limit, named in the 413 problem. */
  readonly limitVariable: string;
  /** JSON: only objects and arrays at the top level. @default true */
  readonly strict?: boolean;
}

/** Content encodings a request body may have; the limit counts the decompressed bytes. */
export const BODY_ENCODINGS = ['identity', 'gzip', 'deflate', 'br'] as const;

/** What the body parser reports: an http-errors error with its `type`. */
interface ParserError {
  readonly status?: number;
  readonly type?: string;
  readonly message?: string;
  readonly code?: string;
  readonly charset?: string;
  readonly encoding?: string;
  readonly length?: number;
  readonly limit?: number;
}

/**
 * The problem for an error of the body parser: every one is the client's (4xx), named with
 * what was given and what is expected; anything else is passed on unchanged.
 */
export function bodyProblem(error: unknown, rule: BodyRule): unknown {
  if (typeof error !== 'object' || error === null) return error;
  const e = error as ParserError;
  switch (e.type) {
    case 'entity.too.large':
      return new Problem(
        413,
        'Body too large',
        `The request body is ${e.length === undefined ? `more than ${rule.limitBytes}` : e.length} bytes, expected at most ${rule.limitBytes} bytes (${rule.limitVariable})`,
      );
    case 'encoding.unsupported':
      return new Problem(
        415,
        'Unsupported content encoding',
        `Content-Encoding: given ${JSON.stringify(e.encoding ?? 'unknown')}, expected one of ${BODY_ENCODINGS.join(', ')}`,
      );
    case 'charset.unsupported':
      return new Problem(
        415,
        'Unsupported charset',
        `Content-Type charset: given ${JSON.stringify(e.charset ?? 'unknown')}, expected utf-8`,
      );
    case 'entity.parse.failed':
      return new Problem(400, 'Invalid JSON', `The request body is not valid JSON: ${e.message}`);
    case 'request.aborted':
      return new Problem(499, 'Client gone', 'The client closed the request before its body ended');
    case 'request.size.invalid':
      return new Problem(
        400,
        'Invalid body length',
        `The request body's length does not match its Content-Length: ${e.message}`,
      );
  }
  // A body that is not what its Content-Encoding says (zlib's Z_DATA_ERROR, brotli's ERR__ERROR_*).
  if (typeof e.code === 'string' && /^(Z_|ERR__|ERR_ZLIB|ERR_BROTLI)/.test(e.code))
    return new Problem(
      400,
      'Invalid body encoding',
      `The request body could not be decoded as its Content-Encoding (${e.message ?? e.code})`,
    );
  return error;
}

/** The body parser of a route: bad bodies become 4xx problems before the handler runs. */
export function bodyParser(rule: BodyRule): RequestHandler {
  const parse =
    rule.kind === 'raw'
      ? express.raw({ type: () => true, limit: rule.limitBytes })
      : express.json({ limit: rule.limitBytes, strict: rule.strict ?? true });
  return (req, res, next) => {
    parse(req, res, (error?: unknown) => next(error ? bodyProblem(error, rule) : undefined));
  };
}
