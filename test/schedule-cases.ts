import { ZoneClock } from '../constructs/zone-clock';
import { transitionsBetween } from '../constructs/zone-transitions';
import type { SchedulerRequest } from './schedule-controller-scheduler';

/** A schedule whose runs the controller's scheduler and ours are compared on. */
export interface ScheduleCase extends SchedulerRequest {
  /** What the case is about. */
  readonly about: string;
}

/** An edge case with what the controller really does, as read off robfig/cron and checked. */
export interface EdgeCase extends ScheduleCase {
  /** The runs, RFC 3339 UTC. */
  readonly runs: readonly string[];
  /** The runs' wall times, `R` after a repeated one. */
  readonly local?: readonly string[];
  /** `local reason` of each skipped wall time. */
  readonly skipped?: readonly string[];
}

/** Cases on both sides of every behaviour the controller's scheduler has and ours must have. */
export const EDGE_CASES: readonly EdgeCase[] = [
  {
    about: 'New York spring forward: 02:30 does not exist on 8 March, no run that day',
    schedule: '30 2 * * *',
    timeZone: 'America/New_York',
    from: '2026-03-07T12:00:00Z',
    count: 3,
    runs: ['2026-03-09T06:30:00Z', '2026-03-10T06:30:00Z', '2026-03-11T06:30:00Z'],
    local: ['2026-03-09T02:30:00-04:00', '2026-03-10T02:30:00-04:00', '2026-03-11T02:30:00-04:00'],
    skipped: ['2026-03-08T02:30 dst-gap'],
  },
  {
    about: 'New York fall back: 01:30 happens twice on 1 November, two runs',
    schedule: '30 1 * * *',
    timeZone: 'America/New_York',
    from: '2026-10-31T12:00:00Z',
    count: 3,
    runs: ['2026-11-01T05:30:00Z', '2026-11-01T06:30:00Z', '2026-11-02T06:30:00Z'],
    local: [
      '2026-11-01T01:30:00-04:00 R',
      '2026-11-01T01:30:00-05:00 R',
      '2026-11-02T01:30:00-05:00',
    ],
    skipped: [],
  },
  {
    about: '@hourly through the New York fall back: 01:00 twice',
    schedule: '@hourly',
    timeZone: 'America/New_York',
    from: '2026-11-01T04:30:00Z',
    count: 4,
    runs: [
      '2026-11-01T05:00:00Z',
      '2026-11-01T06:00:00Z',
      '2026-11-01T07:00:00Z',
      '2026-11-01T08:00:00Z',
    ],
    local: [
      '2026-11-01T01:00:00-04:00 R',
      '2026-11-01T01:00:00-05:00 R',
      '2026-11-01T02:00:00-05:00',
      '2026-11-01T03:00:00-05:00',
    ],
  },
  {
    about: '*/1 in day of month is a star: with a day of week both must match (Mondays)',
    schedule: '0 12 */1 * 1',
    timeZone: 'UTC',
    from: '2026-06-01T00:00:00Z',
    count: 3,
    runs: ['2026-06-01T12:00:00Z', '2026-06-08T12:00:00Z', '2026-06-15T12:00:00Z'],
  },
  {
    about: '1-31 in day of month is not a star: either day field may match (every day)',
    schedule: '0 12 1-31 * 1',
    timeZone: 'UTC',
    from: '2026-06-01T00:00:00Z',
    count: 3,
    runs: ['2026-06-01T12:00:00Z', '2026-06-02T12:00:00Z', '2026-06-03T12:00:00Z'],
  },
  {
    about: '? in day of month is a star too',
    schedule: '0 12 ? * 1',
    timeZone: 'UTC',
    from: '2026-06-01T00:00:00Z',
    count: 3,
    runs: ['2026-06-01T12:00:00Z', '2026-06-08T12:00:00Z', '2026-06-15T12:00:00Z'],
  },
  {
    about: '*/1 in day of week is a star: the first of each month only',
    schedule: '0 12 1 * */1',
    timeZone: 'UTC',
    from: '2026-06-01T00:00:00Z',
    count: 3,
    runs: ['2026-06-01T12:00:00Z', '2026-07-01T12:00:00Z', '2026-08-01T12:00:00Z'],
  },
  {
    about: '0-6 in day of week is not a star: every day',
    schedule: '0 12 1 * 0-6',
    timeZone: 'UTC',
    from: '2026-06-01T00:00:00Z',
    count: 3,
    runs: ['2026-06-01T12:00:00Z', '2026-06-02T12:00:00Z', '2026-06-03T12:00:00Z'],
  },
  {
    about: 'days of month or Fridays',
    schedule: '0 12 1,15 * 5',
    timeZone: 'UTC',
    from: '2026-06-01T00:00:00Z',
    count: 4,
    runs: [
      '2026-06-01T12:00:00Z',
      '2026-06-05T12:00:00Z',
      '2026-06-12T12:00:00Z',
      '2026-06-15T12:00:00Z',
    ],
  },
  {
    about: '31 February never comes: Next gives the zero time, no runs',
    schedule: '0 0 31 2 *',
    timeZone: 'UTC',
    from: '2026-01-01T00:00:00Z',
    count: 3,
    runs: [],
    skipped: [],
  },
  {
    about: '30 February in a zone never comes either',
    schedule: '59 23 30 2 *',
    timeZone: 'Europe/Berlin',
    from: '2026-01-01T00:00:00Z',
    count: 3,
    runs: [],
  },
  {
    about: '29 February: leap years only',
    schedule: '0 0 29 2 *',
    timeZone: 'UTC',
    from: '2026-01-01T00:00:00Z',
    count: 3,
    runs: ['2028-02-29T00:00:00Z', '2032-02-29T00:00:00Z', '2036-02-29T00:00:00Z'],
  },
  {
    about: '29 February from 2097: 2100 is no leap year and 2104 is past the five-year search',
    schedule: '0 0 29 2 *',
    timeZone: 'UTC',
    from: '2097-01-01T00:00:00Z',
    count: 3,
    runs: [],
  },
  {
    about: 'London spring forward: 01:30 does not exist on 29 March',
    schedule: '30 1 * * *',
    timeZone: 'Europe/London',
    from: '2026-03-28T12:00:00Z',
    count: 3,
    runs: ['2026-03-30T00:30:00Z', '2026-03-31T00:30:00Z', '2026-04-01T00:30:00Z'],
    skipped: ['2026-03-29T01:30 dst-gap'],
  },
  {
    about: 'London fall back: 01:30 twice on 25 October, the second in GMT',
    schedule: '30 1 * * *',
    timeZone: 'Europe/London',
    from: '2026-10-24T12:00:00Z',
    count: 3,
    runs: ['2026-10-25T00:30:00Z', '2026-10-25T01:30:00Z', '2026-10-26T01:30:00Z'],
    local: ['2026-10-25T01:30:00+01:00 R', '2026-10-25T01:30:00Z R', '2026-10-26T01:30:00Z'],
  },
  {
    about: 'Lord Howe springs forward half an hour at 02:00: 02:15 does not exist',
    schedule: '15 2 * * *',
    timeZone: 'Australia/Lord_Howe',
    from: '2026-10-02T12:00:00Z',
    count: 3,
    runs: ['2026-10-02T15:45:00Z', '2026-10-04T15:15:00Z', '2026-10-05T15:15:00Z'],
    skipped: ['2026-10-04T02:15 dst-gap'],
  },
  {
    about: 'Lord Howe: 03:00 exists on 4 October, but hourly steps land at 03:30 and pass it',
    schedule: '0 3 * * *',
    timeZone: 'Australia/Lord_Howe',
    from: '2026-10-02T12:00:00Z',
    count: 3,
    runs: ['2026-10-02T16:30:00Z', '2026-10-04T16:00:00Z', '2026-10-05T16:00:00Z'],
    local: ['2026-10-03T03:00:00+10:30', '2026-10-05T03:00:00+11:00', '2026-10-06T03:00:00+11:00'],
    skipped: ['2026-10-04T03:00 stepped-over'],
  },
  {
    about: 'Lord Howe falls back half an hour: 01:45 twice on 5 April',
    schedule: '45 1 * * *',
    timeZone: 'Australia/Lord_Howe',
    from: '2026-04-03T12:00:00Z',
    count: 3,
    runs: ['2026-04-03T14:45:00Z', '2026-04-04T14:45:00Z', '2026-04-04T15:15:00Z'],
    local: [
      '2026-04-04T01:45:00+11:00',
      '2026-04-05T01:45:00+11:00 R',
      '2026-04-05T01:45:00+10:30 R',
    ],
  },
  {
    about: 'Kathmandu is UTC+05:45',
    schedule: '*/20 6 * * *',
    timeZone: 'Asia/Kathmandu',
    from: '2026-01-01T00:00:00Z',
    count: 3,
    runs: ['2026-01-01T00:15:00Z', '2026-01-01T00:35:00Z', '2026-01-01T00:55:00Z'],
    local: ['2026-01-01T06:00:00+05:45', '2026-01-01T06:20:00+05:45', '2026-01-01T06:40:00+05:45'],
  },
  {
    about: "Beirut's midnight does not exist on Sunday 29 March: that whole Sunday is passed over",
    schedule: '0 12 * * 0',
    timeZone: 'Asia/Beirut',
    from: '2026-03-25T00:00:00Z',
    count: 2,
    runs: ['2026-04-05T09:00:00Z', '2026-04-12T09:00:00Z'],
    skipped: ['2026-03-29T12:00 stepped-over'],
  },
  {
    about: '@daily in Beirut: no midnight on 29 March',
    schedule: '@daily',
    timeZone: 'Asia/Beirut',
    from: '2026-03-27T00:00:00Z',
    count: 3,
    runs: ['2026-03-27T22:00:00Z', '2026-03-29T21:00:00Z', '2026-03-30T21:00:00Z'],
    skipped: ['2026-03-29T00:00 dst-gap'],
  },
  {
    about: "Santiago's midnight does not exist on 6 September, yet that Sunday's noon runs",
    schedule: '0 12 * * 0',
    timeZone: 'America/Santiago',
    from: '2026-09-01T00:00:00Z',
    count: 2,
    runs: ['2026-09-06T15:00:00Z', '2026-09-13T15:00:00Z'],
    skipped: [],
  },
  {
    about: 'UTC: from is exclusive',
    schedule: '0 9 * * *',
    timeZone: 'UTC',
    from: '2026-06-01T09:00:00Z',
    count: 1,
    runs: ['2026-06-02T09:00:00Z'],
  },
  {
    about: 'UTC: a millisecond before counts',
    schedule: '0 9 * * *',
    timeZone: 'UTC',
    from: '2026-06-01T08:59:59.999Z',
    count: 1,
    runs: ['2026-06-01T09:00:00Z'],
  },
  {
    about: '@weekly is Sunday midnight',
    schedule: '@weekly',
    timeZone: 'UTC',
    from: '2026-06-01T00:00:00Z',
    count: 2,
    runs: ['2026-06-07T00:00:00Z', '2026-06-14T00:00:00Z'],
  },
  {
    about: '@monthly in Tokyo',
    schedule: '@monthly',
    timeZone: 'Asia/Tokyo',
    from: '2026-06-01T00:00:00Z',
    count: 2,
    runs: ['2026-06-30T15:00:00Z', '2026-07-31T15:00:00Z'],
  },
  {
    about: '@yearly in Los Angeles',
    schedule: '@yearly',
    timeZone: 'America/Los_Angeles',
    from: '2026-06-01T00:00:00Z',
    count: 2,
    runs: ['2027-01-01T08:00:00Z', '2028-01-01T08:00:00Z'],
  },
];

