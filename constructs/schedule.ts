import { Cron } from 'cdk8s';
import { CronExpressionParser } from 'cron-parser';
import { checkTimeZone } from './time-zone';

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

/** Options for {@link Schedule.nextRuns}. */
export interface NextRunsOptions {
  /**
   * IANA time zone the schedule is read in.
   * @default "UTC" (the zone of a kube-controller-manager without a `timeZone` on the CronJob)
   */
  readonly timeZone?: string;
  /**
   * The instant to count from (exclusive).
   * @default now
   */
  readonly from?: Date;
}

/**
 * A cron schedule exactly as the Kubernetes CronJob controller understands it: five fields or a
 * macro such as `@daily`. cron-parser alone would also accept six-field (seconds) expressions
 * and `L`/`#` syntax that Kubernetes rejects, so the fields are checked here first.
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

  /** The expression as given, or the five-field form of a macro. */
  public readonly expression: string;

  private constructor(expression: string) {
    this.expression = MACROS[expression] ?? expression;
  }

  /**
   * The next run times, computed in the given time zone.
   * @param count how many run times to return
   */
  public nextRuns(count: number, options: NextRunsOptions = {}): Date[] {
    const timeZone = options.timeZone ?? 'UTC';
    const zoneProblem = checkTimeZone(timeZone);
    if (zoneProblem) throw new Error(`Invalid timeZone: ${zoneProblem}`);
    const parsed = CronExpressionParser.parse(this.expression, {
      tz: timeZone,
      currentDate: options.from ?? new Date(),
    });
    return parsed.take(count).map((date) => date.toDate());
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
