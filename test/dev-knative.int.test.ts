import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FunctionService, type FunctionServiceProps } from '../constructs';
import { type ActionFields, type StartedKnativeStandIn, startKnativeStandIn } from '../dev/knative';
import { kubeconfigPath } from './cluster/kubeconfig';
import { installKnativeServingCrds } from './cluster/knative';
import { kubectl, kubectlJson, kubectlOk } from './cluster/kubectl';
import { waitFor } from './cluster/wait';
import { projectChart, synth } from './support/manifests';

/**
 * The Knative stand-in (`npm run dev:knative`) on the real control plane: Functions
 * synthesized by the constructs and applied with server-side apply, into a namespace that
 * enforces Pod Security `restricted`, become ready revisions served through the router, with
 * their output in the pod log API.
 */
jest.setTimeout(120_000);

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}
interface Ksvc {
  metadata: { name: string; generation: number; uid: string };
  status?: {
    observedGeneration?: number;
    url?: string;
    address?: { url: string };
    latestCreatedRevisionName?: string;
    latestReadyRevisionName?: string;
    traffic?: { revisionName: string; percent: number; latestRevision: boolean; tag?: string }[];
    conditions?: Condition[];
  };
}

const prefix = `kn${randomBytes(2).toString('hex')}-`;
const namespace = `${prefix}fn`;
const actions: { action: string; fields: ActionFields }[] = [];
let standIn: StartedKnativeStandIn;

