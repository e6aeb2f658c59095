import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { kubectlJson } from '../cluster/kubectl';
import { waitFor } from '../cluster/wait';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import {
  ApiProcess,
  internalToken,
  metricsText,
  startApi,
  testStores,
  token,
  TEST_JWT_SECRET,
} from './api-process';

jest.setTimeout(180_000);

/**
 * Execute-once and temporary functions for agents, on the real control plane with the
 * Knative stand-in playing the controller.
 */
const prefix = `o${randomBytes(2).toString('hex')}-`;
const namespace = `${prefix}lab`;
let api: ApiProcess;
let standIn: StandInProcess;
let storeEnv: Record<string, string>;
let internal: string;

interface ExecutionResult {
  id: string;
  status: string;
  result?: unknown;
  error?: { type: string; message: string; stack?: string };
  logs: string;
  durationMs: number;
  timings: Record<string, number>;
}

async function post(path: string, body: unknown, bearer = internal, target = api) {
  const res = await fetch(`${target.url}/internal/v1${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const execute = (body: unknown, bearer?: string) => post('/operations/execute', body, bearer);

/** Execute-once deletes its function right after answering. */
const noLeftovers = () =>
  waitFor(
    'the temporary functions to be deleted',
    30_000,
    async () => (await leftovers()).length === 0,
  );

/** Knative Services, ConfigMaps and ServiceAccounts left in the namespace by temporary functions. */
async function leftovers(): Promise<string[]> {
  const list = await kubectlJson<{ items: { kind: string; metadata: { name: string } }[] }>([
    'get',
    'services.serving.knative.dev,configmaps,serviceaccounts',
    '-n',
    namespace,
    '-l',
    'hks.hexabase.io/ephemeral=true',
    '-o',
    'json',
  ]);
  return list.items.map((o) => `${o.kind}/${o.metadata.name}`);
}

beforeAll(async () => {
  standIn = await startStandIn(prefix);
  storeEnv = await testStores()[0].env();
  // Its janitor stays off: the janitor test below must see its own API do the work.
  api = await startApi({
    ...storeEnv,
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
    HKS_JANITOR_INTERVAL_SECONDS: '0',
  });
  internal = await internalToken(['lab']);
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await standIn?.stop();
});

test('python: the result of the handler for the input, its prints as logs, and timings', async () => {
  const res = await execute({
    runtime: 'python3.12',
    code: 'def handler(event, context):\n    print("adding", event["a"], event["b"])\n    return {"sum": event["a"] + event["b"]}\n',
    input: { a: 2, b: 3 },
  });
  expect(res.status).toBe(200);
  const result = res.json as unknown as ExecutionResult;
  expect(result).toMatchObject({ status: 'succeeded', result: { sum: 5 } });
  expect(result.logs).toContain('adding 2 3');
  expect(result.logs).not.toContain('"message": "listening"');
  expect(Object.keys(result.timings).sort()).toEqual(
    ['check', 'deploy', 'invoke', 'logs', 'ready'].sort(),
  );
  expect(result.durationMs).toBeGreaterThanOrEqual(result.timings.ready);
  await noLeftovers();
});

test('node: any JSON input, multi-line handler, error returned as data with its stack', async () => {
  const ok = await execute({
    runtime: 'nodejs20',
    code: 'exports.handler = async (event) => {\n  console.log("got", event);\n  return event * 2;\n};\n',
    input: 21,
  });
  expect(ok.json).toMatchObject({ status: 'succeeded', result: 42 });
  expect(String(ok.json.logs)).toContain('got 21');
  const failed = await execute({
    runtime: 'nodejs20',
    code: 'exports.handler = async () => {\n  throw new TypeError("no good");\n};\n',
  });
  expect(failed.status).toBe(200);
  const result = failed.json as unknown as ExecutionResult;
  expect(result.status).toBe('failed');
  expect(result.error).toMatchObject({ type: 'TypeError', message: 'no good' });
  expect(result.error?.stack).toMatch(/TypeError: no good\n\s+at /);
  await noLeftovers();
});

test('logs: module-level output comes too; output past 8 KiB in the response is read from the pod', async () => {
  const code = (lines: number) =>
    `print("module loaded")\n\ndef handler(event, context):\n    for i in range(${lines}):\n        print("line %04d %s" % (i, "." * 60))\n    return i\n`;
  const small = (await execute({ runtime: 'python3.12', code: code(3) }))
    .json as unknown as ExecutionResult;
  expect(small.logs.split('\n').filter(Boolean)).toEqual([
    'module loaded',
    ...[0, 1, 2].map((i) => `line 000${i} ${'.'.repeat(60)}`),
  ]);
  // About 14 KiB: the bootstrap leaves it out of the response; the API reads the pod's logs.
  const large = (await execute({ runtime: 'python3.12', code: code(200) }))
    .json as unknown as ExecutionResult;
  expect(large).toMatchObject({ status: 'succeeded', result: 199 });
  expect(large.logs).toContain('module loaded');
  expect(large.logs).toContain(`line 0000 ${'.'.repeat(60)}`);
  expect(large.logs).toContain(`line 0199 ${'.'.repeat(60)}`);
  await noLeftovers();
});

test('a handler past its timeout ends as status timeout, and is deleted', async () => {
  const res = await execute({
    runtime: 'python3.12',
    code: 'import time\n\ndef handler(event, context):\n    time.sleep(5)\n    return 1\n',
    timeoutSeconds: 1,
  });
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ status: 'timeout', error: { type: 'Timeout' } });
  await noLeftovers();
});

test('a function that cannot start fails with the reason and its start-up output', async () => {
  const res = await execute({
    runtime: 'python3.12',
    code: 'import no_such_module\n\ndef handler(event, context):\n    return 1\n',
  });
  expect(res.status).toBe(200);
  const result = res.json as unknown as ExecutionResult;
  expect(result.status).toBe('failed');
  expect(`${result.error?.message}\n${result.logs}`).toContain('no_such_module');
  await noLeftovers();
});

test('code is checked before anything is deployed: syntax errors name the line', async () => {
  const python = await execute({
    runtime: 'python3.12',
    code: 'def handler(event, context):\n    return [1, 2\n',
  });
  expect(python.status).toBe(400);
  expect(python.json.errors).toEqual([
    { path: 'code', message: expect.stringMatching(/^SyntaxError: .*\(main\.py line 2\)\n/) },
  ]);
  const node = await execute({
    runtime: 'nodejs20',
    code: 'exports.handler = () => {\n  return 1 +;\n}\n',
  });
  expect(node.status).toBe(400);
  expect(String(node.json.detail)).toMatch(/index\.js line 2/);
  const tooBig = await execute({
    runtime: 'python3.12',
    code: `x = "${'a'.repeat(1024 * 1024)}"\n`,
  });
  expect(tooBig.status).toBe(400);
  expect(String(tooBig.json.detail)).toMatch(
    /^code: given 1 file\(s\) of \d+ bytes in all, expected at most 921600 bytes/,
  );
  const badFields = await execute({ runtime: 'ruby', code: '', timeoutSeconds: 0, extra: 1 });
  expect(badFields.status).toBe(400);
  expect((badFields.json.errors as { path: string }[]).map((e) => e.path).sort()).toEqual(
    ['code', 'extra', 'runtime', 'timeoutSeconds'].sort(),
  );
  await noLeftovers();
});

test('only internal tokens pass: user tokens get 403 here, internal tokens 403 on /api/v1', async () => {
  const code = { runtime: 'python3.12', code: 'def handler(e, c):\n    return 1\n' };
  const user = await execute(code, await token(['lab']));
  expect(user.status).toBe(403);
  expect(String(user.json.detail)).toContain('hks-internal');
  const onUserRoute = await fetch(`${api.url}/api/v1/projects/lab/functions`, {
    headers: { authorization: `Bearer ${internal}` },
  });
  expect(onUserRoute.status).toBe(403);
  const longLived = await new SignJWT({ projects: ['lab'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setAudience('hks-internal')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
  const tooLong = await execute(code, longLived);
  expect(tooLong.status).toBe(401);
  expect(String(tooLong.json.detail)).toContain('expected at most 600 s');
  const otherProject = await execute({ ...code, project: 'billing' });
  expect(otherProject.status).toBe(403);
  const several = await execute(code, await internalToken(['lab', 'billing']));
  expect(several.status).toBe(400);
  expect(several.json.errors).toEqual([
    { path: 'project', message: expect.stringContaining('missing') },
  ]);
  expect(
    (await fetch(`${api.url}/internal/v1/operations/execute`, { method: 'POST' })).status,
  ).toBe(401);
});

test('deploy-function: invoke many times by id, then delete', async () => {
  const deployed = await post('/operations/deploy-function', {
    runtime: 'nodejs20',
    files: {
      'index.js':
        'const { double } = require("./lib/math");\nexports.handler = async (n) => {\n  console.log("doubling", n);\n  return double(n);\n};\n',
      'lib/math.js': 'exports.double = (n) => n * 2;\n',
    },
    ttlSeconds: 300,
  });
  expect(deployed.status).toBe(201);
  expect(deployed.json).toMatchObject({ project: 'lab', ready: true });
  const id = String(deployed.json.id);
  for (const n of [1, 2, 3]) {
    const res = await post(`/operations/functions/${id}/invoke`, n);
    expect(res.json).toMatchObject({ id, status: 'succeeded', result: n * 2 });
    // Each invocation's own output, not the function's whole log.
    expect(String(res.json.logs).trim()).toBe(`doubling ${n}`);
  }
  const otherProject = await post(
    `/operations/functions/${id}/invoke`,
    1,
    await internalToken(['billing']),
  );
  expect(otherProject.status).toBe(403);
  const deleted = await fetch(`${api.url}/internal/v1/operations/functions/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${internal}` },
  });
  expect(deleted.status).toBe(204);
  expect((await post(`/operations/functions/${id}/invoke`, 1)).status).toBe(404);
  await noLeftovers();
  const bad = await post('/operations/deploy-function', { runtime: 'nodejs20', ttlSeconds: 5 });
  expect(bad.status).toBe(400);
  expect((bad.json.errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
    'code',
    'ttlSeconds',
  ]);
});

test('the janitor removes what an API killed mid-execution leaves behind', async () => {
  const env = {
    ...storeEnv,
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
    HKS_READY_TIMEOUT_SECONDS: '5',
    HKS_EPHEMERAL_GRACE_SECONDS: '0',
    HKS_JANITOR_INTERVAL_SECONDS: '0',
  };
  const doomed = await startApi(env);
  const running = post(
    '/operations/execute',
    {
      runtime: 'python3.12',
      code: 'import time\n\ndef handler(event, context):\n    time.sleep(30)\n',
      timeoutSeconds: 3,
    },
    internal,
    doomed,
  ).catch(() => 'killed');
  await waitFor(
    'the temporary function to be deployed',
    30_000,
    async () => (await leftovers()).length >= 3,
  );
  await doomed.stop('SIGKILL');
  expect(await running).toBe('killed');
  expect((await leftovers()).length).toBeGreaterThanOrEqual(3);

  // Expired after 5 s (ready) + 3 s (timeout) + 0 s grace; a new API's janitor cleans up.
  const janitor = await startApi({ ...env, HKS_JANITOR_INTERVAL_SECONDS: '1' });
  try {
    await waitFor(
      'the janitor to remove the leftovers',
      30_000,
      async () => (await leftovers()).length === 0,
    );
    const metrics = await metricsText(janitor);
    expect(metrics).toMatch(/hks_ephemeral_functions_expired_total [1-9]/);
  } finally {
    await janitor.stop();
  }
});
