import { randomBytes } from 'node:crypto';
import { API_VERSION, CronJobDefinition, FunctionDefinition } from '../constructs';
import { startKnativeStandIn, StartedKnativeStandIn } from '../dev/knative';
import { HksApiError, HksClient, FunctionView } from '../sdk/typescript';
import { ApiProcess, internalToken, startApi, testStores, token } from './api/api-process';
import { kubeconfigPath } from './cluster/kubeconfig';
import { waitFor } from './cluster/wait';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

jest.setTimeout(240_000);

/** The TypeScript SDK against the real API process, with the Knative stand-in. */
const prefix = `s${randomBytes(2).toString('hex')}-`;
let api: ApiProcess;
let standIn: StartedKnativeStandIn;
let hks: HksClient;
let internal: HksClient;

const greet = (greeting: string): FunctionDefinition => ({
  apiVersion: API_VERSION,
  kind: 'Function',
  metadata: { name: 'greet', project: 'shop' },
  spec: {
    runtime: 'nodejs20',
    code: `exports.handler = async (event) => { console.log('greeting', event.name); return { message: '${greeting}, ' + event.name }; };\n`,
  },
});

const job: CronJobDefinition = {
  apiVersion: API_VERSION,
  kind: 'CronJob',
  metadata: { name: 'report', project: 'shop' },
  spec: { image: 'ghcr.io/acme/report:1', schedule: '0 3 1 1 *' },
};

beforeAll(async () => {
  standIn = await startKnativeStandIn({
    installCrds: true,
    kubeconfig: kubeconfigPath(),
    namespacePrefix: prefix,
    stateDir: mkdtempSync(join(tmpdir(), 'hks-sdk-knative-')),
  });
  api = await startApi({ ...(await testStores()[0].env()), HKS_NAMESPACE_PREFIX: prefix });
  hks = new HksClient({ apiUrl: api.url, token: await token(['shop'], undefined, '30m') });
  internal = new HksClient({ apiUrl: api.url, token: await internalToken(['shop'], '10m') });
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await standIn?.stop();
});

test('applications: dry run, create, get, list, manifests, a 409 on a second create', async () => {
  const dry = await hks.applications.dryRun(greet('Hello'));
  expect(dry.manifests.map((m) => m.kind)).toContain('Service');
  const created = await hks.applications.create(greet('Hello'));
  expect(created).toMatchObject({ name: 'greet', kind: 'Function', version: 1 });
  expect((await hks.applications.get('shop', 'greet')).definition.kind).toBe('Function');
  expect((await hks.applications.list('shop')).map((a) => a.name)).toEqual(['greet']);
  expect(await hks.applications.manifests('shop')).toContain('name: greet');
  const conflict = await hks.applications.create(greet('Hello')).catch((e: unknown) => e);
  expect(conflict).toBeInstanceOf(HksApiError);
  expect((conflict as HksApiError).status).toBe(409);
});

test('functions: ready, invoke, logs, revisions, traffic', async () => {
  const progress: FunctionView[] = [];
  const ready = await hks.functions.waitUntilReady('shop', 'greet', {
    intervalMs: 200,
    onProgress: (v) => progress.push(v),
  });
  expect(ready).toMatchObject({ name: 'greet', ready: true, latestReadyRevision: 'greet-00001' });
  expect(progress.length).toBeGreaterThan(0);
  expect((await hks.functions.list('shop')).map((f) => f.name)).toEqual(['greet']);
  expect(await hks.functions.invoke('shop', 'greet', { name: 'Ada' })).toEqual({
    message: 'Hello, Ada',
  });

  await waitFor('the invocation in the logs', 30_000, async () =>
    (await hks.functions.logs('shop', 'greet', { since: '5m' })).includes('greeting Ada'),
  );
  const abort = new AbortController();
  const seen: string[] = [];
  const following = (async () => {
    for await (const line of hks.functions.followLogs('shop', 'greet', { signal: abort.signal })) {
      seen.push(line);
      if (line.includes('greeting Dee')) abort.abort();
    }
  })();
  await waitFor('following to start', 10_000, async () => seen.length > 0);
  await hks.functions.invoke('shop', 'greet', { name: 'Dee' });
  const stopper = setTimeout(() => abort.abort(), 30_000); // a failure, not a hang
  await following;
  clearTimeout(stopper);
  expect(seen.some((l) => l.includes('greeting Dee'))).toBe(true);

  await hks.applications.replace(greet('Hi'));
  const second = await hks.functions.waitUntilReady('shop', 'greet', { intervalMs: 200 });
  expect(second.latestReadyRevision).toBe('greet-00002');
  const split = await hks.functions.setTraffic('shop', 'greet', [
    { revision: 'greet-00001', percent: 0, tag: 'old' },
    { latestRevision: true, percent: 100 },
  ]);
  expect(split.traffic).toEqual(
    expect.arrayContaining([expect.objectContaining({ revision: 'greet-00001', tag: 'old' })]),
  );
  expect(await hks.functions.invoke('shop', 'greet', { name: 'Bo' }, { tag: 'old' })).toEqual({
    message: 'Hello, Bo',
  });
  const raw = await hks.functions.invokeRaw('shop', 'greet', {
    body: '{"name": "Cy"}',
    contentType: 'application/json',
  });
  expect(raw).toMatchObject({ status: 200, requestId: expect.any(String) });
  expect(JSON.parse(raw.text)).toEqual({ message: 'Hi, Cy' });
  expect(raw.logs).toBeUndefined();
  const withLogs = await hks.functions.invokeRaw('shop', 'greet', {
    body: '{"name": "Di"}',
    contentType: 'application/json',
    logs: true,
  });
  expect(withLogs.logs?.split('\n').filter((l) => l.includes('greeting'))).toEqual(['greeting Di']);
  expect(withLogs.invocation).toMatchObject({
    message: 'invocation',
    requestId: withLogs.requestId,
    status: 200,
  });
  const revisions = await hks.functions.revisions('shop', 'greet');
  expect(revisions.map((r) => [r.name, r.tags])).toEqual([
    ['greet-00001', ['old']],
    ['greet-00002', []],
  ]);

  const missing = await hks.functions.get('shop', 'ghost').catch((e: unknown) => e);
  expect(missing).toMatchObject({ status: 404, problem: { title: 'Not found' } });
  await hks.applications.delete('shop', 'greet');
});

