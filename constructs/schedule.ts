import { Cron } from 'cdk8s';
import { type CronFields, parseCronFields } from './cron-fields';
import { type SchedulePreview, previewRuns, runInstants } from './schedule-preview';
import { checkTimeZone } from './time-zone';
import { ZoneClock } from './zone-clock';

export type { ScheduledRun, SchedulePreview, SkipReason, SkippedRun } from './schedule-preview';

/** The macros the CronJob controller accepts, with their five-field meaning. */
const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

interface FieldRule {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  readonly allowsQuestionMark?: boolean;
}

const FIELDS: readonly FieldRule[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31, allowsQuestionMark: true },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  {
    name: 'day of week',
    min: 0,
    max: 6,
    names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
    allowsQuestionMark: true,
  },
];

const EXPECTED =
  'expected 5 fields "minute hour day-of-month month day-of-week" (e.g. "0 3 * * *") or one of ' +
  Object.keys(MACROS).join(', ');

/** Options for {@link Schedule.nextRuns} and {@link Schedule.preview}. */
export interface NextRunsOptions {
  /**
   * IANA time zone the schedule is read in.
   * @default "UTC" (the zone of a kube-controller-manager without a `timeZone` on the CronJob)
   */
  readonly timeZone?: string;
  /**
   * The instant to count from (exclusive), between the years 1970 and 9990.
   * @default now
   */
  readonly from?: Date;
}

/**
 * The instants `from` may take: Jobs are scheduled from the present on, and the zone offsets are
 * read from Intl's dates, whose years before the common era the reading does not expect.
 */
const EARLIEST_FROM = Date.UTC(1970, 0, 1);
const LATEST_FROM = Date.UTC(9990, 0, 1);

/**
 * A cron schedule exactly as the Kubernetes CronJob controller understands it: five fields or a
 * macro such as `@daily`, checked before anything else (no seconds field, no `L`/`#` syntax),
 * with its run times computed the way the controller's scheduler, robfig/cron v3, computes them.
 */
export class Schedule {
  /**
   * Parses and validates a cron expression.
   * @throws Error naming the expression given and what is expected
   */
  public static cron(expression: string): Schedule {
    const problem = Schedule.check(expression);
    if (problem) throw new Error(`Invalid schedule: ${problem}`);
    return new Schedule(expression.trim());
  }

  /**
   * Checks a cron expression without throwing.
   * @returns `undefined` when valid, else what was given and what is expected
   */
  public static check(expression: string): string | undefined {
    const given = `given ${JSON.stringify(expression)}`;
    const trimmed = expression.trim();
    if (/^(CRON_)?TZ=/.test(trimmed)) {
      return `${given}, expected no CRON_TZ=/TZ= prefix: set the time zone with the separate timeZone field`;
    }
    if (trimmed.startsWith('@')) {
      return MACROS[trimmed] ? undefined : `${given}, ${EXPECTED}`;
    }
    const fields = trimmed.split(/\s+/);
    if (fields.length !== 5) {
      const seconds = fields.length === 6 ? '; Kubernetes has no seconds field' : '';
      return `${given} (${fields.length} fields${seconds}), ${EXPECTED}`;
    }
    for (let i = 0; i < FIELDS.length; i++) {
      const problem = checkField(fields[i], FIELDS[i]);
      if (problem) return `${given}: ${problem}`;
    }
    return undefined;
  }

  /**
   * Checks an instant to count runs from without throwing.
   * @returns `undefined` when it is from 1970 to before 9990, else what was given and what is expected
   */
  public static checkFrom(from: Date): string | undefined {
    const instant = from.getTime();
    if (instant >= EARLIEST_FROM && instant < LATEST_FROM) return undefined;
    const given = Number.isNaN(instant) ? 'an invalid date' : from.toISOString();
    return `given ${given}, expected an instant from 1970-01-01 to before 9990-01-01`;
  }

  /** The expression as given, or the five-field form of a macro. */
  public readonly expression: string;
  private readonly fields: CronFields;

  private constructor(expression: string) {
    this.expression = MACROS[expression] ?? expression;
    this.fields = parseCronFields(this.expression);
  }

