import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { API_VERSION } from '../../constructs';
import type { CronJobSummary, ExecutionView } from '../../api/routes/cronjobs';
import { kubectlOk } from '../cluster/kubectl';
import { waitFor } from '../cluster/wait';
import { waitForEndedExecution } from '../support/executions';
import { ApiProcess, projectRequest, startApi, testStores, token } from './api-process';

jest.setTimeout(300_000);

/*
 * A project's executions in one history (GET /projects/{p}/executions) with its filters, the
 * time filters of a CronJob's history, and the CronJob list with each CronJob's next run,
 * last run and newest runs in one request: through a real API process whose executions come
 * from Jobs that ran on the test cluster's fake nodes, on SQLite and PostgreSQL.
 */

const PROJECT = 'allruns';
const OTHER = 'allruns-other';

const cronJob = (project: string, name: string, spec: Record<string, unknown>, labels = {}) => ({
  apiVersion: API_VERSION,
  kind: 'CronJob',
  metadata: { name, project, labels },
  spec: { image: 'ghcr.io/acme/job:1', schedule: '0 0 1 1 *', backoffLimit: 0, ...spec },
});

const definitions = [
  cronJob(PROJECT, 'alpha', { timeZone: 'Asia/Tokyo' }),
  // The test cluster's fake nodes end pods labelled hks.dev/exit-code with that exit code.
  cronJob(PROJECT, 'beta', {}, { 'hks.dev/exit-code': '3' }),
  cronJob(PROJECT, 'idle', { suspend: true }),
  cronJob(OTHER, 'alpha', {}),
];

/** `?a=1&b=2` of the given parameters. */
const query = (params: Record<string, string>) => `?${new URLSearchParams(params)}`;

