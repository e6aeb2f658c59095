import type { WallTime } from './zone-clock';

/**
 * The values one cron field matches, and whether it was written as a star. robfig/cron (the
 * CronJob controller's parser) marks an item `*` or `?` with no step or a step of 1, not a star
 * with a larger step nor a range such as `1-31`; that mark alone decides how day of month and
 * day of week combine.
 */
export interface CronField {
  readonly matches: readonly boolean[];
  readonly star: boolean;
}

/** The five fields of a schedule, parsed the way robfig/cron v3 `ParseStandard` does. */
export interface CronFields {
  readonly minute: CronField;
  readonly hour: CronField;
  readonly dayOfMonth: CronField;
  readonly month: CronField;
  readonly dayOfWeek: CronField;
}

interface Bounds {
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MONTH_NAMES = [
  'jan',
  'feb',
  'mar',
  'apr',
  'may',
  'jun',
  'jul',
  'aug',
  'sep',
  'oct',
  'nov',
  'dec',
];
const WEEKDAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

const BOUNDS: readonly Bounds[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTH_NAMES },
  { min: 0, max: 6, names: WEEKDAY_NAMES },
];

/**
 * Parses five fields already checked by `Schedule.check` (macros expanded first: robfig's
 * descriptors set the same values and star marks as their five-field forms).
 */
export function parseCronFields(expression: string): CronFields {
  const [minute, hour, dayOfMonth, month, dayOfWeek] = expression
    .trim()
    .split(/\s+/)
    .map((field, i) => parseField(field, BOUNDS[i]));
  return { minute, hour, dayOfMonth, month, dayOfWeek };
}

/**
 * Whether a day is one the schedule runs on: both day fields must match when either is a
 * star, else either may (the cron convention, decided by the star mark as robfig does).
 */
export function dayMatches(fields: CronFields, wall: WallTime): boolean {
  const dayOfMonth = fields.dayOfMonth.matches[wall.day];
  const dayOfWeek = fields.dayOfWeek.matches[wall.weekday];
  return fields.dayOfMonth.star || fields.dayOfWeek.star
    ? dayOfMonth && dayOfWeek
    : dayOfMonth || dayOfWeek;
}

function parseField(field: string, bounds: Bounds): CronField {
  const matches = new Array<boolean>(bounds.max + 1).fill(false);
  let star = false;
  for (const item of field.split(',').filter((part) => part !== '')) {
    const [range, stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    const [low, high] = range.split('-');
    const isStar = low === '*' || low === '?';
    const start = isStar ? bounds.min : valueOf(low, bounds);
    // "n/step" runs from n to the field's maximum.
    const end =
      isStar || (high === undefined && stepText !== undefined)
        ? bounds.max
        : high === undefined
          ? start
          : valueOf(high, bounds);
    for (let value = start; value <= end; value += step) matches[value] = true;
    if (isStar && step === 1) star = true;
  }
  return { matches, star };
}

function valueOf(token: string, bounds: Bounds): number {
  const named = bounds.names?.indexOf(token.toLowerCase()) ?? -1;
  return named >= 0 ? named + bounds.min : Number(token);
}
