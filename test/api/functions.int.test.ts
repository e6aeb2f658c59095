import { randomBytes } from 'node:crypto';
import { API_VERSION } from '../../constructs';
import { waitFor } from '../cluster/wait';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import {
  ApiProcess,
  metricsText,
  projectRequest,
  startApi,
  testStores,
  token,
} from './api-process';

jest.setTimeout(180_000);

/**
 * Functions through the API on the real control plane. Knative's controller is played by the
 * stand-in (dev/knative), which runs the real bootstrap on the code of the ConfigMap the API
 * created; everything else is the real path.
 */
const prefix = `f${randomBytes(2).toString('hex')}-`;
let api: ApiProcess;
let standIn: StandInProcess;
let headers: Record<string, string>;
const request = (method: string, path: string, body?: unknown) =>
  projectRequest(api, 'shop', headers, method, path, body);

const greet = (greeting: string, extra = {}) => ({
  apiVersion: API_VERSION,
  kind: 'Function',
  metadata: { name: 'greet', project: 'shop' },
  spec: {
    runtime: 'python3.12',
    code: [
      'def handler(event, context):',
      `    print("greeting", event.get("name"))`,
      '    if event.get("fail"):',
      '        raise ValueError("asked to fail")',
      `    return {"message": "${greeting}, " + event.get("name", "world")}`,
      '',
    ].join('\n'),
    ...extra,
  },
});

interface FunctionView {
  name: string;
  ready: boolean;
  reason?: string;
  message?: string;
  url?: string;
  latestReadyRevision?: string;
  latestCreatedRevision?: string;
  traffic: { revision?: string; latestRevision: boolean; tag?: string; percent: number }[];
  runtime: string;
  ephemeral: boolean;
}

async function waitUntilReady(name: string, revision: string): Promise<FunctionView> {
  let view: FunctionView | undefined;
  await waitFor(`function ${name} ready at ${revision}`, 60_000, async () => {
    const res = await request('GET', `/functions/${name}`);
    view = res.json as unknown as FunctionView;
    return res.status === 200 && view.ready && view.latestReadyRevision === revision;
  });
  return view as FunctionView;
}

