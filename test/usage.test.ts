import { randomUUID } from 'node:crypto';
import { ConfigError } from '../api/config';
import { InvocationStore } from '../api/store/invocation-store';
import { Store } from '../api/store/store';
import { parsePriceTable, readPriceTable, DEFAULT_PRICE_TABLE } from '../api/usage/price-table';
import { quantityValue } from '../api/usage/quantity';
import { requestedResources } from '../api/usage/requested-resources';
import { round, usageFigures } from '../api/usage/usage-cost';
import { UsageQueries } from '../api/usage/usage-queries';
import { testStores } from './api/api-process';

jest.setTimeout(60_000);

/*
 * Usage and cost: Kubernetes quantities, what a pod spec requests, the price table and its
 * refusals, the arithmetic and its rounding, and the sums the store adds up (SQLite and
 * PostgreSQL) against the same sums made here from the rows.
 */

test('quantities in every notation the API server writes', () => {
  expect(quantityValue('500m')).toBe(0.5);
  expect(quantityValue('2')).toBe(2);
  expect(quantityValue(1.5)).toBe(1.5);
  expect(quantityValue('128Mi')).toBe(128 * 2 ** 20);
  expect(quantityValue('1Gi')).toBe(2 ** 30);
  expect(quantityValue('1G')).toBe(1e9);
  expect(quantityValue('129e6')).toBe(129e6);
  expect(quantityValue('250000u')).toBeCloseTo(0.25, 12);
  expect(quantityValue('1.5Gi')).toBe(1.5 * 2 ** 30);
  for (const bad of ['', 'lots', '1Zi', '1 Gi', undefined, null, {}])
    expect(quantityValue(bad)).toBeUndefined();
});

test('a pod requests its containers’ requests, or their limits without one, summed', () => {
  expect(
    requestedResources({
      containers: [
        { resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } } },
        { resources: { limits: { cpu: '250m', memory: '64Mi' } } },
      ],
    }),
  ).toEqual({ cpuMillis: 350, memoryBytes: 192 * 2 ** 20 });
  // 0.1 core is 100 millicores, not 101 from a float's noise; a fraction rounds up.
  expect(requestedResources({ containers: [{ resources: { requests: { cpu: '0.1' } } }] })).toEqual(
    { cpuMillis: 100 },
  );
  expect(
    requestedResources({ containers: [{ resources: { requests: { cpu: '1500u' } } }] }),
  ).toEqual({ cpuMillis: 2 });
  expect(requestedResources({ containers: [{}] })).toEqual({});
  expect(requestedResources(undefined)).toEqual({});
});

test('the price table: JSON or a file; each bad field named with its value', () => {
  expect(readPriceTable({})).toEqual(DEFAULT_PRICE_TABLE);
  expect(
    readPriceTable({
      HKS_PRICE_TABLE: '{"vcpuSecond": 0.00002, "gibSecond": 0.000002, "invocation": 0.0000002}',
    }),
  ).toEqual({ vcpuSecond: 0.00002, gibSecond: 0.000002, invocation: 0.0000002, currency: 'USD' });
  const problems = (text: string): readonly string[] => {
    try {
      parsePriceTable(text, 'HKS_PRICE_TABLE');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).problems;
    }
    throw new Error(`${text} was accepted`);
  };
  expect(problems('{"vcpuSecond": -1, "gibSecond": "x", "currency": "usd", "cpu": 1}')).toEqual([
    'HKS_PRICE_TABLE.cpu: given 1, expected no such field (fields: vcpuSecond, gibSecond, invocation, currency)',
    'HKS_PRICE_TABLE.vcpuSecond: given -1, expected a number at least 0 (a price per vCPU-second)',
    'HKS_PRICE_TABLE.gibSecond: given "x", expected a number at least 0 (a price per GiB-second)',
    'HKS_PRICE_TABLE.invocation: given nothing, expected a number at least 0 (a price per invocation)',
    'HKS_PRICE_TABLE.currency: given "usd", expected an ISO 4217 code of three capital letters such as USD',
  ]);
  expect(problems('[1]')[0]).toMatch(/^HKS_PRICE_TABLE: given \[1\], expected a JSON object/);
  expect(problems('{nope')[0]).toMatch(/^HKS_PRICE_TABLE: given text that is not JSON/);
  expect(() => readPriceTable({ HKS_PRICE_TABLE: '/no/such/prices.json' })).toThrow(
    /HKS_PRICE_TABLE: given "\/no\/such\/prices.json", expected a JSON object .* \(no such file\)/,
  );
});

