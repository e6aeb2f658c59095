import {
  API_VERSION,
  FunctionService,
  parseDefinition,
  Schedule,
  SCHEDULES_ANNOTATION,
  checkScheduleInput,
} from '../constructs';
import { ConfigError } from '../api/config';
import { MAX_RECORDED_MISSED, planRuns } from '../api/function-schedules/catch-up';
import { readScheduleSettings } from '../api/function-schedules/schedule-config';
import { ScheduleClock } from '../api/function-schedules/schedule-clock';
import { effectiveSchedule } from '../api/function-schedules/scheduled-functions';
import { find, projectChart, synth } from './support/manifests';

const CODE = 'def handler(event, context):\n    return event\n';

const fn = (schedules: unknown) => ({
  apiVersion: API_VERSION,
  kind: 'Function',
  metadata: { name: 'backup', project: 'shop' },
  spec: { runtime: 'python3.12', code: CODE, schedules },
});

const cronJob = (spec: Record<string, unknown>) => ({
  apiVersion: API_VERSION,
  kind: 'CronJob',
  metadata: { name: 'job', project: 'shop' },
  spec: { image: 'ghcr.io/acme/job:1', schedule: '0 3 * * *', ...spec },
});

/** Problems as `path: message`. */
function problems(document: unknown): string[] {
  const parsed = parseDefinition(document);
  return parsed.ok ? [] : parsed.problems.map((p) => `${p.path.join('.')}: ${p.message}`);
}

const only = (list: string[]) => {
  expect(list).toHaveLength(1);
  return list[0].slice(list[0].indexOf(': ') + 2);
};

describe("a Function's schedules are validated as CronJob schedules", () => {
  test.each([
    ['a bad cron', { cron: '0 3 * *' }, { schedule: '0 3 * *' }],
    ['seconds', { cron: '0 0 3 * * *' }, { schedule: '0 0 3 * * *' }],
    ['a TZ= prefix', { cron: 'TZ=UTC 0 3 * * *' }, { schedule: 'TZ=UTC 0 3 * * *' }],
    ['an unknown zone', { timeZone: 'Mars/Olympus' }, { timeZone: 'Mars/Olympus' }],
    ['a zone in the wrong case', { timeZone: 'asia/tokyo' }, { timeZone: 'asia/tokyo' }],
    [
      'an unknown concurrency policy',
      { concurrencyPolicy: 'Sometimes' },
      { concurrencyPolicy: 'Sometimes' },
    ],
    ['a short deadline', { startingDeadlineSeconds: 5 }, { startingDeadlineSeconds: 5 }],
  ])("%s: the same words, at the schedule's field", (_what, field, cronJobField) => {
    const ours = problems(fn([{ name: 'nightly', cron: '0 2 * * *', ...field }]));
    const key = Object.keys(field)[0];
    expect(ours[0]).toMatch(new RegExp(`^spec\\.schedules\\.0\\.${key}: `));
    expect(only(ours)).toBe(only(problems(cronJob(cronJobField))));
  });

  test('Replace is refused with why; Allow and Forbid are accepted', () => {
    expect(
      only(problems(fn([{ name: 'n', cron: '@daily', concurrencyPolicy: 'Replace' }]))),
    ).toMatch(
      /given "Replace", expected "Allow" or "Forbid": a function call in flight cannot be stopped/,
    );
    for (const policy of ['Allow', 'Forbid'])
      expect(problems(fn([{ name: 'n', cron: '@daily', concurrencyPolicy: policy }]))).toEqual([]);
  });

  test('names: a DNS label, each once', () => {
    expect(only(problems(fn([{ name: 'Nightly', cron: '@daily' }])))).toMatch(
      /^given "Nightly", expected a schedule name: a DNS-1123 label/,
    );
    expect(
      problems(
        fn([
          { name: 'n', cron: '@daily' },
          { name: 'n', cron: '@hourly' },
        ]),
      ),
    ).toEqual(['spec.schedules.1.name: given "n" twice, expected each schedule name once']);
    expect(only(problems(fn([{ cron: '@daily' }])))).toBe('missing, expected a string');
  });

  test('input: any JSON value; not JSON (a date, NaN, a function) or over 64 KiB is refused, naming where', () => {
    for (const input of [null, 1, 'x', [1, { a: [true] }], { db_config: { host: 'h' } }])
      expect(problems(fn([{ name: 'n', cron: '@daily', input }]))).toEqual([]);
    expect(checkScheduleInput({ when: new Date(0) })).toBe(
      'given a date (1970-01-01T00:00:00.000Z; quote it to send it as a string) at input.when, expected a JSON value: null, true/false, a finite number, a string, a list or a mapping of them',
    );
    expect(checkScheduleInput([1, Number.NaN])).toMatch(
      /^given NaN at input\[1\], expected a JSON value/,
    );
    expect(checkScheduleInput(() => 1)).toMatch(/^given a function, expected a JSON value/);
    expect(checkScheduleInput(new Map())).toMatch(/^given a Map object, expected a JSON value/);
    expect(checkScheduleInput({ blob: 'x'.repeat(70_000) })).toMatch(
      /^given 70011 bytes of JSON, expected at most 65536 bytes/,
    );
    expect(problems(fn([{ name: 'n', cron: '@daily', input: { at: new Date(0) } }]))[0]).toMatch(
      /^spec\.schedules\.0\.input: given a date/,
    );
  });

  test('at most 10 schedules', () => {
    const many = Array.from({ length: 11 }, (_, i) => ({ name: `s${i}`, cron: '@daily' }));
    expect(problems(fn(many))[0]).toMatch(/^spec\.schedules: /);
  });
});