async function invoke(name: string, body: unknown, query = '') {
  const res = await fetch(`${api.url}/api/v1/projects/shop/functions/${name}/invoke${query}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    headers: res.headers,
    json: (await res.json()) as Record<string, unknown>,
  };
}

beforeAll(async () => {
  standIn = await startStandIn(prefix);
  api = await startApi({
    ...(await testStores()[0].env()),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
  });
  headers = {
    authorization: `Bearer ${await token(['shop'])}`,
    'content-type': 'application/json',
  };
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await standIn?.stop();
});

test('a deployed Function becomes Ready with a URL, one revision and all traffic', async () => {
  const created = await request('POST', '/applications', greet('Hello'));
  expect(created.status).toBe(201);
  const view = await waitUntilReady('greet', 'greet-00001');
  expect(view).toMatchObject({
    name: 'greet',
    runtime: 'python3.12',
    ready: true,
    latestCreatedRevision: 'greet-00001',
    ephemeral: false,
    traffic: [{ revision: 'greet-00001', latestRevision: true, percent: 100 }],
  });
  expect(view.url).toMatch(/^http:\/\//);
  const list = await request('GET', '/functions');
  expect((list.json.items as FunctionView[]).map((f) => f.name)).toEqual(['greet']);
});

test('invoke proxies the request and returns the function’s status, headers and body', async () => {
  const ok = await invoke('greet', { name: 'Ada' });
  expect(ok.status).toBe(200);
  expect(ok.json).toEqual({ message: 'Hello, Ada' });
  expect(ok.headers.get('x-request-id')).toMatch(/^\w+/);
  const failed = await invoke('greet', { name: 'Ada', fail: true });
  expect(failed.status).toBe(500);
  expect(failed.json).toMatchObject({ error: { type: 'ValueError', message: 'asked to fail' } });
  const metrics = await metricsText(api);
  expect(metrics).toMatch(
    /hks_function_invocations_total\{project="shop",function="greet",outcome="success"\} [1-9]/,
  );
  expect(metrics).toMatch(
    /hks_function_invocations_total\{project="shop",function="greet",outcome="error"\} [1-9]/,
  );
  expect(metrics).toMatch(
    /hks_function_invocation_duration_seconds_count\{project="shop",function="greet"\} [2-9]/,
  );
});

test('logs come from the function’s pods, with since and tail', async () => {
  await waitFor('the handler’s print in the logs', 30_000, async () =>
    (await request('GET', '/functions/greet/logs')).text.includes('greeting Ada'),
  );
  const tail = await request('GET', '/functions/greet/logs?tail=1&since=1h');
  expect(tail.status).toBe(200);
  expect(tail.text.trim().split('\n')).toHaveLength(1);
  const bad = await request('GET', '/functions/greet/logs?since=yesterday&tail=0');
  expect(bad.status).toBe(400);
  expect((bad.json.errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
    'since',
    'tail',
  ]);
});

test('a new version becomes a second revision; traffic splits by percent and tag', async () => {
  const replaced = await request('PUT', '/applications/greet', greet('Bonjour'));
  expect(replaced.status).toBe(200);
  await waitUntilReady('greet', 'greet-00002');
  expect((await invoke('greet', { name: 'Ada' })).json).toEqual({ message: 'Bonjour, Ada' });

  const split = await request('PUT', '/functions/greet/traffic', {
    traffic: [
      { revision: 'greet-00001', percent: 50, tag: 'blue' },
      { revision: 'greet-00002', percent: 50, tag: 'green' },
    ],
  });
  expect(split.status).toBe(200);
  expect((split.json as unknown as FunctionView).traffic).toEqual([
    expect.objectContaining({ revision: 'greet-00001', percent: 50, tag: 'blue' }),
    expect.objectContaining({ revision: 'greet-00002', percent: 50, tag: 'green' }),
  ]);
  expect((await invoke('greet', { name: 'A' }, '?tag=blue')).json).toEqual({ message: 'Hello, A' });
  expect((await invoke('greet', { name: 'A' }, '?tag=green')).json).toEqual({
    message: 'Bonjour, A',
  });
  const seen = new Set<string>();
  for (let i = 0; i < 40 && seen.size < 2; i++)
    seen.add(String((await invoke('greet', { name: 'A' })).json.message));
  expect([...seen].sort()).toEqual(['Bonjour, A', 'Hello, A']);

  const revisions = await request('GET', '/functions/greet/revisions');
  expect(revisions.json.items).toEqual([
    expect.objectContaining({ name: 'greet-00001', ready: true, percent: 50, tags: ['blue'] }),
    expect.objectContaining({ name: 'greet-00002', ready: true, percent: 50, tags: ['green'] }),
  ]);

  // Re-applying the definition keeps the split: traffic has its own field manager.
  await request('PUT', '/applications/greet', greet('Bonjour', { env: { MODE: 'x' } }));
  await waitUntilReady('greet', 'greet-00003');
  const after = (await request('GET', '/functions/greet')).json as unknown as FunctionView;
  expect(after.traffic.map((t) => [t.revision, t.percent])).toEqual([
    ['greet-00001', 50],
    ['greet-00002', 50],
  ]);

  const back = await request('PUT', '/functions/greet/traffic', {
    traffic: [{ latestRevision: true, percent: 100 }],
  });
  expect((back.json as unknown as FunctionView).traffic).toEqual([
    expect.objectContaining({ revision: 'greet-00003', latestRevision: true, percent: 100 }),
  ]);
});

test('bad traffic splits are refused with the failing fields, and nothing changes', async () => {
  const before = (await request('GET', '/functions/greet')).json.traffic;
  const cases: [unknown, string[]][] = [
    [{ traffic: [{ revision: 'greet-00001', percent: 90 }] }, ['traffic']],
    [{ traffic: [{ revision: 'greet-09999', percent: 100 }] }, ['traffic[0].revision']],
    [{ traffic: [{ percent: 100 }] }, ['traffic[0]']],
    [
      {
        traffic: [
          { revision: 'greet-00001', percent: 50, tag: 'a' },
          { revision: 'greet-00002', percent: 50, tag: 'a' },
        ],
      },
      ['traffic[1].tag'],
    ],
    [{ traffic: [{ latestRevision: true, percent: 101 }] }, ['traffic[0].percent']],
    [{ traffic: [] }, ['traffic']],
  ];
  for (const [body, paths] of cases) {
    const res = await request('PUT', '/functions/greet/traffic', body);
    expect({ body, status: res.status }).toEqual({ body, status: 400 });
    expect((res.json.errors as { path: string }[]).map((e) => e.path)).toEqual(paths);
  }
  expect((await request('GET', '/functions/greet')).json.traffic).toEqual(before);
  const unknownTag = await invoke('greet', {}, '?tag=nope');
  expect(unknownTag.status).toBe(404);
});

test('source with a syntax error is refused with its line; nothing is applied', async () => {
  const broken = {
    ...greet('x'),
    metadata: { name: 'broken', project: 'shop' },
    spec: { runtime: 'python3.12', code: 'def handler(event, context):\n    return (1,\n' },
  };
  const res = await request('POST', '/applications', broken);
  expect(res.status).toBe(400);
  expect(res.json.errors).toEqual([
    {
      path: 'spec.code',
      message: expect.stringMatching(/SyntaxError: .*\(main\.py line [23]\)/),
      line: expect.any(Number),
    },
  ]);
  const node = await request('POST', '/applications', {
    ...broken,
    spec: { runtime: 'nodejs20', code: 'exports.handler = async (e) => {\n  return e +;\n};\n' },
  });
  expect(node.status).toBe(400);
  expect(String(node.json.detail)).toMatch(/SyntaxError: Unexpected token.*index\.js line 2/s);
  expect((await request('GET', '/functions/broken')).status).toBe(404);
  expect((await request('GET', '/applications/broken')).status).toBe(404);
});

test('a function that cannot start is not ready, with the reason; invoke answers 503', async () => {
  const bad = {
    ...greet('x'),
    metadata: { name: 'crashes', project: 'shop' },
    spec: {
      runtime: 'python3.12',
      code: 'import no_such_module\n\ndef handler(e, c):\n    return 1\n',
    },
  };
  expect((await request('POST', '/applications', bad)).status).toBe(201);
  let view: FunctionView | undefined;
  await waitFor('crashes to fail', 30_000, async () => {
    view = (await request('GET', '/functions/crashes')).json as unknown as FunctionView;
    return (
      view.reason !== undefined &&
      view.reason !== 'NoStatus' &&
      !view.ready &&
      view.message !== undefined &&
      /no_such_module/.test(view.message)
    );
  });
  expect(view?.ready).toBe(false);
  const res = await invoke('crashes', {});
  expect(res.status).toBe(503);
  expect(String(res.json.detail)).toContain('no_such_module');
});

test('unknown functions are 404; deleting the application removes the function', async () => {
  expect((await request('GET', '/functions/nope')).status).toBe(404);
  expect((await invoke('nope', {})).status).toBe(404);
  expect((await request('DELETE', '/applications/greet')).status).toBe(200);
  expect((await request('GET', '/functions/greet')).status).toBe(404);
});
