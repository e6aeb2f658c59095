import type { IncomingHttpHeaders } from 'node:http';
import { Problem } from '../problem';

/** The header whose value makes a retried submission the same invocation. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** Letters, digits and `. _ ~ : - + = /`, 1 to 200 of them. */
const IDEMPOTENCY_KEY = /^[A-Za-z0-9._~:+=/-]{1,200}$/;

/** Headers of an asynchronous submission that are the platform's, not the function's. */
export const SUBMISSION_HEADERS = ['prefer', IDEMPOTENCY_HEADER, 'x-callback-url', 'x-request-id'];

/** Whether the caller asked for an asynchronous invocation: `Prefer: respond-async` (RFC 7240). */
export function prefersAsync(headers: IncomingHttpHeaders): boolean {
  const prefer = headers.prefer;
  const values = Array.isArray(prefer) ? prefer : prefer === undefined ? [] : [prefer];
  return values
    .flatMap((v) => v.split(','))
    .some((p) => p.split(';')[0].trim().toLowerCase() === 'respond-async');
}

/**
 * The Idempotency-Key of a submission.
 * @throws Problem 400 naming the header, the value and what is expected
 */
export function idempotencyKeyOf(headers: IncomingHttpHeaders): string | undefined {
  const raw = headers[IDEMPOTENCY_HEADER];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw.join(',') : raw;
  if (IDEMPOTENCY_KEY.test(value)) return value;
  const shown = JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  const expected = `1 to 200 characters of letters, digits and . _ ~ : - + = /`;
  throw new Problem(
    400,
    'Bad idempotency key',
    `Idempotency-Key: given ${shown}${value.length > 200 ? ` (${value.length} characters)` : ''}, expected ${expected}`,
    [{ path: 'Idempotency-Key', message: `given ${shown}, expected ${expected}` }],
  );
}

/** @throws Problem 413 naming the limit and its setting */
export function checkPayload(bytes: number, limitBytes: number): void {
  if (bytes > limitBytes)
    throw new Problem(
      413,
      'Body too large',
      `The body of an asynchronous invocation is ${bytes} bytes, expected at most ${limitBytes} bytes (HKS_ASYNC_PAYLOAD_LIMIT_BYTES)`,
    );
}

/** Seconds a refused submission is told to wait: about one poll of a busy queue. */
export const QUEUE_FULL_RETRY_AFTER_SECONDS = 5;

/** @throws Problem 429 with `Retry-After` when the project's queue is full */
export function checkDepth(project: string, depth: number, max: number): void {
  if (depth >= max)
    throw new Problem(
      429,
      'Queue full',
      `Project ${JSON.stringify(project)} has ${depth} asynchronous invocations queued, running or waiting for a retry, expected fewer than ${max} (HKS_ASYNC_MAX_QUEUED_PER_PROJECT); try again later`,
      [],
      { 'retry-after': String(QUEUE_FULL_RETRY_AFTER_SECONDS) },
    );
}