function manifests(name: string, props: FunctionServiceProps): object[] {
  const chart = projectChart('fn', namespace);
  new FunctionService(chart, name, props);
  // The Namespace first: everything else lives in it.
  return synth(chart).sort(
    (a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'),
  );
}

async function apply(name: string, props: FunctionServiceProps): Promise<void> {
  const list = { apiVersion: 'v1', kind: 'List', items: manifests(name, props) };
  await kubectlOk(
    ['apply', '--server-side', '--field-manager=hks-tests', '-f', '-'],
    JSON.stringify(list),
  );
}

const ksvc = (name: string) => kubectlJson<Ksvc>(['get', 'ksvc', name, '-n', namespace]);
const condition = (service: Ksvc, type: string) =>
  service.status?.conditions?.find((c) => c.type === type);

/**
 * Waits (one `kubectl wait`, a watch: polling would load the machine whose latency is measured)
 * until the Service passes `--for=<condition>`, then reads it.
 */
async function waitForService(name: string, wanted: string): Promise<Ksvc> {
  await kubectlOk(['wait', `--for=${wanted}`, '--timeout=45s', '-n', namespace, `ksvc/${name}`]);
  const service = await ksvc(name);
  expect(service.status?.observedGeneration).toBe(service.metadata.generation);
  return service;
}

async function invoke(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function startedPid(revision: string): number {
  const started = actions.find(
    (a) => a.action === 'process started' && a.fields.revision === revision,
  );
  return Number(started?.fields.pid);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const pythonAdd = (label: string) => `
def handler(event, context):
    print("python handler saw", event, flush=True)
    return {"sum": event["a"] + event["b"], "version": "${label}"}
`;

beforeAll(async () => {
  await installKnativeServingCrds();
  standIn = await startKnativeStandIn({
    kubeconfig: kubeconfigPath(),
    namespacePrefix: prefix,
    stateDir: mkdtempSync(join(tmpdir(), 'hks-knative-')),
    log: (action, fields) => actions.push({ action, fields }),
  });
}, 120_000);

afterAll(async () => {
  await standIn?.stop();
  const ready = actions.filter(
    (a) =>
      a.action === 'service status' &&
      a.fields.ready === 'True' &&
      a.fields.overheadMs !== undefined,
  );
  process.stdout.write(
    `dev:knative reaction, ms (watch event -> Ready status written; overhead = total - runtime start):\n${ready
      .map(
        ({ fields: f }) =>
          `  ${f.service}: total ${f.sinceEventMs}, event->spawn ${f.spawnMs}, runtime start ${f.runtimeStartMs}, healthy->status ${f.statusMs} (PATCH ${f.patchMs}${f.patchNewConnection ? ', new connection' : ''}), overhead ${f.overheadMs}`,
      )
      .join('\n')}\n${actions
      .filter((a) => a.action === 'process started')
      .map(({ fields: f }) => `  ${f.revision}: plan ${f.planMs}, spawn ${f.spawnMs}`)
      .join('\n')}\n`,
  );
  await kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
});

test('a python function becomes Ready with a URL, answers through it and logs to its pod', async () => {
  await apply('adder', { runtime: 'python3.12', code: pythonAdd('v1') });
  const service = await waitForService('adder', 'condition=Ready');

  const url = service.status?.url ?? '';
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(service.status?.address?.url).toBe(url);
  expect(service.status?.latestCreatedRevisionName).toBe('adder-00001');
  expect(service.status?.latestReadyRevisionName).toBe('adder-00001');
  expect(service.status?.traffic).toEqual([
    { revisionName: 'adder-00001', percent: 100, latestRevision: true },
  ]);
  for (const type of ['Ready', 'ConfigurationsReady', 'RoutesReady']) {
    expect(condition(service, type)).toMatchObject({ status: 'True' });
    expect(condition(service, type)?.lastTransitionTime).toMatch(/^\d{4}-\d\d-\d\dT/);
  }

  const revision = await kubectlJson<{
    metadata: { labels: Record<string, string>; ownerReferences: { kind: string; uid: string }[] };
    spec: { containers: { name: string }[] };
    status?: { conditions?: Condition[] };
  }>(['get', 'revisions.serving.knative.dev', 'adder-00001', '-n', namespace]);
  expect(revision.metadata.labels).toMatchObject({
    'serving.knative.dev/service': 'adder',
    'serving.knative.dev/configuration': 'adder',
    'serving.knative.dev/configurationGeneration': '1',
    'hks.hexabase.io/app': 'adder',
  });
  expect(revision.metadata.ownerReferences).toEqual([
    expect.objectContaining({ kind: 'Service', uid: service.metadata.uid }),
  ]);
  expect(revision.spec.containers[0].name).toBe('function');

  expect(await invoke(url, { a: 1, b: 2 })).toEqual({
    status: 200,
    body: { sum: 3, version: 'v1' },
  });

  // The pod stands for the process: admitted under Pod Security "restricted", on a fake node.
  const pods = await kubectlJson<{
    items: {
      metadata: { name: string; labels: Record<string, string> };
      spec: { nodeName?: string };
    }[];
  }>(['get', 'pods', '-n', namespace, '-l', 'serving.knative.dev/revision=adder-00001']);
  expect(pods.items).toHaveLength(1);
  const pod = pods.items[0];
  expect(pod.metadata.labels).toMatchObject({
    'serving.knative.dev/service': 'adder',
    'hks.hexabase.io/kind': 'Function',
  });
  await waitFor('kwok Logs object', 30_000, async () => {
    const logs = await kubectl(['logs', pod.metadata.name, '-n', namespace, '-c', 'function']);
    return logs.stdout.includes("python handler saw {'a': 1, 'b': 2}");
  });
  // The pod log API itself (what the API server's clients call).
  const log = await kubectlOk([
    'get',
    '--raw',
    `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/log?container=function`,
  ]);
  expect(log).toContain("python handler saw {'a': 1, 'b': 2}");
  expect(log).toContain('"message": "listening"');
});

test('a node function answers through its URL', async () => {
  await apply('greeter', {
    runtime: 'nodejs20',
    code: `exports.handler = async (event) => { console.log('node handler saw', event.name); return { hello: event.name }; };`,
  });
  const service = await waitForService('greeter', 'condition=Ready');
  expect(await invoke(service.status?.url ?? '', { name: 'Ann' })).toEqual({
    status: 200,
    body: { hello: 'Ann' },
  });
});

test('new code makes revision -00002; traffic splits 50/50 and tags select a revision', async () => {
  const before = await ksvc('adder');
  await apply('adder', { runtime: 'python3.12', code: pythonAdd('v2') });
  const updated = await waitForService(
    'adder',
    'jsonpath={.status.latestReadyRevisionName}=adder-00002',
  );
  expect(condition(updated, 'Ready')?.status).toBe('True');
  expect(updated.status?.url).toBe(before.status?.url);
  const url = updated.status?.url ?? '';
  expect((await invoke(url, { a: 2, b: 2 })).body).toEqual({ sum: 4, version: 'v2' });

  const traffic = [
    { revisionName: 'adder-00001', percent: 50, tag: 'old' },
    { latestRevision: true, percent: 50, tag: 'new' },
  ];
  await kubectlOk(
    ['apply', '--server-side', '--field-manager=hks-api-traffic', '-f', '-'],
    JSON.stringify({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 'adder', namespace },
      spec: { traffic },
    }),
  );
  const split = await waitForService('adder', 'jsonpath={.status.traffic[1].tag}=new');
  expect(split.status?.traffic).toEqual([
    { revisionName: 'adder-00001', percent: 50, latestRevision: false, tag: 'old' },
    { revisionName: 'adder-00002', percent: 50, latestRevision: true, tag: 'new' },
  ]);
  expect(condition(split, 'Ready')?.status).toBe('True');

  const versions: Record<string, number> = {};
  for (let i = 0; i < 60; i++) {
    const { body } = await invoke(url, { a: 1, b: 1 });
    versions[String(body.version)] = (versions[String(body.version)] ?? 0) + 1;
  }
  expect(versions.v1 + versions.v2).toBe(60);
  expect(versions.v1).toBeGreaterThan(10);
  expect(versions.v2).toBeGreaterThan(10);

  for (let i = 0; i < 5; i++) {
    const old = await invoke(url, { a: 1, b: 1 }, { 'Knative-Serving-Tag': 'old' });
    const latest = await invoke(url, { a: 1, b: 1 }, { 'Knative-Serving-Tag': 'new' });
    expect([old.body.version, latest.body.version]).toEqual(['v1', 'v2']);
  }
});

test('code that fails at start makes the Service Ready False with the error in the message', async () => {
  await apply('broken', {
    runtime: 'python3.12',
    code: 'raise RuntimeError("config missing: DATABASE_URL")\ndef handler(event, context):\n    return 1\n',
  });
  const service = await waitForService('broken', 'condition=Ready=false');
  const ready = condition(service, 'Ready');
  expect(ready?.reason).toBe('RevisionFailed');
  expect(ready?.message).toContain('Revision "broken-00001" failed');
  expect(ready?.message).toContain('config missing: DATABASE_URL');
  expect(condition(service, 'ConfigurationsReady')?.status).toBe('False');
  expect(service.status?.latestCreatedRevisionName).toBe('broken-00001');
  expect(service.status?.latestReadyRevisionName).toBeUndefined();

  await waitFor('Revision Ready False (ExitCode)', 30_000, async () => {
    const revision = await kubectlJson<{ status?: { conditions?: Condition[] } }>([
      'get',
      'revisions.serving.knative.dev',
      'broken-00001',
      '-n',
      namespace,
    ]);
    return (
      revision.status?.conditions?.some((c) => c.type === 'Ready' && c.reason === 'ExitCode') ??
      false
    );
  });
  // Its pod (for the logs) ends Failed with the process's exit code, as a crashing container's.
  await waitFor('pod Failed', 30_000, async () => {
    const pods = await kubectlJson<{
      items: {
        status?: {
          phase?: string;
          containerStatuses?: { state?: { terminated?: { exitCode: number } } }[];
        };
      }[];
    }>(['get', 'pods', '-n', namespace, '-l', 'serving.knative.dev/revision=broken-00001']);
    const status = pods.items[0]?.status;
    return (
      status?.phase === 'Failed' && status.containerStatuses?.[0]?.state?.terminated?.exitCode === 1
    );
  });
});

test('a Service applied before its ConfigMap starts once the ConfigMap arrives', async () => {
  const items = manifests('late', { runtime: 'python3.12', code: pythonAdd('late') }) as {
    kind: string;
  }[];
  const applyKinds = (kinds: string[]) =>
    kubectlOk(
      ['apply', '--server-side', '--field-manager=hks-tests', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: items.filter((o) => kinds.includes(o.kind)),
      }),
    );
  await applyKinds(['Service', 'ServiceAccount']);
  // The Revision is created once the start waits for its ConfigMap; nothing runs yet.
  const seen = (action: string) =>
    actions.some((a) => a.action === action && a.fields.revision === 'late-00001');
  await waitFor('the revision waiting for its ConfigMap', 30_000, async () =>
    seen('revision created'),
  );
  expect(seen('process started')).toBe(false);
  await applyKinds(['ConfigMap']);
  const service = await waitForService('late', 'condition=Ready');
  expect((await invoke(service.status?.url ?? '', { a: 2, b: 3 })).body).toEqual({
    sum: 5,
    version: 'late',
  });
});

test('an image function is reported as not supported by the stand-in', async () => {
  await apply('imaged', { runtime: 'image', image: 'ghcr.io/acme/thumbs:2' });
  const service = await waitForService('imaged', 'condition=Ready=false');
  expect(condition(service, 'Ready')?.reason).toBe('RevisionFailed');
  expect(condition(service, 'Ready')?.message).toContain('cannot run container images');
});

test('a process that dies turns its revision and Service Ready False', async () => {
  process.kill(startedPid('greeter-00001'), 'SIGKILL');
  const service = await waitForService('greeter', 'condition=Ready=false');
  expect(condition(service, 'Ready')).toMatchObject({ reason: 'RevisionFailed' });
  expect(condition(service, 'Ready')?.message).toContain('Container failed with signal SIGKILL');
  const res = await fetch(service.status?.url ?? '', { method: 'POST', body: '{}' });
  expect(res.status).toBe(503);
});

test('deleting the Service stops its processes, router and pods; its Revisions go with it', async () => {
  const service = await ksvc('adder');
  const pids = ['adder-00001', 'adder-00002'].map(startedPid);
  expect(pids.every(alive)).toBe(true);
  await kubectlOk(['delete', 'ksvc', 'adder', '-n', namespace, '--wait=false']);
  await waitFor('processes stopped', 30_000, async () => !pids.some(alive));
  await expect(fetch(service.status?.url ?? '')).rejects.toThrow();
  await waitFor('pods and Revisions deleted', 30_000, async () => {
    const left = await kubectlJson<{ items: unknown[] }>([
      'get',
      'pods,revisions.serving.knative.dev',
      '-n',
      namespace,
      '-l',
      'serving.knative.dev/service=adder',
    ]);
    return left.items.length === 0;
  });
});
