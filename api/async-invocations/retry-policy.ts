import { TOO_LARGE_TITLE } from '../function-proxy';
import { Problem } from '../problem';
import type { AsyncSettings } from './settings';

/** What an attempt came to, before the policy decides what follows. */
export type AttemptEnd =
  | { readonly kind: 'answered'; readonly status: number }
  | { readonly kind: 'failed'; readonly error: unknown };

/**
 * Whether an attempt is tried again: a function status in the retried list; a timeout (504)
 * or an unreachable or not-ready function (502, 503) the platform answered for it. Not: a
 * function that is gone (404), an answer over the response limit, a status not in the list.
 */
export function retryable(
  end: AttemptEnd,
  settings: Pick<AsyncSettings, 'retryStatuses'>,
): boolean {
  if (end.kind === 'answered') return settings.retryStatuses.has(end.status);
  const { error } = end;
  if (!(error instanceof Problem)) return true;
  if (error.title === TOO_LARGE_TITLE) return false;
  return [502, 503, 504].includes(error.status) || settings.retryStatuses.has(error.status);
}

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` (from 1) failed: exponential from
 * the base, capped, with "equal jitter" (half fixed, half random) so that invocations that
 * failed together do not come back together.
 * @param random a number in [0, 1) @default Math.random()
 */
export function retryDelayMs(
  attempt: number,
  settings: Pick<AsyncSettings, 'retryBaseMs' | 'retryMaxMs'>,
  random = Math.random(),
): number {
  const exponential = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** (attempt - 1));
  return Math.round(exponential / 2 + (exponential / 2) * random);
}