describe('FunctionService schedules', () => {
  test('the schedules go to an annotation of the Knative Service, not of its template', () => {
    const chart = projectChart('shop');
    const schedules = [
      { name: 'nightly', cron: '0 2 * * *', timeZone: 'Asia/Tokyo', input: { a: 1 } },
    ];
    new FunctionService(chart, 'backup', { runtime: 'python3.12', code: CODE, schedules });
    const service = find(synth(chart), 'Service', 'backup');
    const annotations = (service.metadata as { annotations?: Record<string, string> }).annotations;
    expect(annotations?.[SCHEDULES_ANNOTATION]).toBe(JSON.stringify(schedules));
    const template = (
      service.spec as { template: { metadata: { annotations: Record<string, string> } } }
    ).template;
    expect(template.metadata.annotations[SCHEDULES_ANNOTATION]).toBeUndefined();
  });

  test('bad schedule props throw naming the prop, in the words of the YAML door', () => {
    const chart = projectChart('shop');
    expect(
      () =>
        new FunctionService(chart, 'backup', {
          runtime: 'python3.12',
          code: CODE,
          schedules: [{ name: 'nightly', cron: '0 2 * *' }],
        }),
    ).toThrow(/schedules\[0\]\.cron: given "0 2 \* \*" \(4 fields\), expected 5 fields/);
  });
});