test('cost from unrounded sums, each figure rounded half up at the end', () => {
  expect(round(1.0000005, 6)).toBe(1.000001);
  expect(round(0.1 + 0.2, 6)).toBe(0.3);
  const figures = usageFigures(
    {
      invocations: 3,
      executions: 1,
      durationMs: 1500,
      initMs: 40,
      coldStarts: 1,
      // 250 millicores for 1.5 s; 512 MiB for 1.5 s.
      cpuMilliMs: 250 * 1500,
      memoryByteMs: 512 * 2 ** 20 * 1500,
    },
    { vcpuSecond: 0.00002, gibSecond: 0.000003, invocation: 0.0000004, currency: 'USD' },
  );
  expect(figures).toEqual({
    invocations: 3,
    executions: 1,
    durationSeconds: 1.5,
    initSeconds: 0.04,
    coldStarts: 1,
    vcpuSeconds: 0.375,
    gibSeconds: 0.75,
    cost: { compute: 0.000008, memory: 0.000002, requests: 0.000002, total: 0.000011 },
  });
});

describe.each(testStores())('usage sums in the store ($name)', (testStore) => {
  let store: Store;
  const project = 'usagestore';
  const day = (d: number, second: number) =>
    new Date(Date.UTC(2026, 10, d, 0, 0, second)).toISOString();
  /** [function, day, second, duration ms, millicores, bytes, init ms] */
  const calls: [string, number, number, number, number | undefined, number | undefined, number?][] =
    [
      ['alpha', 1, 1, 120.5, 100, 128 * 2 ** 20, 35.2],
      ['alpha', 1, 2, 80, 100, 128 * 2 ** 20],
      ['alpha', 2, 3, 300.25, 250, 256 * 2 ** 20],
      ['beta', 2, 4, 10, undefined, undefined],
      ['beta', 3, 5, 45.5, 1000, 2 ** 30, 12],
    ];
  /** [cronjob, day, start second, run seconds or undefined: still running, millicores, bytes] */
  const runs: [string, number, number, number | undefined, number, number][] = [
    ['nightly', 1, 10, 7, 500, 2 ** 30],
    ['nightly', 2, 10, 3, 500, 2 ** 30],
    ['hourly', 2, 20, 1, 100, 64 * 2 ** 20],
    ['hourly', 3, 20, undefined, 100, 64 * 2 ** 20],
  ];
  const filter = { project, from: day(1, 0), to: day(4, 0) };

  beforeAll(async () => {
    const env = await testStore.env();
    store = await Store.open({
      databaseUrl: env.HKS_DATABASE_URL,
      sqlitePath: env.HKS_SQLITE_PATH ?? ':memory:',
    });
    const invocations = new InvocationStore(store.knex);
    for (const [fn, d, s, durationMs, cpuMillis, memoryBytes, initMs] of calls)
      await invocations.insert({
        id: randomUUID(),
        project,
        function: fn,
        trigger: 'http',
        startedAt: day(d, s),
        durationMs,
        status: 'succeeded',
        requestBytes: 1,
        cpuMillis,
        memoryBytes,
        initMs,
      });
    // Another project's and one outside the range.
    await invocations.insert({
      id: randomUUID(),
      project: 'usagestore-other',
      function: 'alpha',
      trigger: 'http',
      startedAt: day(1, 1),
      durationMs: 1e6,
      status: 'succeeded',
      requestBytes: 1,
      cpuMillis: 1000,
    });
    for (const [cronjob, d, s, seconds, cpuMillis, memoryBytes] of runs)
      await store.upsertExecution({
        jobUid: randomUUID(),
        project,
        cronjob,
        jobName: `${cronjob}-${d}`,
        namespace: project,
        trigger: 'scheduled',
        status: seconds === undefined ? 'running' : 'succeeded',
        startedAt: day(d, s),
        completedAt: seconds === undefined ? undefined : day(d, s + seconds),
        cpuMillis,
        memoryBytes,
      });
  });
  afterAll(async () => {
    await store?.close();
  });

  test('sums per function, per CronJob and per day are those of the rows, and agree', async () => {
    const queries = new UsageQueries(store.knex);
    const byFunction = await queries.groups(filter, 'function', { limit: 10 });
    expect(byFunction.more).toBe(false);
    expect(byFunction.groups.map((g) => g.key)).toEqual(['alpha', 'beta']);
    const alpha = byFunction.groups[0].sums;
    expect(alpha).toEqual({
      invocations: 3,
      executions: 0,
      durationMs: 120.5 + 80 + 300.25,
      initMs: 35.2,
      coldStarts: 1,
      cpuMilliMs: 100 * 120.5 + 100 * 80 + 250 * 300.25,
      memoryByteMs: 128 * 2 ** 20 * (120.5 + 80) + 256 * 2 ** 20 * 300.25,
    });
    const byCronJob = await queries.groups(filter, 'cronjob', { limit: 10 });
    expect(byCronJob.groups).toEqual([
      {
        key: 'hourly',
        sums: expect.objectContaining({ executions: 1, durationMs: 1000, cpuMilliMs: 100 * 1000 }),
      },
      {
        key: 'nightly',
        sums: expect.objectContaining({
          executions: 2,
          durationMs: 10_000,
          cpuMilliMs: 500 * 10_000,
          memoryByteMs: 2 ** 30 * 10_000,
        }),
      },
    ]);
    const byDay = await queries.groups(filter, 'day', { limit: 10 });
    expect(byDay.groups.map((g) => g.key)).toEqual(['2026-11-01', '2026-11-02', '2026-11-03']);
    expect(byDay.groups[1].sums).toMatchObject({ invocations: 2, executions: 2 });
    const total = await queries.total(filter);
    for (const field of ['cpuMilliMs', 'memoryByteMs', 'durationMs', 'initMs'] as const)
      expect(byDay.groups.reduce((a, g) => a + g.sums[field], 0)).toBeCloseTo(total[field], 6);
    expect(
      byFunction.groups.reduce((a, g) => a + g.sums.cpuMilliMs, 0) +
        byCronJob.groups.reduce((a, g) => a + g.sums.cpuMilliMs, 0),
    ).toBeCloseTo(total.cpuMilliMs, 6);
    expect(total).toMatchObject({ invocations: 5, executions: 3, coldStarts: 2 });
  });

  test('a function or a CronJob alone; pages of groups in key order, after the last key', async () => {
    const queries = new UsageQueries(store.knex);
    const beta = await queries.groups({ ...filter, function: 'beta' }, 'day', { limit: 10 });
    expect(beta.groups.map((g) => [g.key, g.sums.invocations, g.sums.executions])).toEqual([
      ['2026-11-02', 1, 0],
      ['2026-11-03', 1, 0],
    ]);
    const nightly = await queries.total({ ...filter, cronjob: 'nightly' });
    expect(nightly).toMatchObject({ invocations: 0, executions: 2, durationMs: 10_000 });
    const first = await queries.groups(filter, 'day', { limit: 2 });
    expect([first.groups.map((g) => g.key), first.more]).toEqual([
      ['2026-11-01', '2026-11-02'],
      true,
    ]);
    const second = await queries.groups(filter, 'day', { limit: 2, after: '2026-11-02' });
    expect([second.groups.map((g) => g.key), second.more]).toEqual([['2026-11-03'], false]);
  });
});
