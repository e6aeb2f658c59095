/** A wall-clock reading in one time zone; `month` 1-12, `weekday` 0 (Sunday) to 6. */
export interface WallTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly weekday: number;
}

const SECONDS_PER_DAY = 86_400;
const CLOCKS = new Map<string, ZoneClock>();
/** Clocks kept, and offsets each remembers: a few MB at most whatever zones callers ask for. */
const MAX_CLOCKS = 64;
const MAX_BOUNDARIES = 8192;

/**
 * The wall clock of an IANA time zone, with instants in whole Unix seconds and offsets in
 * seconds east of UTC, read from the zone rules of Intl. Its arithmetic is Go's `time`
 * package's, because the CronJob controller's scheduler is written in it: {@link instantOf}
 * resolves wall times that do not exist, or exist twice, the way Go's `time.Date` does.
 */
export class ZoneClock {
  /**
   * The clock of a zone, made once: an Intl.DateTimeFormat costs ~0.2 ms.
   * @param timeZone an IANA zone name, already checked with `checkTimeZone`
   */
  public static of(timeZone: string): ZoneClock {
    let clock = CLOCKS.get(timeZone);
    if (!clock) {
      clock = new ZoneClock(timeZone);
      if (CLOCKS.size >= MAX_CLOCKS) CLOCKS.clear();
      CLOCKS.set(timeZone, clock);
    }
    return clock;
  }

  private readonly format: Intl.DateTimeFormat;
  /** Offsets at the starts of days and hours read so far, by instant. */
  private readonly boundaryOffsets = new Map<number, number>();

  private constructor(public readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** The zone's offset from UTC at an instant, in seconds. */
  public offsetAt(instant: number): number {
    // Intl takes ~10 µs a reading and the scheduler reads the clock at every step. No zone
    // changes its offset twice within a day, so a day (then an hour) whose two ends have the
    // same offset has it throughout: the ends are read once and remembered, and only instants
    // in the hour of a change are read themselves.
    for (const span of [SECONDS_PER_DAY, 3600]) {
      const start = Math.floor(instant / span) * span;
      const offset = this.offsetAtBoundary(start);
      if (offset === this.offsetAtBoundary(start + span)) return offset;
    }
    return this.readOffset(instant);
  }

  /** The offset at the start of a day or an hour, remembered. */
  private offsetAtBoundary(instant: number): number {
    let offset = this.boundaryOffsets.get(instant);
    if (offset === undefined) {
      offset = this.readOffset(instant);
      if (this.boundaryOffsets.size >= MAX_BOUNDARIES) this.boundaryOffsets.clear();
      this.boundaryOffsets.set(instant, offset);
    }
    return offset;
  }

  private readOffset(instant: number): number {
    // format() is four times faster than formatToParts(); en-US gives "M/D/YYYY, HH:MM:SS".
    const text = this.format.format(instant * 1000);
    const match = /^(\d+)\/(\d+)\/(\d+), (\d+):(\d+):(\d+)$/.exec(text);
    if (!match) throw new Error(`Unexpected Intl date ${JSON.stringify(text)} in ${this.timeZone}`);
    const [, month, day, year, hour, minute, second] = match.map(Number);
    return wallSeconds(year, month, day, hour, minute, second) - instant;
  }

  /** The wall clock at an instant. */
  public wallAt(instant: number): WallTime {
    return wallTimeOf(instant + this.offsetAt(instant));
  }

  /**
   * The instant of a wall time, as Go's `time.Date` computes it: fields out of range carry
   * over (day 32 is the next month's first), a time skipped by a forward change resolves with
   * the offset found at `wall - offset(wall)`, and a time that happens twice to one of them.
   */
  public instantOf(
    year: number,
    month: number,
    day: number,
    hour: number,
    minute: number,
    second: number,
  ): number {
    const wall = wallSeconds(year, month, day, hour, minute, second);
    // Go looks the wall time up as if it were UTC, then again at the instant that first guess
    // gives; the second offset is the one used (equal to the first when the guess held).
    return wall - this.offsetAt(wall - this.offsetAt(wall));
  }

  /** Go's `t.AddDate(years, months, days)`: the wall date moved, the clock time kept. */
  public addDate(instant: number, years: number, months: number, days: number): number {
    const w = this.wallAt(instant);
    return this.instantOf(
      w.year + years,
      w.month + months,
      w.day + days,
      w.hour,
      w.minute,
      w.second,
    );
  }

  /**
   * Every instant at which the clock reads `wall` (seconds of a wall time read as UTC): none in
   * a gap of a forward change, two in an hour the clock falls back over, else one; ascending.
   */
  public instantsAt(wall: number): number[] {
    // Offsets are within ±14 h of UTC, so the instants lie within a day of `wall`; one change
    // at most happens around them, and the offsets a day either side are its two sides.
    const offsets = new Set([
      this.offsetAt(wall - SECONDS_PER_DAY),
      this.offsetAt(wall),
      this.offsetAt(wall + SECONDS_PER_DAY),
    ]);
    const instants = [...offsets]
      .map((offset) => wall - offset)
      .filter((instant) => this.offsetAt(instant) === wall - instant);
    return [...new Set(instants)].sort((a, b) => a - b);
  }
}

/** Seconds of a wall time read as if it were UTC; fields out of range carry over like Go's. */
export function wallSeconds(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number {
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime() / 1000;
}

/** The fields of a wall time given as seconds read as UTC. */
export function wallTimeOf(wall: number): WallTime {
  const date = new Date(wall * 1000);
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
    weekday: date.getUTCDay(),
  };
}