  /**
   * The times the CronJob controller will start Jobs, as robfig/cron v3's `Next` finds them
   * (see {@link preview} for what happens on the days the clock changes). Fewer than `count`
   * when the schedule names no time within five years of the previous one, as `31 2`
   * (February 31) never does.
   * @param count how many run times to return
   * @throws Error naming `timeZone`, `from` or `count` when it is out of range
   */
  public nextRuns(count: number, options: NextRunsOptions = {}): Date[] {
    const { clock, from } = this.runsContext(count, options);
    return runInstants(this.fields, clock, from, count).instants.map((s) => new Date(s * 1000));
  }

  /**
   * The next runs with their wall times in the zone, marked where the clock falls back over
   * them (the controller runs at both readings of such a time), and the wall times the schedule
   * names in their window on which no Job starts: times the clock springs forward over, and
   * times the controller's scheduler steps past on the day of a clock change ({@link SkipReason}).
   * @param count how many runs to return
   * @throws Error naming `timeZone`, `from` or `count` when it is out of range
   */
  public preview(count: number, options: NextRunsOptions = {}): SchedulePreview {
    const { clock, from } = this.runsContext(count, options);
    return previewRuns(this.fields, clock, from, count);
  }

  private runsContext(
    count: number,
    options: NextRunsOptions,
  ): { readonly clock: ZoneClock; readonly from: number } {
    const timeZone = options.timeZone ?? 'UTC';
    const zoneProblem = checkTimeZone(timeZone);
    if (zoneProblem) throw new Error(`Invalid timeZone: ${zoneProblem}`);
    if (!Number.isInteger(count) || count < 0) {
      throw new Error(`Invalid count: given ${count}, expected a whole number of runs, 0 or more`);
    }
    const from = options.from ?? new Date();
    const fromProblem = Schedule.checkFrom(from);
    if (fromProblem) throw new Error(`Invalid from: ${fromProblem}`);
    return { clock: ZoneClock.of(timeZone), from: from.getTime() };
  }

  /** The schedule as a cdk8s `Cron` for cdk8s-plus constructs. */
  public toCron(): Cron {
    const [minute, hour, day, month, weekDay] = this.expression.split(/\s+/);
    return Cron.schedule({ minute, hour, day, month, weekDay });
  }
}

function checkField(field: string, rule: FieldRule): string | undefined {
  for (const item of field.split(',')) {
    const problem = checkItem(item, rule);
    if (problem) return `${rule.name} field ${JSON.stringify(field)}: ${problem}`;
  }
  return undefined;
}

function checkItem(item: string, rule: FieldRule): string | undefined {
  const range = `expected values ${rule.min}-${rule.max}${rule.names ? ` or names ${rule.names[0]}-${rule.names[rule.names.length - 1]}` : ''}, '*', ranges a-b, lists a,b and steps /n`;
  const [base, step, extra] = item.split('/');
  if (extra !== undefined || (step !== undefined && !/^[1-9]\d*$/.test(step))) {
    return `${JSON.stringify(item)} has a bad step, ${range}`;
  }
  if (base === '*' || (base === '?' && rule.allowsQuestionMark)) return undefined;
  const bounds = base.split('-');
  if (bounds.length > 2) return `${JSON.stringify(item)} is not a value or range, ${range}`;
  const values = bounds.map((bound) => valueOf(bound, rule));
  for (let i = 0; i < bounds.length; i++) {
    if (values[i] === undefined) {
      return `${JSON.stringify(bounds[i])} is not allowed, ${range}`;
    }
  }
  if (values.length === 2 && (values[0] as number) > (values[1] as number)) {
    return `range ${JSON.stringify(base)} runs backwards, ${range}`;
  }
  return undefined;
}

function valueOf(token: string, rule: FieldRule): number | undefined {
  if (/^\d+$/.test(token)) {
    const value = Number(token);
    return value >= rule.min && value <= rule.max ? value : undefined;
  }
  const index = rule.names?.indexOf(token.toUpperCase()) ?? -1;
  return index >= 0 ? index + rule.min : undefined;
}
