import { Schedule } from '../../constructs';
import { ApiProcess, startApi, token } from './api-process';

jest.setTimeout(120_000);

/**
 * GET /api/v1/schedules/next through a real API process: the controller's runs of a schedule
 * with their wall times and DST marks, each bad query field named, a token required. The route
 * reads no store, so one (SQLite) serves.
 */
let api: ApiProcess;
let authorization: string;

beforeAll(async () => {
  api = await startApi({ HKS_RECORDER: 'off' });
  // Any project: the route is no project's.
  authorization = `Bearer ${await token(['schedpreview'])}`;
}, 60_000);

afterAll(async () => {
  await api?.stop();
});

async function next(query: Record<string, string>, headers = { authorization }) {
  const res = await fetch(`${api.url}/api/v1/schedules/next?${new URLSearchParams(query)}`, {
    headers,
  });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    json: (await res.json()) as Record<string, unknown>,
  };
}

test('New York spring forward: 02:30 is skipped on 8 March', async () => {
  const res = await next({
    schedule: '30 2 * * *',
    timeZone: 'America/New_York',
    from: '2026-03-07T12:00:00Z',
    count: '2',
  });
  expect(res.status).toBe(200);
  expect(res.json).toEqual({
    schedule: '30 2 * * *',
    expression: '30 2 * * *',
    timeZone: 'America/New_York',
    runs: [
      { at: '2026-03-09T06:30:00.000Z', local: '2026-03-09T02:30:00-04:00', repeatedHour: false },
      { at: '2026-03-10T06:30:00.000Z', local: '2026-03-10T02:30:00-04:00', repeatedHour: false },
    ],
    skipped: [{ local: '2026-03-08T02:30', reason: 'dst-gap' }],
  });
});

test('New York fall back: 01:30 runs twice on 1 November, both marked', async () => {
  const res = await next({
    schedule: '30 1 * * *',
    timeZone: 'America/New_York',
    from: '2026-10-31T12:00:00-04:00',
    count: '3',
  });
  expect(res.status).toBe(200);
  expect(res.json.runs).toEqual([
    { at: '2026-11-01T05:30:00.000Z', local: '2026-11-01T01:30:00-04:00', repeatedHour: true },
    { at: '2026-11-01T06:30:00.000Z', local: '2026-11-01T01:30:00-05:00', repeatedHour: true },
    { at: '2026-11-02T06:30:00.000Z', local: '2026-11-02T01:30:00-05:00', repeatedHour: false },
  ]);
  expect(res.json.skipped).toEqual([]);
});

test('defaults: UTC, 5 runs, from now; a macro is expanded', async () => {
  const before = Date.now();
  const res = await next({ schedule: '@hourly' });
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ schedule: '@hourly', expression: '0 * * * *', timeZone: 'UTC' });
  const runs = res.json.runs as { at: string; local: string }[];
  expect(runs).toHaveLength(5);
  const first = Date.parse(runs[0].at);
  expect(first).toBeGreaterThan(before);
  expect(first - before).toBeLessThanOrEqual(3_600_000);
  expect(runs[0].local).toBe(runs[0].at.replace('.000Z', 'Z'));
});

test('a schedule that never comes: no runs', async () => {
  const res = await next({ schedule: '0 0 31 2 *', from: '2026-01-01T00:00:00Z', count: '50' });
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ runs: [], skipped: [] });
});

test.each([
  ['schedule', { schedule: '0 0 3 * * *' }, Schedule.check('0 0 3 * * *') as string],
  ['schedule', { schedule: 'CRON_TZ=UTC 0 3 * * *' }, Schedule.check('CRON_TZ=UTC 0 3 * * *')!],
  ['schedule', {}, 'missing, expected a string'],
  [
    'timeZone',
    { schedule: '@daily', timeZone: 'Mars/Olympus' },
    'given "Mars/Olympus", expected an IANA time zone such as Asia/Tokyo, Europe/Berlin or UTC',
  ],
  ['count', { schedule: '@daily', count: '0' }, 'given "0", expected a whole number from 1 to 50'],
  [
    'count',
    { schedule: '@daily', count: '51' },
    'given "51", expected a whole number from 1 to 50',
  ],
  [
    'count',
    { schedule: '@daily', count: 'five' },
    'given "five", expected a whole number from 1 to 50',
  ],
  [
    'from',
    { schedule: '@daily', from: '2026-03-08T00:00:00' },
    'given "2026-03-08T00:00:00", expected an ISO 8601 instant with Z or an offset, e.g. 2026-03-08T00:00:00Z',
  ],
  [
    'from',
    { schedule: '@daily', from: 'yesterday' },
    'given "yesterday", expected an ISO 8601 instant with Z or an offset, e.g. 2026-03-08T00:00:00Z',
  ],
  [
    'from',
    { schedule: '@daily', from: '1969-12-31T23:59:59Z' },
    'given 1969-12-31T23:59:59.000Z, expected an instant from 1970-01-01 to before 9990-01-01',
  ],
])('bad %s %j: 400 naming the field', async (field, query, message) => {
  const res = await next(query);
  expect(res.status).toBe(400);
  expect(res.type).toMatch(/application\/problem\+json/);
  expect(res.json.errors).toEqual([{ path: field, message }]);
  expect(res.json.detail).toBe(`query.${field}: ${message}`);
});

test('an unknown query field is named', async () => {
  const res = await next({ schedule: '@daily', zone: 'UTC' });
  expect(res.status).toBe(400);
  expect(res.json.errors).toEqual([
    { path: 'zone', message: 'unknown field, expected only schedule, timeZone, count, from' },
  ]);
});

test('every bad field at once is named', async () => {
  const res = await next({ schedule: '61 * * * *', timeZone: 'utc', count: '-1', from: 'x' });
  expect(res.status).toBe(400);
  expect((res.json.errors as { path: string }[]).map((e) => e.path)).toEqual([
    'schedule',
    'timeZone',
    'count',
    'from',
  ]);
});

test('no token: 401; a bad token: 401', async () => {
  const none = await next({ schedule: '@daily' }, {} as { authorization: string });
  expect(none.status).toBe(401);
  expect(none.type).toMatch(/application\/problem\+json/);
  const bad = await next({ schedule: '@daily' }, { authorization: 'Bearer not-a-jwt' });
  expect(bad.status).toBe(401);
});

test('the OpenAPI document describes the route and its answer', async () => {
  const doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
    paths: Record<string, { get?: { parameters?: { name: string }[] } }>;
  };
  const operation = doc.paths['/api/v1/schedules/next']?.get;
  expect(operation?.parameters?.map((p) => p.name)).toEqual([
    'schedule',
    'timeZone',
    'count',
    'from',
  ]);
});