/**
 * Zones with something to get wrong: whole-hour, half-hour and 45-minute offsets, changes at
 * 00:00, 01:00, 02:00 or by half an hour, negative daylight saving time (Dublin), zones that
 * gave daylight saving time up or changed rules recently, the date line.
 */
const CHOSEN_ZONES = [
  'UTC',
  'America/New_York',
  'America/Los_Angeles',
  'America/St_Johns',
  'America/Santiago',
  'America/Havana',
  'America/Asuncion',
  'America/Sao_Paulo',
  'America/Nuuk',
  'America/Scoresbysund',
  'Europe/London',
  'Europe/Dublin',
  'Europe/Berlin',
  'Europe/Moscow',
  'Africa/Cairo',
  'Africa/Casablanca',
  'Asia/Beirut',
  'Asia/Gaza',
  'Asia/Tehran',
  'Asia/Kathmandu',
  'Asia/Kolkata',
  'Asia/Tokyo',
  'Australia/Lord_Howe',
  'Australia/Adelaide',
  'Australia/Sydney',
  'Australia/Eucla',
  'Pacific/Chatham',
  'Pacific/Auckland',
  'Pacific/Apia',
  'Pacific/Kiritimati',
  'Pacific/Pago_Pago',
];

/** Random numbers from a seed (mulberry32), so a failing run can be repeated exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FieldShape {
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  readonly questionMark?: boolean;
}

const FIELD_SHAPES: readonly FieldShape[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31, questionMark: true },
  {
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  { min: 0, max: 6, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'], questionMark: true },
];

const MACROS = ['@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@yearly', '@annually'];

/** How {@link generatedCases} picks its cases. */
export interface GeneratedCaseOptions {
  /**
   * Every case starts within twelve hours before one of its zone's offset changes (zones
   * without any are not picked), with hours near it.
   * @default false: half of the cases, the others from any instant
   */
  readonly nearChanges?: boolean;
}