describe.each(testStores())('executions per project, filtered ($name store)', (store) => {
  const prefix = `x${randomBytes(2).toString('hex')}-`;
  let api: ApiProcess;
  let headers: Record<string, string>;
  const request = (project: string, method: string, path: string) =>
    projectRequest(api, project, headers, method, path);
  const page = async (path: string) => {
    const res = await request(PROJECT, 'GET', path);
    expect({ path, status: res.status }).toEqual({ path, status: 200 });
    return res.json as { items: ExecutionView[]; nextCursor?: string };
  };
  const errorsOf = async (path: string) => {
    const res = await request(PROJECT, 'GET', path);
    expect({ path, status: res.status }).toEqual({ path, status: 400 });
    return res.json.errors;
  };
  /** Ended runs, oldest first: alpha, beta, alpha, and the other project's alpha. */
  const runs: ExecutionView[] = [];
  let otherRun: ExecutionView;

  beforeAll(async () => {
    api = await startApi({ ...(await store.env()), HKS_NAMESPACE_PREFIX: prefix });
    headers = {
      authorization: `Bearer ${await token([PROJECT, OTHER])}`,
      'content-type': 'application/json',
    };
    for (const definition of definitions) {
      const res = await projectRequest(
        api,
        definition.metadata.project,
        headers,
        'POST',
        '/applications',
        definition,
      );
      expect(res.status).toBe(201);
    }
    // One after the other, so that their start times differ and order them.
    for (const cronjob of ['alpha', 'beta', 'alpha']) {
      const triggered = await request(PROJECT, 'POST', `/cronjobs/${cronjob}/trigger`);
      expect(triggered.status).toBe(201);
      runs.push(
        await waitForEndedExecution(
          (method, path) => request(PROJECT, method, path),
          cronjob,
          String(triggered.json.id),
        ),
      );
    }
    const other = await request(OTHER, 'POST', '/cronjobs/alpha/trigger');
    otherRun = await waitForEndedExecution(
      (method, path) => request(OTHER, method, path),
      'alpha',
      String(other.json.id),
    );
  }, 300_000);

  afterAll(async () => {
    await api?.stop();
    for (const project of [PROJECT, OTHER])
      await kubectlOk([
        'delete',
        'namespace',
        `${prefix}${project}`,
        '--wait=false',
        '--ignore-not-found',
      ]);
  });

  test("every CronJob's executions, newest first, as the CronJob's own route shows them; none of another project", async () => {
    const all = await page('/executions');
    expect(all.items.map((e) => [e.cronjob, e.id])).toEqual(
      [...runs].reverse().map((e) => [e.cronjob, e.id]),
    );
    expect(all.nextCursor).toBeUndefined();
    for (const item of all.items) {
      const own = await request(PROJECT, 'GET', `/cronjobs/${item.cronjob}/executions/${item.id}`);
      expect(item).toEqual(own.json);
    }
    expect(all.items.map((e) => e.id)).not.toContain(otherRun.id);
    expect(all.items.find((e) => e.cronjob === 'beta')).toMatchObject({
      status: 'failed',
      exitCode: 3,
      trigger: 'manual',
    });
  });

  test('paging with the cursor visits each once, in order', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const next: { items: ExecutionView[]; nextCursor?: string } = await page(
        `/executions${query({ limit: '1', ...(cursor ? { cursor } : {}) })}`,
      );
      expect(next.items.length).toBeLessThanOrEqual(1);
      seen.push(...next.items.map((e) => e.id));
      cursor = next.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...runs].reverse().map((e) => e.id));
  });

  test('filters: cronjob, status, since (inclusive) and until (exclusive) on the start time', async () => {
    const ids = async (params: Record<string, string>, path = '/executions') =>
      (await page(`${path}${query(params)}`)).items.map((e) => e.id);
    const [first, second, third] = runs;
    expect(await ids({ cronjob: 'beta' })).toEqual([second.id]);
    expect(await ids({ cronjob: 'alpha' })).toEqual([third.id, first.id]);
    expect(await ids({ status: 'failed' })).toEqual([second.id]);
    expect(await ids({ status: 'succeeded', cronjob: 'beta' })).toEqual([]);
    expect(await ids({ cronjob: 'ghost' })).toEqual([]);
    expect(await ids({ since: second.startedAt })).toEqual([third.id, second.id]);
    expect(await ids({ until: second.startedAt })).toEqual([first.id]);
    expect(await ids({ since: first.startedAt, until: third.startedAt })).toEqual([
      second.id,
      first.id,
    ]);
    // The same instant with an offset is the same bound.
    const tokyo = new Date(Date.parse(second.startedAt) + 9 * 3600_000)
      .toISOString()
      .replace('Z', '+09:00');
    expect(await ids({ since: tokyo })).toEqual([third.id, second.id]);
    expect(await ids({ since: new Date(Date.now() + 3600_000).toISOString() })).toEqual([]);
    // since equal to until: an empty range, not a mistake.
    expect(await ids({ since: second.startedAt, until: second.startedAt })).toEqual([]);
    // A CronJob's own history takes the time bounds too.
    expect(await ids({ since: second.startedAt }, '/cronjobs/alpha/executions')).toEqual([
      third.id,
    ]);
    expect(
      await ids({ until: third.startedAt, status: 'succeeded' }, '/cronjobs/alpha/executions'),
    ).toEqual([first.id]);
  });

  test('bad filters: a 400 naming the field, the value given and what is expected', async () => {
    const instant =
      'expected an ISO 8601 instant with seconds and Z or an offset such as +09:00, e.g. 2026-01-31T02:30:00Z';
    expect(await errorsOf('/executions?since=yesterday')).toEqual([
      { path: 'since', message: `given "yesterday", ${instant}` },
    ]);
    expect(await errorsOf('/executions?until=2026-01-31T02:30')).toEqual([
      { path: 'until', message: `given "2026-01-31T02:30", ${instant}` },
    ]);
    expect(await errorsOf('/cronjobs/alpha/executions?since=2026-02-30T00:00:00Z')).toEqual([
      { path: 'since', message: `given "2026-02-30T00:00:00Z", ${instant}` },
    ]);
    for (const path of ['/executions', '/cronjobs/alpha/executions'])
      expect(
        await errorsOf(
          `${path}${query({ since: '2026-02-01T00:00:00+09:00', until: '2026-01-31T00:00:00Z' })}`,
        ),
      ).toEqual([
        {
          path: 'since',
          message: `given since 2026-01-31T15:00:00.000Z after until 2026-01-31T00:00:00.000Z, expected since at or before until`,
        },
      ]);
    expect(await errorsOf('/executions?cronjob=Alpha_1')).toEqual([
      { path: 'cronjob', message: expect.stringMatching(/^given "Alpha_1", expected a name/) },
    ]);
    expect(await errorsOf('/executions?status=done')).toEqual([
      {
        path: 'status',
        message: 'given "done", expected "running" | "succeeded" | "failed" | "unknown"',
      },
    ]);
    expect(await errorsOf('/executions?limit=101')).toEqual([
      { path: 'limit', message: 'given 101, expected at most 100' },
    ]);
    expect(await errorsOf('/executions?cursor=garbage')).toEqual([
      {
        path: 'cursor',
        message: 'given "garbage", expected a cursor returned as nextCursor by a previous page',
      },
    ]);
    expect(await errorsOf('/executions?name=alpha')).toEqual([
      {
        path: 'name',
        message: 'unknown field, expected only limit, cursor, status, since, until, cronjob',
      },
    ]);
    // Another project's history needs that project in the token.
    const outsider = await projectRequest(
      api,
      'allruns-denied',
      { authorization: `Bearer ${await token([PROJECT])}` },
      'GET',
      '/executions',
    );
    expect(outsider.status).toBe(403);
  });

  test('the CronJob list: next run, last run and the newest runs of each CronJob in one request', async () => {
    const list = async (params = '') => {
      const res = await request(PROJECT, 'GET', `/cronjobs${params}`);
      expect(res.status).toBe(200);
      return Object.fromEntries(
        (res.json.items as CronJobSummary[]).map((item) => [item.name, item]),
      );
    };
    const items = await list();
    const [first, second, third] = runs;
    const summary = (e: ExecutionView) => ({
      id: e.id,
      trigger: e.trigger,
      status: e.status,
      startedAt: e.startedAt,
      completedAt: e.completedAt,
      durationMs: Date.parse(e.completedAt ?? '') - Date.parse(e.startedAt),
    });
    expect(items.alpha).toMatchObject({
      name: 'alpha',
      schedule: '0 0 1 1 *',
      timeZone: 'Asia/Tokyo',
      suspended: false,
      version: 1,
      lastRun: summary(third),
      recentRuns: [summary(third), summary(first)],
    });
    // Midnight of 1 January in Tokyo is 15:00 UTC on 31 December.
    expect(items.alpha.nextRun).toMatch(/^\d{4}-12-31T15:00:00\.000Z$/);
    expect(Date.parse(items.alpha.nextRun ?? '')).toBeGreaterThan(Date.now());
    expect(items.beta).toMatchObject({
      lastRun: { id: second.id, status: 'failed' },
      recentRuns: [{ id: second.id, status: 'failed' }],
    });
    expect(items.beta.nextRun).toMatch(/^\d{4}-01-01T00:00:00\.000Z$/);
    // Suspended: no next run; never run: no last run, an empty strip.
    expect(items.idle).toMatchObject({ suspended: true, recentRuns: [] });
    expect(items.idle.nextRun).toBeUndefined();
    expect(items.idle.lastRun).toBeUndefined();

    expect((await list('?runs=1')).alpha.recentRuns).toEqual([summary(third)]);
    const none = await list('?runs=0');
    expect(none.alpha.recentRuns).toEqual([]);
    expect(none.alpha.lastRun).toEqual(summary(third));
    const tooMany = await request(PROJECT, 'GET', '/cronjobs?runs=51');
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.errors).toEqual([
      { path: 'runs', message: 'given 51, expected at most 50' },
    ]);
  });

  test('the OpenAPI document has the route, the filters and the list fields', async () => {
    const doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { parameters: { name: string; in: string }[] }>>;
      components: unknown;
    };
    const route = doc.paths['/api/v1/projects/{project}/executions']?.get;
    expect(route?.parameters.filter((p) => p.in === 'query').map((p) => p.name)).toEqual([
      'limit',
      'cursor',
      'status',
      'since',
      'until',
      'cronjob',
    ]);
    const own = doc.paths['/api/v1/projects/{project}/cronjobs/{name}/executions'].get;
    expect(own.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['since', 'until']));
    const listing = doc.paths['/api/v1/projects/{project}/cronjobs'].get;
    expect(listing.parameters.map((p) => p.name)).toContain('runs');
    expect(JSON.stringify(listing)).toContain('recentRuns');
  });
});