test('cronJobs: list, get, schedule, suspend, resume, trigger, executions, logs', async () => {
  await hks.applications.create(job);
  expect(await hks.cronJobs.list('shop')).toEqual([
    expect.objectContaining({ name: 'report', schedule: '0 3 1 1 *', suspended: false }),
  ]);
  const changed = await hks.cronJobs.setSchedule('shop', 'report', {
    schedule: '@daily',
    timeZone: 'Asia/Tokyo',
  });
  expect(changed.definition.spec).toMatchObject({ schedule: '@daily', timeZone: 'Asia/Tokyo' });
  expect((await hks.cronJobs.suspend('shop', 'report')).definition.spec.suspend).toBe(true);
  expect((await hks.cronJobs.get('shop', 'report')).status.suspended).toBe(true);
  await hks.cronJobs.resume('shop', 'report');
  const bad = await hks.cronJobs
    .setSchedule('shop', 'report', { schedule: '0 0 3 * * *' })
    .catch((e: unknown) => e);
  expect(bad).toBeInstanceOf(HksApiError);
  expect((bad as HksApiError).errors[0]).toMatchObject({
    path: expect.stringContaining('schedule'),
  });

  const runs = [
    await hks.cronJobs.trigger('shop', 'report'),
    await hks.cronJobs.trigger('shop', 'report'),
  ];
  await waitFor('both runs to finish', 120_000, async () => {
    const page = await hks.cronJobs.executions('shop', 'report', { limit: 10 });
    return runs.every((r) => page.items.some((e) => e.id === r.id && e.status !== 'running'));
  });
  const all: string[] = [];
  for await (const e of hks.cronJobs.allExecutions('shop', 'report', { limit: 1 })) all.push(e.id);
  expect(all.sort()).toEqual(runs.map((r) => r.id).sort());
  const one = await hks.cronJobs.execution('shop', 'report', runs[0].id);
  expect(one).toMatchObject({ id: runs[0].id, trigger: 'manual', status: 'succeeded' });
  expect(typeof (await hks.cronJobs.logs('shop', 'report', runs[0].id))).toBe('string');
  const followed: string[] = [];
  for await (const line of hks.cronJobs.followLogs('shop', 'report', runs[0].id))
    followed.push(line);
  expect(followed.join('\n')).toBe(
    (await hks.cronJobs.logs('shop', 'report', runs[0].id)).replace(/\n$/, ''),
  );
});

test('operations: execute, deploy-function, invoke, delete; user tokens get 403', async () => {
  const done = await internal.operations.execute({
    runtime: 'python3.12',
    code: 'def handler(event, context):\n    print("adding")\n    return event["a"] + event["b"]\n',
    input: { a: 2, b: 3 },
  });
  expect(done).toMatchObject({ status: 'succeeded', result: 5 });
  expect(done.logs).toContain('adding');
  const failed = await internal.operations.execute({
    runtime: 'nodejs20',
    code: "exports.handler = async () => { throw new RangeError('too far'); };\n",
  });
  expect(failed).toMatchObject({
    status: 'failed',
    error: { type: 'RangeError', message: 'too far' },
  });
  const syntax = await internal.operations
    .execute({ runtime: 'python3.12', code: 'def handler(event, context)\n    return 1\n' })
    .catch((e: unknown) => e);
  expect(syntax).toBeInstanceOf(HksApiError);
  expect((syntax as HksApiError).errors[0]?.path).toBe('code');

  const deployed = await internal.operations.deployFunction({
    runtime: 'nodejs20',
    code: 'exports.handler = async (event) => ({ twice: event.n * 2 });\n',
    ttlSeconds: 120,
  });
  expect(deployed).toMatchObject({ project: 'shop', ready: true });
  expect(await internal.operations.invokeFunction(deployed.id, { n: 21 })).toMatchObject({
    status: 'succeeded',
    result: { twice: 42 },
  });
  await internal.operations.deleteFunction(deployed.id);
  const gone = await internal.operations.deleteFunction(deployed.id).catch((e: unknown) => e);
  expect(gone).toMatchObject({ status: 404 });

  const refused = await hks.operations
    .execute({ runtime: 'python3.12', code: 'def handler(e, c):\n    return 1\n' })
    .catch((e: unknown) => e);
  expect(refused).toMatchObject({ status: 403 });
});