/**
 * `count` reproducible cases: schedules made of every form a field takes (stars with and without
 * steps, `?`, values, names, ranges, stepped ranges, `n/step`, lists, macros), in the chosen
 * zones or any zone Intl knows, from an instant in 2020-2039 that is half of the time within
 * three days before one of the zone's offset changes, and hours near that change.
 */
export function generatedCases(
  seed: number,
  count: number,
  options: GeneratedCaseOptions = {},
): ScheduleCase[] {
  const random = seededRandom(seed);
  const between = (min: number, max: number): number =>
    min + Math.floor(random() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[between(0, items.length - 1)];
  const allZones = Intl.supportedValuesOf('timeZone');
  const cases: ScheduleCase[] = [];
  while (cases.length < count) {
    const timeZone = random() < 0.6 ? pick(CHOSEN_ZONES) : pick(allZones);
    const clock = ZoneClock.of(timeZone);
    const year = between(2020, 2039);
    const changes = transitionsBetween(
      clock,
      Date.UTC(year, 0, 1) / 1000,
      Date.UTC(year + 1, 0, 1) / 1000,
    );
    if (options.nearChanges && !changes.length) continue;
    const change =
      changes.length && (options.nearChanges || random() < 0.5) ? pick(changes) : undefined;
    const from = change
      ? (change.at - between(0, options.nearChanges ? 12 * 3600 : 3 * 86_400)) * 1000 -
        between(0, 999)
      : Date.UTC(year, 0, 1) + random() * 365 * 86_400_000;
    const changeHour = change
      ? new Date((change.at + change.before) * 1000).getUTCHours()
      : undefined;
    const fields = FIELD_SHAPES.map((shape, index) =>
      index === 1 && changeHour !== undefined && random() < 0.6
        ? nearHour(changeHour, between)
        : fieldOf(shape, random, between),
    );
    const schedule = random() < 0.06 ? pick(MACROS) : fields.join(' ');
    cases.push({
      about: `generated #${cases.length}`,
      schedule,
      timeZone,
      from: new Date(Math.floor(from)).toISOString(),
      count: between(1, 10),
    });
  }
  return cases;
}

function nearHour(hour: number, between: (min: number, max: number) => number): string {
  const around = (hour + between(-1, 1) + 24) % 24;
  return between(0, 2) === 0 ? `${around},${(around + 1) % 24}` : String(around);
}

function fieldOf(
  shape: FieldShape,
  random: () => number,
  between: (min: number, max: number) => number,
): string {
  const value = (): string => {
    const n = between(shape.min, shape.max);
    return shape.names && random() < 0.3 ? shape.names[n - shape.min] : String(n);
  };
  const low = between(shape.min, shape.max);
  const high = between(low, shape.max);
  const roll = random();
  if (roll < 0.3) return '*';
  if (roll < 0.38) return '*/1';
  if (roll < 0.43) return shape.questionMark ? '?' : '*';
  if (roll < 0.53) return `*/${between(2, 7)}`;
  if (roll < 0.73) return value();
  if (roll < 0.83) return `${low}-${high}`;
  if (roll < 0.88) return `${low}-${high}/${between(1, 4)}`;
  if (roll < 0.93) return `${low}/${between(2, 9)}`;
  return `${value()},${value()}`;
}
