import { type CronFields, dayMatches } from './cron-fields';
import { nextRun } from './cron-next';
import { type ZoneClock, wallSeconds, wallTimeOf } from './zone-clock';
import { transitionsBetween } from './zone-transitions';

/** One time the CronJob controller starts a Job. */
export interface ScheduledRun {
  /** The instant. */
  readonly at: Date;
  /**
   * The wall time in the schedule's zone with that zone's offset, ISO 8601 as Go's RFC 3339
   * writes it (the form of the controller's `batch.kubernetes.io/cronjob-scheduled-timestamp`
   * annotation), e.g. `2026-11-01T01:30:00-04:00`, or `Z` for a zero offset.
   */
  readonly local: string;
  /** The clock reads this wall time twice that day (it falls back over it); both runs appear. */
  readonly repeatedHour: boolean;
}

/**
 * Why the controller starts no Job at a wall time the schedule names:
 * - `dst-gap`: the time does not exist, the clock springs forward over it;
 * - `stepped-over`: the time exists, but on this day of a clock change the controller's
 *   scheduler, which moves in whole days from midnight and in whole hours of elapsed time,
 *   steps past it: when the day's midnight does not exist it passes over the whole day
 *   (Asia/Beirut's last Sunday of March), and when the clock moves by half an hour or off the
 *   hour its hourly steps land off the hour and miss the times between (Australia/Lord_Howe's
 *   first Sunday of October: no 03:00).
 */
export type SkipReason = 'dst-gap' | 'stepped-over';

/** A wall time the schedule names on which no Job starts. */
export interface SkippedRun {
  /** The wall time, `YYYY-MM-DDTHH:MM` (it has no offset when it does not exist). */
  readonly local: string;
  readonly reason: SkipReason;
}

/** The next runs of a schedule in a zone, and the named times skipped in their window. */
export interface SchedulePreview {
  readonly runs: ScheduledRun[];
  /**
   * Wall times the schedule names after `from` and up to the last run (or, when the runs
   * ended early, to the end of the controller's search) on which no Job starts; in time order.
   */
  readonly skipped: SkippedRun[];
}

const DAY = 86_400;

/** The runs after `after` (Unix milliseconds) and what was skipped around them. */
export function previewRuns(
  fields: CronFields,
  clock: ZoneClock,
  after: number,
  count: number,
): SchedulePreview {
  const runs = runInstants(fields, clock, after, count);
  const runSet = new Set(runs.instants);
  const fromSeconds = after / 1000;
  return {
    runs: runs.instants.map((instant) => ({
      at: new Date(instant * 1000),
      local: formatLocal(instant, clock.offsetAt(instant)),
      repeatedHour: clock.instantsAt(instant + clock.offsetAt(instant)).length > 1,
    })),
    skipped: namedDays(fields, clock, fromSeconds, runs.windowEnd).flatMap((day) =>
      skippedOnDay(
        fields,
        clock,
        day,
        (instant) => instant > fromSeconds && instant <= runs.windowEnd,
        (instant) => runSet.has(instant),
      ),
    ),
  };
}

/** Up to `count` run instants (Unix seconds) and the end of the window they cover. */
export function runInstants(
  fields: CronFields,
  clock: ZoneClock,
  after: number,
  count: number,
): { readonly instants: number[]; readonly windowEnd: number } {
  const instants: number[] = [];
  let from = after;
  while (instants.length < count) {
    const search = nextRun(fields, clock, from);
    if (search.run === undefined) {
      return { instants, windowEnd: clock.instantOf(search.lastYear + 1, 1, 1, 0, 0, 0) };
    }
    instants.push(search.run);
    from = search.run * 1000;
  }
  return { instants, windowEnd: instants.length ? instants[instants.length - 1] : after / 1000 };
}

/** Wall midnights (seconds read as UTC) of the days in the window the schedule runs on. */
function namedDays(fields: CronFields, clock: ZoneClock, from: number, to: number): number[] {
  if (to <= from) return [];
  // A day either side: a clock falling back over midnight reads the previous date again.
  const first = startOfDay(from + clock.offsetAt(from)) - DAY;
  const last = startOfDay(to + clock.offsetAt(to)) + DAY;
  const days: number[] = [];
  for (let day = first; day <= last; day += DAY) {
    const wall = wallTimeOf(day);
    if (fields.month.matches[wall.month] && dayMatches(fields, wall)) days.push(day);
  }
  return days;
}

/** The named wall times of one day in the window that get no Job. */
function skippedOnDay(
  fields: CronFields,
  clock: ZoneClock,
  day: number,
  inWindow: (instant: number) => boolean,
  isRun: (instant: number) => boolean,
): SkippedRun[] {
  // The day's instants lie within a day either side of its wall midnight read as UTC.
  const before = clock.offsetAt(day - DAY);
  const transitions = transitionsBetween(clock, day - DAY, day + 2 * DAY);
  const offsetAt = (instant: number): number =>
    transitions.reduce((offset, change) => (change.at <= instant ? change.after : offset), before);
  const offsets = [...new Set([before, ...transitions.map((change) => change.after)])];
  const instantsAt = (wall: number): number[] =>
    offsets
      .map((offset) => wall - offset)
      .filter((instant) => offsetAt(instant) === wall - instant);

  const skipped: SkippedRun[] = [];
  for (const wall of namedTimesOfDay(fields, day)) {
    const instants = instantsAt(wall);
    if (instants.length === 0) {
      const gap = transitions.find(
        (change) => change.at + change.before <= wall && wall < change.at + change.after,
      );
      if (gap && inWindow(gap.at)) skipped.push({ local: formatWall(wall), reason: 'dst-gap' });
    } else if (instants.some(inWindow) && !instants.some(isRun)) {
      skipped.push({ local: formatWall(wall), reason: 'stepped-over' });
    }
  }
  return skipped;
}

function* namedTimesOfDay(fields: CronFields, day: number): Generator<number> {
  for (let hour = 0; hour < 24; hour++) {
    if (!fields.hour.matches[hour]) continue;
    for (let minute = 0; minute < 60; minute++) {
      if (fields.minute.matches[minute]) yield day + hour * 3600 + minute * 60;
    }
  }
}

function startOfDay(wall: number): number {
  const { year, month, day } = wallTimeOf(wall);
  return wallSeconds(year, month, day, 0, 0, 0);
}

/** `YYYY-MM-DDTHH:MM` of a wall time given as seconds read as UTC. */
function formatWall(wall: number): string {
  return new Date(wall * 1000).toISOString().slice(0, 16);
}

/** Go's RFC 3339 of an instant in a zone: the wall time and `±HH:MM`, or `Z`. */
export function formatLocal(instant: number, offset: number): string {
  const wall = new Date((instant + offset) * 1000).toISOString().slice(0, 19);
  if (offset === 0) return `${wall}Z`;
  const minutes = Math.trunc(Math.abs(offset) / 60);
  const sign = offset < 0 ? '-' : '+';
  return `${wall}${sign}${pad(Math.trunc(minutes / 60))}:${pad(minutes % 60)}`;
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}
