import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { runHksFunc } from '../../cli/hks-func/program';
import { HksClient } from '../../sdk/typescript';
import { API_VERSION } from '../../constructs';
import type { UsageReport } from '../../api/routes/usage';
import { Store } from '../../api/store/store';
import { kubectlOk } from '../cluster/kubectl';
import { waitFor } from '../cluster/wait';
import { waitForEndedExecution } from '../support/executions';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import { ApiProcess, projectRequest, startApi, testStores, token } from './api-process';

jest.setTimeout(300_000);

/*
 * Usage and cost through the real API on the real control plane: a function (the Knative
 * stand-in runs the real python bootstrap) invoked a few times, the first on a cold instance,
 * and a CronJob run on the fake nodes, recorded with what their pods requested; the route's
 * figures checked against the rows the store holds, the price table's cost, the groups
 * agreeing with the total; bad queries and a bad price table refused. SQLite and PostgreSQL.
 */

const PRICES = { vcpuSecond: 0.0000166667, gibSecond: 0.0000018519, invocation: 0.0000002 };
const GIB = 2 ** 30;
const round = (value: number, decimals: number) =>
  Math.round(+(value * 10 ** decimals).toPrecision(15)) / 10 ** decimals;

const prefix = `u${randomBytes(2).toString('hex')}-`;
let standIn: StandInProcess;

beforeAll(async () => {
  standIn = await startStandIn(prefix);
}, 120_000);

afterAll(async () => {
  await standIn?.stop();
});

test('a bad price table is refused at start, naming the field', async () => {
  await expect(
    startApi({
      HKS_PRICE_TABLE: JSON.stringify({ ...PRICES, vcpuSecond: 'cheap' }),
      HKS_RECORDER: 'off',
    }),
  ).rejects.toThrow(
    'HKS_PRICE_TABLE.vcpuSecond: given "cheap", expected a number at least 0 (a price per vCPU-second)',
  );
});