describe('the catch-up rule', () => {
  const minute = Schedule.cron('* * * * *');
  const at = (iso: string) => Date.parse(iso);

  test('one slot due: it runs', () => {
    const plan = planRuns(
      minute,
      'UTC',
      at('2026-01-01T00:00:00Z'),
      at('2026-01-01T00:01:00.300Z'),
      300,
    );
    expect(plan).toEqual({
      run: at('2026-01-01T00:01:00Z'),
      missed: [],
      uncountedMissed: 0,
      next: at('2026-01-01T00:02:00Z'),
    });
  });

  test('several slots due: only the latest runs, the earlier are missed', () => {
    const plan = planRuns(
      minute,
      'UTC',
      at('2026-01-01T00:00:00Z'),
      at('2026-01-01T00:03:30Z'),
      60,
    );
    expect(plan.run).toBe(at('2026-01-01T00:03:00Z'));
    expect(plan.missed).toEqual([at('2026-01-01T00:01:00Z'), at('2026-01-01T00:02:00Z')]);
  });

  test('the latest later than the deadline is missed too', () => {
    const plan = planRuns(
      Schedule.cron('0 2 * * *'),
      'UTC',
      at('2026-01-01T02:00:00Z'),
      at('2026-01-02T02:10:00Z'),
      300,
    );
    expect(plan.run).toBeUndefined();
    expect(plan.missed).toEqual([at('2026-01-02T02:00:00Z')]);
    const inTime = planRuns(
      Schedule.cron('0 2 * * *'),
      'UTC',
      at('2026-01-01T02:00:00Z'),
      at('2026-01-02T02:04:00Z'),
      300,
    );
    expect(inTime.run).toBe(at('2026-01-02T02:00:00Z'));
  });

  test('the zone decides the slots', () => {
    const plan = planRuns(
      Schedule.cron('0 2 * * *'),
      'Asia/Tokyo',
      at('2026-01-01T00:00:00Z'),
      at('2026-01-01T17:00:30Z'),
      300,
    );
    expect(plan.run).toBe(at('2026-01-01T17:00:00Z'));
  });

  test('a long outage: at most 100 missed recorded, the rest counted; a day looked back', () => {
    const plan = planRuns(
      minute,
      'UTC',
      at('2025-12-01T00:00:00Z'),
      at('2026-01-01T00:00:30Z'),
      300,
    );
    expect(plan.run).toBe(at('2026-01-01T00:00:00Z'));
    expect(plan.missed).toHaveLength(MAX_RECORDED_MISSED);
    expect(plan.missed.at(-1)).toBe(at('2025-12-31T23:59:00Z'));
    // A day of minutes in the look-back: one runs, 100 are recorded missed.
    expect(plan.uncountedMissed).toBe(24 * 60 - 1 - MAX_RECORDED_MISSED);
  });

  test('nothing due before the next slot', () => {
    const plan = planRuns(
      minute,
      'UTC',
      at('2026-01-01T00:01:00Z'),
      at('2026-01-01T00:01:59Z'),
      300,
    );
    expect(plan).toEqual({ missed: [], uncountedMissed: 0, next: at('2026-01-01T00:02:00Z') });
  });
});

describe('schedule defaults and settings', () => {
  test('defaults: UTC, {} as input, Forbid, not suspended, 300 s', () => {
    expect(effectiveSchedule({ name: 'n', cron: '@daily' })).toEqual({
      name: 'n',
      cron: '@daily',
      timeZone: 'UTC',
      input: {},
      concurrencyPolicy: 'Forbid',
      suspend: false,
      startingDeadlineSeconds: 300,
    });
  });

  test('the settings and their errors', () => {
    expect(readScheduleSettings({})).toEqual({
      enabled: true,
      tickMs: 1000,
      clock: ScheduleClock.REAL,
    });
    const fast = readScheduleSettings({
      HKS_SCHEDULER_CLOCK_SPEED: '30',
      HKS_SCHEDULER_CLOCK_ANCHOR: '2026-01-01T00:00:00Z',
    });
    expect(fast.clock.fromReal(Date.parse('2026-01-01T00:00:02Z'))).toBe(
      Date.parse('2026-01-01T00:01:00Z'),
    );
    const error = (env: NodeJS.ProcessEnv) => {
      try {
        readScheduleSettings(env);
      } catch (e) {
        if (e instanceof ConfigError) return e.problems[0];
        throw e;
      }
      return undefined;
    };
    expect(error({ HKS_FUNCTION_SCHEDULES: 'yes' })).toBe(
      'HKS_FUNCTION_SCHEDULES: given "yes", expected "on" or "off"',
    );
    expect(error({ HKS_SCHEDULER_TICK_MS: '10' })).toMatch(
      /^HKS_SCHEDULER_TICK_MS: given "10", expected a whole number of milliseconds from 50 to 60000/,
    );
    expect(error({ HKS_SCHEDULER_CLOCK_SPEED: '30' })).toMatch(
      /^HKS_SCHEDULER_CLOCK_ANCHOR: given "", expected an ISO 8601 instant/,
    );
  });
});
