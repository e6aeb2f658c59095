import { type CronFields, dayMatches } from './cron-fields';
import type { ZoneClock } from './zone-clock';

/** How many years past its start robfig/cron's `Next` searches before giving up. */
export const SEARCH_YEARS = 5;

/** The result of one {@link nextRun} search. */
export interface NextRunSearch {
  /** The run found, in Unix seconds; `undefined` when none is within the search. */
  readonly run: number | undefined;
  /** The last wall-clock year the search covered (the start's year plus {@link SEARCH_YEARS}). */
  readonly lastYear: number;
}

/**
 * The first run strictly after `after` (Unix milliseconds), step for step as robfig/cron v3
 * `SpecSchedule.Next` finds it, which is what kube-controller-manager schedules Jobs with: each
 * field in turn is moved forward in the zone's wall time (months and days with Go's `AddDate`,
 * hours, minutes and seconds as elapsed time), starting over from the month whenever a field
 * rolls over. Its quirks are kept on purpose, as they are when Jobs start: a wall time a clock
 * change skips is not run, one the clock passes twice runs twice, and a day whose midnight is
 * skipped is passed over when the search steps days onto it (Asia/Beirut's last Sunday of March).
 */
export function nextRun(fields: CronFields, clock: ZoneClock, after: number): NextRunSearch {
  // The upcoming whole second: Go's t.Add(1s - t.Nanosecond()).
  let t = Math.floor(after / 1000) + 1;
  let wall = clock.wallAt(t);
  const lastYear = wall.year + SEARCH_YEARS;
  const moveTo = (instant: number): void => {
    t = instant;
    wall = clock.wallAt(t);
  };
  // Once a field has moved, the smaller ones start from their first value.
  let moved = false;

  wrap: for (;;) {
    if (wall.year > lastYear) return { run: undefined, lastYear };

    while (!fields.month.matches[wall.month]) {
      if (!moved) {
        moved = true;
        moveTo(clock.instantOf(wall.year, wall.month, 1, 0, 0, 0));
      }
      moveTo(clock.addDate(t, 0, 1, 0));
      if (wall.month === 1) continue wrap;
    }

    while (!dayMatches(fields, wall)) {
      if (!moved) {
        moved = true;
        moveTo(clock.instantOf(wall.year, wall.month, wall.day, 0, 0, 0));
      }
      moveTo(clock.addDate(t, 0, 0, 1));
      // Midnight may not exist: robfig puts the hour back to 0 the nearer way.
      if (wall.hour !== 0) {
        moveTo(t + (wall.hour > 12 ? 24 - wall.hour : -wall.hour) * 3600);
      }
      if (wall.day === 1) continue wrap;
    }

    while (!fields.hour.matches[wall.hour]) {
      if (!moved) {
        moved = true;
        moveTo(clock.instantOf(wall.year, wall.month, wall.day, wall.hour, 0, 0));
      }
      moveTo(t + 3600);
      if (wall.hour === 0) continue wrap;
    }

    while (!fields.minute.matches[wall.minute]) {
      if (!moved) {
        moved = true;
        moveTo(t - mod(t, 60)); // Go's Truncate(time.Minute), on elapsed time
      }
      moveTo(t + 60);
      if (wall.minute === 0) continue wrap;
    }

    // The seconds field of a five-field schedule is 0.
    if (wall.second !== 0) {
      moved = true;
      moveTo(nextSecondZero(clock, t, wall.second));
      continue wrap;
    }

    return { run: t, lastYear };
  }
}

/**
 * Where robfig's one-second steps first read second 0. With whole-minute offsets on both sides
 * (every zone since 1972) that is the next minute of elapsed time, found without 59 look-ups.
 */
function nextSecondZero(clock: ZoneClock, t: number, second: number): number {
  const candidate = t + 60 - second;
  if (mod(clock.offsetAt(t), 60) === 0 && mod(clock.offsetAt(candidate), 60) === 0) {
    return candidate;
  }
  let instant = t;
  do instant += 1;
  while (clock.wallAt(instant).second !== 0);
  return instant;
}

function mod(value: number, divisor: number): number {
  return ((value % divisor) + divisor) % divisor;
}