describe.each(testStores())('usage and cost ($name)', (testStore) => {
  const project = `usage-${testStore.name}`;
  let api: ApiProcess;
  let store: Store;
  let headers: Record<string, string>;
  const request = (method: string, path: string, body?: unknown) =>
    projectRequest(api, project, headers, method, path, body);
  const from = new Date(Date.now() - 3_600_000).toISOString();
  let to: string;
  const usage = async (query: Record<string, string>) => {
    const res = await request('GET', `/usage?${new URLSearchParams({ from, to, ...query })}`);
    expect({ query, status: res.status }).toEqual({ query, status: 200 });
    return res.json as unknown as UsageReport;
  };
  const initHeaders: (string | null)[] = [];

  beforeAll(async () => {
    const env = await testStore.env();
    api = await startApi({
      ...env,
      HKS_NAMESPACE_PREFIX: prefix,
      HKS_PRICE_TABLE: JSON.stringify({ ...PRICES, currency: 'EUR' }),
    });
    store = await Store.open({
      databaseUrl: env.HKS_DATABASE_URL,
      sqlitePath: env.HKS_SQLITE_PATH,
    });
    headers = {
      authorization: `Bearer ${await token([project])}`,
      'content-type': 'application/json',
    };
    const definitions = [
      {
        apiVersion: API_VERSION,
        kind: 'Function',
        metadata: { name: 'meter', project },
        spec: {
          runtime: 'python3.12',
          resources: { cpu: '250m', memory: '256Mi' },
          code: 'import time\ntime.sleep(0.05)\n\ndef handler(event):\n    return {"n": event.get("n")}\n',
        },
      },
      {
        apiVersion: API_VERSION,
        kind: 'CronJob',
        metadata: { name: 'tally', project },
        spec: {
          image: 'ghcr.io/acme/job:1',
          schedule: '0 0 1 1 *',
          backoffLimit: 0,
          resources: { cpu: '0.5', memory: '1Gi' },
        },
      },
    ];
    for (const definition of definitions)
      expect((await request('POST', '/applications', definition)).status).toBe(201);
    await waitFor('meter ready', 60_000, async () => {
      const res = await request('GET', '/functions/meter');
      return res.status === 200 && res.json.ready === true;
    });
    for (let n = 0; n < 3; n++) {
      const res = await fetch(`${api.url}/api/v1/projects/${project}/functions/meter/invoke`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ n }),
      });
      expect(res.status).toBe(200);
      initHeaders.push(res.headers.get('x-hks-init-ms'));
      await res.text();
    }
    const triggered = await request('POST', '/cronjobs/tally/trigger');
    expect(triggered.status).toBe(201);
    await waitForEndedExecution(request, 'tally', String(triggered.json.id));
    await waitFor('3 invocations recorded', 10_000, async () => {
      const rows = await store.knex('function_invocations').where({ project });
      return rows.length === 3;
    });
    to = new Date(Date.now() + 60_000).toISOString();
  }, 300_000);

  afterAll(async () => {
    await store?.close();
    await api?.stop();
    await kubectlOk([
      'delete',
      'namespace',
      `${prefix}${project}`,
      '--wait=false',
      '--ignore-not-found',
    ]);
  });

  test("an invocation records what its pods requested; the cold instance's load time apart", async () => {
    // The first answer of the instance tells its load time (the module sleeps 50 ms), no other.
    expect(Number(initHeaders[0])).toBeGreaterThanOrEqual(50);
    expect(initHeaders.slice(1)).toEqual([null, null]);
    const rows = (await store
      .knex('function_invocations')
      .where({ project })
      .orderBy('started_at')) as Record<string, unknown>[];
    expect(rows.map((r) => [Number(r.cpu_millis), Number(r.memory_bytes)])).toEqual([
      [250, 256 * 2 ** 20],
      [250, 256 * 2 ** 20],
      [250, 256 * 2 ** 20],
    ]);
    expect(rows.map((r) => (r.init_ms === null ? null : Number(r.init_ms)))).toEqual([
      Number(initHeaders[0]),
      null,
      null,
    ]);
    // Each invocation shows its own usage in the history's view.
    const page = await request('GET', '/functions/meter/invocations');
    expect(page.status).toBe(200);
    const items = (page.json.items as Record<string, unknown>[]).reverse();
    expect(items.map((i) => [i.cpuMillis, i.memoryBytes, i.initMs])).toEqual([
      [250, 256 * 2 ** 20, Number(initHeaders[0])],
      [250, 256 * 2 ** 20, undefined],
      [250, 256 * 2 ** 20, undefined],
    ]);
    const [execution] = (await store.knex('executions').where({ project })) as Record<
      string,
      unknown
    >[];
    // "0.5" comes back from the API server as 500m: the same 500 millicores.
    expect([Number(execution.cpu_millis), Number(execution.memory_bytes)]).toEqual([500, GIB]);
    // And the run's own view shows them.
    const runs = await request('GET', '/cronjobs/tally/executions');
    expect(runs.status).toBe(200);
    const [run] = runs.json.items as Record<string, unknown>[];
    expect([run.cpuMillis, run.memoryBytes]).toEqual([500, GIB]);
  });

  test('the figures are those of the recorded rows, the cost that of the price table', async () => {
    const invocations = (await store.knex('function_invocations').where({ project })) as Record<
      string,
      unknown
    >[];
    const [run] = (await store.knex('executions').where({ project })) as Record<string, unknown>[];
    const runMs = Date.parse(String(run.completed_at)) - Date.parse(String(run.started_at));
    const cpuMilliMs = invocations.reduce(
      (a, r) => a + Number(r.cpu_millis) * Number(r.duration_ms),
      0,
    );
    const memoryByteMs = invocations.reduce(
      (a, r) => a + Number(r.memory_bytes) * Number(r.duration_ms),
      0,
    );
    const durationMs = invocations.reduce((a, r) => a + Number(r.duration_ms), 0);
    const vcpuSeconds = cpuMilliMs / 1e6;
    const gibSeconds = memoryByteMs / (GIB * 1000);

    const byFunction = await usage({ groupBy: 'function' });
    expect(byFunction.prices).toEqual({ ...PRICES, currency: 'EUR' });
    expect(byFunction.items).toEqual([
      {
        key: 'meter',
        invocations: 3,
        executions: 0,
        durationSeconds: round(durationMs / 1000, 3),
        initSeconds: round(Number(initHeaders[0]) / 1000, 3),
        coldStarts: 1,
        vcpuSeconds: round(vcpuSeconds, 6),
        gibSeconds: round(gibSeconds, 6),
        cost: {
          compute: round(vcpuSeconds * PRICES.vcpuSecond, 6),
          memory: round(gibSeconds * PRICES.gibSecond, 6),
          requests: round(3 * PRICES.invocation, 6),
          total: round(
            vcpuSeconds * PRICES.vcpuSecond + gibSeconds * PRICES.gibSecond + 3 * PRICES.invocation,
            6,
          ),
        },
      },
    ]);
    // CPU-s = requested cores × duration.
    expect(byFunction.items[0].vcpuSeconds).toBeCloseTo(0.25 * (durationMs / 1000), 6);

    const byCronJob = await usage({ groupBy: 'cronjob' });
    expect(byCronJob.items).toEqual([
      expect.objectContaining({
        key: 'tally',
        invocations: 0,
        executions: 1,
        durationSeconds: runMs / 1000,
        vcpuSeconds: round((500 * runMs) / 1e6, 6),
        gibSeconds: round((GIB * runMs) / (GIB * 1000), 6),
      }),
    ]);

    const byDay = await usage({ groupBy: 'day' });
    expect(byDay.total).toEqual(byFunction.total);
    expect(byDay.total).toMatchObject({ invocations: 3, executions: 1, coldStarts: 1 });
    for (const field of ['vcpuSeconds', 'gibSeconds', 'durationSeconds'] as const) {
      const days = byDay.items.reduce((a, i) => a + i[field], 0);
      expect(days).toBeCloseTo(byDay.total[field], 5);
      expect(byFunction.items[0][field] + byCronJob.items[0][field]).toBeCloseTo(
        byDay.total[field],
        5,
      );
    }
    // The function's own usage, by day (the console's panel).
    const meter = await usage({ groupBy: 'day', function: 'meter' });
    expect(meter.total).toEqual({ ...byFunction.items[0], key: undefined, executions: 0 });
  });

  test('the CLI, the TypeScript SDK and the Python SDK read the same report', async () => {
    const query = { groupBy: 'day', from, to } as const;
    const report = await usage(query);
    const userToken = String(headers.authorization).slice('Bearer '.length);
    const client = new HksClient({ apiUrl: api.url, token: userToken });
    expect(await client.usage.report(project, query)).toEqual(report);

    let stdout = '';
    const cli = (...args: string[]) =>
      runHksFunc(
        ['usage', ...args, '--api-url', api.url, '--token', userToken, '--project', project],
        {
          stdout: (t) => (stdout += t),
          stderr: () => undefined,
          env: { HKS_CONFIG: '/nonexistent/hks-config.json' },
          stderrIsTTY: false,
          cwd: process.cwd(),
        },
      );
    expect(await cli('--group-by', 'day', '--from', from, '--to', to, '--output', 'json')).toBe(0);
    expect(JSON.parse(stdout)).toEqual(report);
    stdout = '';
    expect(await cli('--group-by', 'cronjob', '--from', from, '--to', to)).toBe(0);
    expect(stdout).toMatch(/^CRONJOB +INVOCATIONS +RUNS .* COST \(EUR\)$/m);
    expect(stdout).toMatch(/^tally +0 +1 /m);
    expect(stdout).toMatch(/^TOTAL +3 +1 /m);

    const python = spawnSync(
      'python3',
      [
        '-c',
        [
          'import json, sys',
          'from hks_sdk import Functions',
          'r = Functions(api_url=sys.argv[1], token=sys.argv[2], project=sys.argv[3]).usage(start=sys.argv[4], end=sys.argv[5], group_by="day")',
          'print(json.dumps({"keys": [i.key for i in r.items], "invocations": r.total.invocations, "executions": r.total.executions, "vcpu": r.total.vcpu_seconds, "cost": r.total.cost.total, "currency": r.prices["currency"]}))',
        ].join('\n'),
        api.url,
        userToken,
        project,
        from,
        to,
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, PYTHONPATH: join(process.cwd(), 'sdk', 'python') },
      },
    );
    expect(python.stderr).toBe('');
    expect(JSON.parse(python.stdout)).toEqual({
      keys: report.items.map((i) => i.key),
      invocations: 3,
      executions: 1,
      vcpu: report.total.vcpuSeconds,
      cost: report.total.cost.total,
      currency: 'EUR',
    });
  });

  test('bad queries are refused, naming the field, the value and what is expected', async () => {
    const refused = async (query: string) => {
      const res = await request('GET', `/usage?${query}`);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      return String(res.json.detail);
    };
    expect(await refused('groupBy=hour')).toMatch(
      /^query\.groupBy: .*"hour".*function.*cronjob.*day/,
    );
    expect(await refused('from=yesterday')).toMatch(
      /^query\.from: given "yesterday", expected an ISO 8601 instant[^;]*$/,
    );
    expect(await refused('from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z')).toBe(
      'query.from: given from 2026-02-01T00:00:00.000Z at or after to 2026-01-01T00:00:00.000Z, expected from before to',
    );
    expect(await refused('from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z')).toBe(
      'query.from: given from 2024-01-01T00:00:00.000Z and to 2026-01-01T00:00:00.000Z, expected at most 366 days between them',
    );
    expect(await refused('groupBy=day&function=meter&cronjob=tally')).toMatch(
      /^query\.cronjob: given both function "meter" and cronjob "tally", expected at most one of them/,
    );
    expect(await refused('cursor=bm9wZSE')).toMatch(/^query\.cursor: given "bm9wZSE"/);
    expect(await refused('limit=0')).toMatch(/^query\.limit: /);
  });
});
