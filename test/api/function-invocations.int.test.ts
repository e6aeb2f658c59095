import { randomBytes } from 'node:crypto';
import { runHksFunc } from '../../cli/hks-func/program';
import { API_VERSION } from '../../constructs';
import { HksClient } from '../../sdk/typescript';
import { waitFor } from '../cluster/wait';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import {
  ApiProcess,
  internalToken,
  projectRequest,
  startApi,
  testStores,
  token,
} from './api-process';

jest.setTimeout(240_000);

/**
 * The invocation history through the real API on the real control plane, the Knative
 * controller played by the stand-in (dev/knative), which runs the real bootstrap: invocations
 * by the invoke route and by execute-once recorded with their fields, the id the function saw,
 * its logs; failures, a client that leaves; the routes' paging, filters and refusals; retention.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const prefix = `i${randomBytes(2).toString('hex')}-`;
let standIn: StandInProcess;

interface InvocationView {
  id: string;
  project: string;
  function: string;
  revision?: string;
  tag?: string;
  trigger: string;
  clientRequestId?: string;
  startedAt: string;
  durationMs: number;
  status: string;
  httpStatus?: number;
  requestBytes: number;
  responseBytes?: number;
  error?: { type: string; message: string; stack?: string };
  logs?: string;
}

interface Page {
  items: InvocationView[];
  nextCursor?: string;
}

const echo = (project: string) => ({
  apiVersion: API_VERSION,
  kind: 'Function',
  metadata: { name: 'echo', project },
  spec: {
    runtime: 'python3.12',
    code: [
      'import os, time',
      '',
      'def handler(event, context):',
      '    print("echoing", event.get("word"))',
      '    if event.get("sleep"):',
      '        time.sleep(event["sleep"])',
      '    if event.get("fail"):',
      '        raise ValueError("asked to fail")',
      '    return {"requestId": context.request_id, "revision": os.environ.get("K_REVISION"), "word": event.get("word")}',
      '',
    ].join('\n'),
  },
});

beforeAll(async () => {
  standIn = await startStandIn(prefix);
}, 120_000);

afterAll(async () => {
  await standIn?.stop();
});

describe.each(testStores())('invocation history ($name)', (testStore) => {
  const project = `invhist-${testStore.name}`;
  let api: ApiProcess;
  let env: Record<string, string>;
  let headers: Record<string, string>;
  const request = (method: string, path: string, body?: unknown) =>
    projectRequest(api, project, headers, method, path, body);
  const invocations = async (query = '', name = 'echo') => {
    const res = await request('GET', `/functions/${name}/invocations${query}`);
    return { status: res.status, page: res.json as unknown as Page, json: res.json };
  };
  const invoke = async (
    body: unknown,
    extra: Record<string, string> = {},
    signal?: AbortSignal,
  ) => {
    const res = await fetch(`${api.url}/api/v1/projects/${project}/functions/echo/invoke`, {
      method: 'POST',
      headers: { ...headers, ...extra },
      body: JSON.stringify(body),
      signal,
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      text,
      json: JSON.parse(text) as Record<string, unknown>,
    };
  };
  /** The recorded invocation of this id, once written (writes follow the answer). */
  const recorded = async (id: string, name = 'echo'): Promise<InvocationView> => {
    let found: InvocationView | undefined;
    await waitFor(`invocation ${id} recorded`, 10_000, async () => {
      const res = await request('GET', `/functions/${name}/invocations/${id}`);
      found = res.status === 200 ? (res.json as unknown as InvocationView) : undefined;
      return found !== undefined;
    });
    return found as InvocationView;
  };

  beforeAll(async () => {
    env = await testStore.env();
    api = await startApi({ ...env, HKS_NAMESPACE_PREFIX: prefix, HKS_RECORDER: 'off' });
    headers = {
      authorization: `Bearer ${await token([project])}`,
      'content-type': 'application/json',
    };
    expect((await request('POST', '/applications', echo(project))).status).toBe(201);
    await waitFor('echo ready', 60_000, async () => {
      const res = await request('GET', '/functions/echo');
      return res.status === 200 && res.json.ready === true;
    });
  }, 120_000);

  afterAll(async () => {
    await api?.stop();
  });

  test('an invocation is recorded under the id the function saw, with its sizes, revision and logs', async () => {
    const body = { word: 'hello' };
    const res = await invoke(body, { 'x-request-id': 'client-correlation-1' });
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id') ?? '';
    expect(id).toMatch(UUID);
    // The function was sent the API's id, not the client's.
    expect(res.json).toEqual({ requestId: id, revision: 'echo-00001', word: 'hello' });
    // The tail was asked for the history, not by this client: it does not get it.
    expect([...res.headers.keys()].filter((h) => h.startsWith('x-hks-log'))).toEqual([]);
    const record = await recorded(id);
    expect(record).toEqual({
      id,
      project,
      function: 'echo',
      revision: 'echo-00001',
      trigger: 'http',
      clientRequestId: 'client-correlation-1',
      startedAt: expect.any(String),
      durationMs: expect.any(Number),
      status: 'succeeded',
      httpStatus: 200,
      requestBytes: Buffer.byteLength(JSON.stringify(body)),
      responseBytes: Buffer.byteLength(res.text),
      logs: 'echoing hello\n',
      // What its pods requested (the defaults), and the new instance's load time: its first call.
      cpuMillis: 100,
      memoryBytes: 128 * 2 ** 20,
      initMs: expect.any(Number),
    });
    expect(Date.now() - Date.parse(record.startedAt)).toBeLessThan(60_000);
    expect(record.durationMs).toBeGreaterThan(0);
    // A client that asks for the tail still gets it.
    const asked = await invoke({ word: 'tail' }, { 'x-hks-log': 'tail' });
    expect(asked.headers.get('x-hks-log-result')).toBeTruthy();
    expect((await recorded(asked.headers.get('x-request-id') ?? '')).logs).toBe('echoing tail\n');
  });

  test('a failing handler is recorded as failed with its error; a client that leaves as client-gone', async () => {
    const failed = await invoke({ word: 'boom', fail: true });
    expect(failed.status).toBe(500);
    const record = await recorded(failed.headers.get('x-request-id') ?? '');
    expect(record).toMatchObject({
      status: 'failed',
      httpStatus: 500,
      error: { type: 'ValueError', message: 'asked to fail' },
      logs: 'echoing boom\n',
    });
    expect(record.error?.stack).toContain('asked to fail');

    const abort = new AbortController();
    const leaving = invoke({ word: 'slow', sleep: 2 }, {}, abort.signal).catch(() => 'aborted');
    await new Promise((resolve) => setTimeout(resolve, 500));
    abort.abort();
    expect(await leaving).toBe('aborted');
    let gone: InvocationView | undefined;
    await waitFor('the abandoned invocation recorded', 10_000, async () => {
      gone = (await invocations('?status=client-gone')).page.items[0];
      return gone !== undefined;
    });
    expect(gone).toMatchObject({ status: 'client-gone', error: { type: 'ClientGone' } });
    expect(gone?.httpStatus).toBeUndefined();
  });

  test("execute-once's invocation is recorded with trigger execute, and outlives its function", async () => {
    const res = await fetch(`${api.url}/internal/v1/operations/execute`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await internalToken([project])}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        runtime: 'nodejs20',
        code: 'exports.handler = async (event, context) => { console.log("once", event.n); return { id: context.requestId }; };\n',
        input: { n: 7 },
      }),
    });
    expect(res.status).toBe(200);
    const result = (await res.json()) as { id: string; status: string; result: { id: string } };
    expect(result.status).toBe('succeeded');
    let page: Page | undefined;
    await waitFor('the execute-once invocation recorded', 10_000, async () => {
      const read = await invocations('', result.id);
      page = read.status === 200 ? read.page : undefined;
      return (page?.items.length ?? 0) > 0;
    });
    expect(page?.items).toEqual([
      expect.objectContaining({
        id: result.result.id,
        function: result.id,
        trigger: 'execute',
        status: 'succeeded',
        revision: `${result.id}-00001`,
      }),
    ]);
    expect((await recorded(result.result.id, result.id)).logs).toBe('once 7\n');
    const executed = await request('GET', `/invocations?trigger=execute`);
    expect((executed.json as unknown as Page).items.map((i) => i.function)).toEqual([result.id]);
  });

  test('pages newest first by cursor, filters by status, trigger and time, and refuses bad input', async () => {
    for (const word of ['a', 'b', 'c']) expect((await invoke({ word })).status).toBe(200);
    let all: InvocationView[] = [];
    await waitFor('every invocation recorded', 10_000, async () => {
      all = (await invocations('?limit=100')).page.items;
      return all.length >= 7;
    });
    const starts = all.map((i) => i.startedAt);
    expect(starts).toEqual([...starts].sort().reverse());
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const { page } = await invocations(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.map((i) => i.id));
    expect(all.every((i) => i.logs === undefined)).toBe(true);

    const failed = (await invocations('?status=failed')).page.items;
    expect(failed.map((i) => i.status)).toEqual(['failed']);
    expect((await invocations('?trigger=execute')).page.items).toEqual([]);
    const middle = all[3].startedAt;
    const since = (await invocations(`?since=${middle}`)).page.items;
    expect(since.map((i) => i.id)).toEqual(all.slice(0, 4).map((i) => i.id));
    const until = (await invocations(`?until=${middle}`)).page.items;
    expect(until.map((i) => i.id)).toEqual(all.slice(4).map((i) => i.id));

    const refusals: [string, number, RegExp][] = [
      ['?status=crashed', 400, /status/],
      ['?trigger=cron', 400, /trigger/],
      ['?since=yesterday', 400, /since: given "yesterday", expected an ISO 8601 instant/],
      [
        '?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z',
        400,
        /since: given since 2026-02-01T00:00:00.000Z after until/,
      ],
      ['?limit=0', 400, /limit/],
      ['?cursor=bm9wZQ', 400, /cursor: given "bm9wZQ", expected a cursor returned as nextCursor/],
      ['?colour=red', 400, /colour/],
    ];
    for (const [query, status, detail] of refusals) {
      const res = await invocations(query);
      expect({ query, status: res.status, detail: String(res.json.detail) }).toEqual({
        query,
        status,
        detail: expect.stringMatching(detail),
      });
    }
    const badId = await request('GET', '/functions/echo/invocations/not-an-id');
    expect(badId.status).toBe(400);
    expect(String(badId.json.detail)).toMatch(/id: given "not-an-id", expected an invocation id/);
    const unknown = await request(
      'GET',
      '/functions/echo/invocations/00000000-0000-4000-8000-000000000000',
    );
    expect(unknown.status).toBe(404);
    expect((await invocations('', 'never-deployed')).status).toBe(404);
  });

  test('hks-func history and the TypeScript SDK read the same history', async () => {
    const userToken = await token([project]);
    const client = new HksClient({ apiUrl: api.url, token: userToken });
    const failed = await client.functions.invocations(project, 'echo', { status: 'failed' });
    expect(failed.items.map((i) => [i.status, i.error?.type])).toEqual([['failed', 'ValueError']]);
    const all: string[] = [];
    for await (const i of client.functions.allInvocations(project, 'echo', { limit: 3 }))
      all.push(i.id);
    expect(all).toEqual((await invocations('?limit=100')).page.items.map((i) => i.id));
    expect((await client.functions.invocation(project, 'echo', failed.items[0].id)).logs).toBe(
      'echoing boom\n',
    );

    const cli = async (...args: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await runHksFunc(
        [...args, '--api-url', api.url, '--token', userToken, '--project', project],
        {
          stdout: (t) => (stdout += t),
          stderr: (t) => (stderr += t),
          env: { HKS_CONFIG: '/nonexistent/hks-config.json' },
          stderrIsTTY: false,
          cwd: process.cwd(),
        },
      );
      return { code, stdout, stderr };
    };
    const text = await cli('history', 'echo', '--status', 'failed', '--since', '1h');
    expect(text).toMatchObject({ code: 0, stderr: '' });
    const [header, row, ...rest] = text.stdout.trimEnd().split('\n');
    expect(header.split(/\s+/)).toEqual([
      'ID',
      'TRIGGER',
      'STATUS',
      'HTTP',
      'REVISION',
      'STARTED',
      'DURATION',
      'IN',
      'OUT',
    ]);
    expect(row.split(/\s+/).slice(0, 5)).toEqual([
      failed.items[0].id,
      'http',
      'failed',
      '500',
      'echo-00001',
    ]);
    expect(rest).toEqual([]);
    const json = await cli('history', 'echo', '--limit', '2', '--output', 'json');
    expect(json.code).toBe(0);
    const page = JSON.parse(json.stdout) as Page;
    expect(page.items.map((i) => i.id)).toEqual(all.slice(0, 2));
    expect(page.nextCursor).toEqual(expect.any(String));
    expect((await cli('history', 'echo', '--trigger', 'execute')).stdout).toBe(
      'No invocations of echo.\n',
    );
    const bad = await cli('history', 'echo', '--status', 'crashed');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--status.*crashed/);
    const badSince = await cli('history', 'echo', '--since', 'yesterday');
    expect(badSince.code).toBe(2);
    expect(badSince.stderr).toMatch(/--since.*yesterday.*30m, 2h, 7d/);
  });

  test('prints what asking every invocation for its log tail costs (figures, no assertion on time)', async () => {
    const view = (await request('GET', '/functions/echo')).json as {
      url?: string;
      address?: string;
    };
    const direct = view.address ?? view.url ?? '';
    const median = async (call: () => Promise<unknown>) => {
      const times: number[] = [];
      for (let i = 0; i < 40; i++) {
        const started = performance.now();
        await call();
        times.push(performance.now() - started);
      }
      return times.sort((x, y) => x - y)[20].toFixed(2);
    };
    const atFunction = (extra: Record<string, string>) => () =>
      fetch(direct, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...extra },
        body: '{"word": "bench"}',
      }).then((r) => r.arrayBuffer());
    await median(atFunction({})); // warm-up
    const plain = await median(atFunction({}));
    const tail = await median(atFunction({ 'x-hks-log': 'tail' }));
    const viaApi = await median(() => invoke({ word: 'bench' }));
    console.log(
      `[invocation history ${testStore.name}] median of 40 at the function (the stand-in's address): ${plain} ms plain, ${tail} ms with X-Hks-Log: tail; through the API, recorded: ${viaApi} ms`,
    );
    expect(direct).toMatch(/^http:/);
  });

  test('retention keeps the newest HKS_RETENTION_MAX_INVOCATIONS of a function', async () => {
    const before = (await invocations('?limit=100')).page.items;
    expect(before.length).toBeGreaterThan(2);
    const sweeper = await startApi({
      ...env,
      // Its own prefix: its recorder records no other suite's Jobs.
      HKS_NAMESPACE_PREFIX: `r${randomBytes(2).toString('hex')}-`,
      HKS_RETENTION_INTERVAL_SECONDS: '1',
      HKS_RETENTION_MAX_INVOCATIONS: '2',
    });
    try {
      await waitFor(
        'the sweep to keep the 2 newest',
        30_000,
        async () => (await invocations('?limit=100')).page.items.length === 2,
        undefined,
        250,
      );
      expect((await invocations('?limit=100')).page.items.map((i) => i.id)).toEqual(
        before.slice(0, 2).map((i) => i.id),
      );
      expect(sweeper.output()).toMatch(/"invocationsOverCount":\d+.*"msg":"retention sweep"/);
    } finally {
      await sweeper.stop();
    }
  });
});
