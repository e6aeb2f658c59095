import { Schedule } from '../constructs';

describe('Schedule', () => {
  test.each([
    '0 3 * * *',
    '*/15 * * * *',
    '0 9-17/2 * * MON-FRI',
    '0 0 1,15 * ?',
    '30 6 * JAN-MAR sun',
    '@hourly',
    '@daily',
    '@weekly',
    '@monthly',
    '@yearly',
    '@annually',
    '@midnight',
  ])('accepts %s', (expression) => {
    expect(Schedule.check(expression)).toBeUndefined();
    expect(Schedule.cron(expression).expression).toMatch(/^\S+ \S+ \S+ \S+ \S+$/);
  });

  test.each([
    ['0 0 3 * * *', /6 fields; Kubernetes has no seconds field/],
    ['0 3 * *', /4 fields/],
    ['60 * * * *', /minute field "60": "60" is not allowed, expected values 0-59/],
    ['0 24 * * *', /hour field "24"/],
    ['0 0 0 * *', /day of month field "0"/],
    ['0 0 * 13 *', /month field "13"/],
    ['0 0 * * 7', /day of week field "7": "7" is not allowed, expected values 0-6/],
    ['0 0 L * *', /day of month field "L"/],
    ['0 0 * * 1#2', /day of week field "1#2"/],
    ['*/0 * * * *', /bad step/],
    ['5-1 * * * *', /runs backwards/],
    [
      'CRON_TZ=Asia/Tokyo 0 3 * * *',
      /no CRON_TZ=\/TZ= prefix: set the time zone with the separate timeZone field/,
    ],
    ['TZ=UTC 0 3 * * *', /timeZone field/],
    ['@every 5m', /expected 5 fields/],
    ['', /0 fields|1 fields/],
  ])('rejects %j', (expression, message) => {
    const problem = Schedule.check(expression);
    expect(problem).toMatch(message);
    expect(problem).toContain(`given ${JSON.stringify(expression)}`);
    expect(() => Schedule.cron(expression)).toThrow(/^Invalid schedule: given/);
  });

  test('expands macros to the five fields Kubernetes runs them as', () => {
    expect(Schedule.cron('@weekly').expression).toBe('0 0 * * 0');
    expect(Schedule.cron('@hourly').toCron().expressionString).toBe('0 * * * *');
  });

  test('computes the next runs in the job time zone', () => {
    const from = new Date('2026-03-01T00:00:00Z');
    const runs = Schedule.cron('0 3 * * *').nextRuns(5, { timeZone: 'Asia/Tokyo', from });
    expect(runs.map((d) => d.toISOString())).toEqual([
      '2026-03-01T18:00:00.000Z',
      '2026-03-02T18:00:00.000Z',
      '2026-03-03T18:00:00.000Z',
      '2026-03-04T18:00:00.000Z',
      '2026-03-05T18:00:00.000Z',
    ]);
  });

  test('follows daylight saving time of the zone', () => {
    const from = new Date('2026-03-28T00:00:00Z');
    const runs = Schedule.cron('0 9 * * *').nextRuns(2, { timeZone: 'Europe/Berlin', from });
    // 09:00 CET is 08:00Z; after the switch on 29 March, 09:00 CEST is 07:00Z.
    expect(runs.map((d) => d.toISOString())).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
    ]);
  });

  test('reads schedules in UTC when no zone is given', () => {
    const runs = Schedule.cron('30 1 * * *').nextRuns(1, {
      from: new Date('2026-01-01T00:00:00Z'),
    });
    expect(runs[0].toISOString()).toBe('2026-01-01T01:30:00.000Z');
  });

  test('rejects an unknown time zone when computing runs', () => {
    expect(() => Schedule.cron('0 3 * * *').nextRuns(1, { timeZone: 'Mars/Olympus' })).toThrow(
      /Invalid timeZone: given "Mars\/Olympus", expected an IANA time zone/,
    );
  });
});

describe('Schedule runs: bad options', () => {
  test('count must be a whole number, 0 or more', () => {
    expect(() => Schedule.cron('0 3 * * *').nextRuns(-1)).toThrow(
      'Invalid count: given -1, expected a whole number of runs, 0 or more',
    );
    expect(() => Schedule.cron('0 3 * * *').preview(1.5)).toThrow(/Invalid count: given 1.5/);
    expect(Schedule.cron('0 3 * * *').preview(0)).toEqual({ runs: [], skipped: [] });
  });

  test('from must be a date from 1970 on', () => {
    expect(() =>
      Schedule.cron('0 3 * * *').nextRuns(1, { from: new Date('1969-12-31T23:59:59Z') }),
    ).toThrow(
      'Invalid from: given 1969-12-31T23:59:59.000Z, expected an instant from 1970-01-01 to before 9990-01-01',
    );
    expect(() => Schedule.cron('0 3 * * *').preview(1, { from: new Date('nonsense') })).toThrow(
      /Invalid from: given an invalid date/,
    );
  });

  test('a schedule that never comes has no runs, not an error', () => {
    expect(Schedule.cron('0 0 31 2 *').nextRuns(5, { from: new Date('2026-01-01Z') })).toEqual([]);
  });
});