/*
 * What the console's CronJob list costs with 20 CronJobs that ran once: before, the list and
 * two requests per CronJob (its view for the next run, its last 10 executions), four CronJobs
 * at a time; now, the one list. Printed, not asserted. SQLite only: the figures are the
 * requests', the store's own are in test/execution-queries.test.ts.
 */
describe('the CronJob list of 20 CronJobs: requests and time, figures', () => {
  const project = 'allruns-twenty';
  const prefix = `y${randomBytes(2).toString('hex')}-`;
  let api: ApiProcess;
  let headers: Record<string, string>;
  const request = (method: string, path: string, body?: unknown) =>
    projectRequest(api, project, headers, method, path, body);
  const names = Array.from({ length: 20 }, (_, i) => `job-${String(i).padStart(2, '0')}`);

  beforeAll(async () => {
    api = await startApi({ ...(await testStores()[0].env()), HKS_NAMESPACE_PREFIX: prefix });
    headers = {
      authorization: `Bearer ${await token([project])}`,
      'content-type': 'application/json',
    };
    for (const name of names)
      expect((await request('POST', '/applications', cronJob(project, name, {}))).status).toBe(201);
    for (const name of names)
      expect((await request('POST', `/cronjobs/${name}/trigger`)).status).toBe(201);
    await waitFor('a run of each recorded', 120_000, async () => {
      const res = await request('GET', '/cronjobs');
      return (res.json.items as CronJobSummary[]).every((c) => c.lastRun !== undefined);
    });
  }, 240_000);

  afterAll(async () => {
    await api?.stop();
    await kubectlOk([
      'delete',
      'namespace',
      `${prefix}${project}`,
      '--wait=false',
      '--ignore-not-found',
    ]);
  });

  test('one request instead of 41', async () => {
    let requests = 0;
    const get = async (path: string) => {
      requests++;
      const res = await request('GET', path);
      expect(res.status).toBe(200);
      return res.json;
    };
    const before = async () => {
      const { items } = (await get('/cronjobs')) as { items: CronJobSummary[] };
      for (let i = 0; i < items.length; i += 4)
        await Promise.all(
          items
            .slice(i, i + 4)
            .flatMap((c) => [
              get(`/cronjobs/${c.name}`),
              get(`/cronjobs/${c.name}/executions?limit=10`),
            ]),
        );
    };
    const after = async () => {
      await get('/cronjobs?runs=10');
    };
    const measure = async (load: () => Promise<void>) => {
      await load();
      requests = 0;
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const start = performance.now();
        await load();
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      return { requests: requests / 10, median: times[5].toFixed(1), max: times[9].toFixed(1) };
    };
    const old = await measure(before);
    const now = await measure(after);
    expect(now.requests).toBe(1);
    expect(old.requests).toBe(1 + 2 * names.length);
    console.log(
      [
        'the CronJob list of 20 CronJobs, one refresh (median and max of 10, ms):',
        `before: ${old.requests} requests, ${old.median} ms (max ${old.max})`,
        `now: ${now.requests} request, ${now.median} ms (max ${now.max})`,
      ].join('\n'),
    );
  });
});
