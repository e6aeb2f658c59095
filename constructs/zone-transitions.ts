import type { ZoneClock } from './zone-clock';

/** A change of a zone's offset: from `at` (Unix seconds) on, the clock reads `after`. */
export interface ZoneTransition {
  readonly at: number;
  /** Offset in seconds east of UTC until `at`. */
  readonly before: number;
  /** Offset in seconds east of UTC from `at`. */
  readonly after: number;
}

/** Zones change offset at most twice a year, never twice within this step. */
const SAMPLE_SECONDS = 6 * 3600;

/** The offset changes between two instants, to the second, in order. */
export function transitionsBetween(clock: ZoneClock, from: number, to: number): ZoneTransition[] {
  const transitions: ZoneTransition[] = [];
  let low = from;
  let lowOffset = clock.offsetAt(low);
  while (low < to) {
    const high = Math.min(low + SAMPLE_SECONDS, to);
    const highOffset = clock.offsetAt(high);
    if (highOffset !== lowOffset) {
      transitions.push({
        at: firstWithOffset(clock, low, high, highOffset),
        before: lowOffset,
        after: highOffset,
      });
    }
    low = high;
    lowOffset = highOffset;
  }
  return transitions;
}

/** The first instant in (low, high] with `offset`, which `high` has and `low` has not. */
function firstWithOffset(clock: ZoneClock, low: number, high: number, offset: number): number {
  let before = low;
  let at = high;
  while (at - before > 1) {
    const middle = Math.floor((before + at) / 2);
    if (clock.offsetAt(middle) === offset) at = middle;
    else before = middle;
  }
  return at;
}
