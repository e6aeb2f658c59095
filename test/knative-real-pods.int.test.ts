import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION, FunctionService } from '../constructs';
import { consoleActionLog, type StartedKnativeStandIn, startKnativeStandIn } from '../dev/knative';
import { REAL_NODE_KEY } from '../dev/knative/real-pod-manifest';
import { ApiProcess, projectRequest, startApi, testStores, token } from './api/api-process';
import { kubeconfigPath } from './cluster/kubeconfig';
import { kubectl, kubectlJson, kubectlOk } from './cluster/kubectl';
import { realNodeKey, realNodeName } from './cluster/real-node-config';
import { describeOnRealNode, expectRealNodeReady } from './cluster/real-node-placement';
import { waitFor } from './cluster/wait';
import { projectChart, synth } from './support/manifests';

/**
 * The Knative stand-in's real-pod mode (`--real-pods`) on the test cluster's real node
 * (`HKS_CLUSTER_REAL_NODE=1 npm run cluster:up`): Functions deployed through the API run as
 * their revision's own pod on hks-node-0 — the bootstrap in the real runtime image, the source
 * ConfigMap mounted by the kubelet, Pod Security `restricted` enforced — and answer
 * invocations sent through the stand-in's router to the pod IP; their logs come from the
 * kubelet. Without HKS_CLUSTER_REAL_NODE=1 the suite is skipped; with it and no node it fails.
 */
jest.setTimeout(240_000);

const prefix = `rp${randomBytes(2).toString('hex')}-`;
const project = 'realpods';
const namespace = `${prefix}${project}`;
/** Idle time after which the stand-in deletes the pod of a revision with min-scale 0. */
const SCALE_TO_ZERO_AFTER_MS = 3_000;

interface Pod {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
    deletionTimestamp?: string;
  };
  spec: {
    nodeName?: string;
    nodeSelector?: Record<string, string>;
    containers: { name: string; image: string }[];
  };
  status?: { phase?: string; podIP?: string };
}

interface FunctionView {
  ready: boolean;
  failed: boolean;
  reason?: string;
  message?: string;
  latestReadyRevision?: string;
}

let api: ApiProcess;
let standIn: StartedKnativeStandIn;
let standInOutput = '';
/** Figures of the stand-in's log: pod start to healthy, request to healthy after scale to zero. */
const figures: string[] = [];
let headers: Record<string, string>;
const request = (method: string, path: string, body?: unknown) =>
  projectRequest(api, project, headers, method, path, body);

/** A Function definition; `minScale: 1` keeps its pod while the test reads its logs. */
function fn(name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: API_VERSION,
    kind: 'Function',
    metadata: { name, project },
    spec: { scaling: { minScale: 1 }, ...spec },
  };
}

const PYTHON = [
  'import os, platform',
  '',
  'def handler(event, context):',
  '    print("real python pod greets", event.get("name"))',
  '    return {"host": os.uname().nodename, "python": platform.python_version()}',
  '',
].join('\n');

const NODE = [
  "const os = require('node:os');",
  'exports.handler = async (event) => {',
  "  console.log('real node pod greets', event.name);",
  '  return { host: os.hostname(), node: process.version };',
  '};',
].join('\n');

async function deploy(definition: ReturnType<typeof fn>): Promise<void> {
  const res = await request('POST', '/applications', definition);
  expect(res.status).toBe(201);
}

/** The function's view once it is Ready (or, with `ready: false`, once it has failed). */
async function waitForFunction(name: string, ready = true): Promise<FunctionView> {
  let view: FunctionView | undefined;
  await waitFor(
    `function ${name} ${ready ? 'ready' : 'failed'}`,
    120_000,
    async () => {
      const res = await request('GET', `/functions/${name}`);
      view = res.json as unknown as FunctionView;
      return res.status === 200 && (ready ? view.ready : view.failed);
    },
    undefined,
    250,
  ).catch((error: unknown) => {
    throw new Error(
      `${String(error)}\nlast view: ${JSON.stringify(view)}\nstand-in:\n${standInOutput.slice(-4000)}`,
    );
  });
  return view as FunctionView;
}

async function invoke(name: string, body: unknown) {
  const res = await fetch(`${api.url}/api/v1/projects/${project}/functions/${name}/invoke`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** The function's pods, those being deleted too. */
async function allPodsOf(name: string): Promise<Pod[]> {
  const selector = `serving.knative.dev/service=${name}`;
  return (await kubectlJson<{ items: Pod[] }>(['get', 'pods', '-n', namespace, '-l', selector]))
    .items;
}

/** The function's pods not being deleted. */
async function podsOf(name: string): Promise<Pod[]> {
  return (await allPodsOf(name)).filter((p) => p.metadata.deletionTimestamp === undefined);
}

/** The pod that answered: named as the host the handler saw, running on the real node. */
async function expectAnsweredByRealPod(name: string, host: unknown): Promise<Pod> {
  const pods = await podsOf(name);
  expect(pods.map((p) => p.metadata.name)).toEqual([host]);
  const [pod] = pods;
  expect(pod.spec.nodeName).toBe(realNodeName);
  expect(pod.status?.phase).toBe('Running');
  expect(pod.status?.podIP).toMatch(/^10\.245\.0\.\d+$/);
  expect(pod.metadata.ownerReferences).toEqual([
    expect.objectContaining({ kind: 'Revision', name: `${name}-00001` }),
  ]);
  expect(pod.metadata.labels).toMatchObject({
    'serving.knative.dev/service': name,
    'serving.knative.dev/revision': `${name}-00001`,
    'dev.hks.hexabase.io/knative-stand-in': 'true',
  });
  return pod;
}

async function expectLogsContain(name: string, text: string): Promise<void> {
  await waitFor(`${text} in the logs of ${name}`, 30_000, async () => {
    const res = await request('GET', `/functions/${name}/logs`);
    return res.status === 200 && res.text.includes(text);
  });
}

describeOnRealNode('Knative stand-in: revisions as real pods on the real node', () => {
  beforeAll(async () => {
    // With HKS_CLUSTER_REAL_NODE=1 a missing or not Ready node fails the suite.
    await expectRealNodeReady();
    const plain = consoleActionLog('plain', (line) => (standInOutput += line));
    standIn = await startKnativeStandIn({
      kubeconfig: kubeconfigPath(),
      stateDir: mkdtempSync(join(tmpdir(), 'hks-knative-')),
      namespacePrefix: prefix,
      installCrds: true,
      realPods: true,
      readyTimeoutMs: 90_000,
      scaleToZeroAfterMs: SCALE_TO_ZERO_AFTER_MS,
      log: (action, fields) => {
        plain(action, fields);
        if (action === 'pod healthy' || action === 'revision cold start') {
          figures.push(`${fields.revision} ${action}: ${fields.startMs} ms`);
        }
      },
    });
    api = await startApi({
      ...(await testStores()[0].env()),
      HKS_NAMESPACE_PREFIX: prefix,
      HKS_RECORDER: 'off',
      HKS_READY_TIMEOUT_SECONDS: '120',
    });
    headers = {
      authorization: `Bearer ${await token([project])}`,
      'content-type': 'application/json',
    };
  }, 180_000);

  afterAll(async () => {
    await api?.stop();
    await standIn?.stop();
    if (figures.length > 0)
      console.log(`real pods, from the stand-in's log:\n  ${figures.join('\n  ')}`);
  });

  test('the stand-in selects the node the harness labels and taints', () => {
    expect(REAL_NODE_KEY).toBe(realNodeKey);
  });

  test('a python Function answers from its pod on the real node, with Python 3.12 of the image', async () => {
    await deploy(fn('rp-py', { runtime: 'python3.12', code: PYTHON }));
    expect(await waitForFunction('rp-py')).toMatchObject({
      ready: true,
      latestReadyRevision: 'rp-py-00001',
    });
    const answer = await invoke('rp-py', { name: 'Ada' });
    expect(answer.status).toBe(200);
    expect(answer.json.python).toMatch(/^3\.12\./);
    const pod = await expectAnsweredByRealPod('rp-py', answer.json.host);
    expect(pod.spec.containers[0]).toMatchObject({ name: 'function', image: 'python:3.12-slim' });
    await expectLogsContain('rp-py', 'real python pod greets Ada');
  });

  test('a node Function answers from its pod on the real node, with Node 20 of the image', async () => {
    await deploy(fn('rp-node', { runtime: 'nodejs20', code: NODE }));
    await waitForFunction('rp-node');
    const answer = await invoke('rp-node', { name: 'Grace' });
    expect(answer.status).toBe(200);
    expect(answer.json.node).toMatch(/^v20\./);
    const pod = await expectAnsweredByRealPod('rp-node', answer.json.host);
    expect(pod.spec.containers[0]).toMatchObject({ image: 'node:20-slim' });
    await expectLogsContain('rp-node', 'real node pod greets Grace');
  });

  test('a revision idle past the scale-to-zero time loses its pod; the next request starts a new one', async () => {
    await deploy(fn('rp-idle', { runtime: 'python3.12', code: PYTHON, scaling: { minScale: 0 } }));
    await waitForFunction('rp-idle');
    const first = await invoke('rp-idle', { name: 'one' });
    expect(first.status).toBe(200);
    await expectAnsweredByRealPod('rp-idle', first.json.host);
    await waitFor(
      'the idle revision’s pod gone',
      60_000,
      async () => (await allPodsOf('rp-idle')).length === 0,
    );
    // Still Ready and routed: the request waits while the stand-in starts a pod again.
    expect(await waitForFunction('rp-idle')).toMatchObject({ ready: true });
    const second = await invoke('rp-idle', { name: 'two' });
    expect(second.status).toBe(200);
    expect(second.json.host).not.toBe(first.json.host);
    await expectAnsweredByRealPod('rp-idle', second.json.host);
  });

  test('code that fails at start: its container’s exit and output are the Function’s message', async () => {
    await deploy(
      fn('rp-broken', {
        runtime: 'python3.12',
        code: 'raise RuntimeError("config missing: DATABASE_URL")\ndef handler(event, context):\n    return 1\n',
      }),
    );
    const view = await waitForFunction('rp-broken', false);
    expect(view.message).toContain('Revision "rp-broken-00001" failed');
    expect(view.message).toMatch(/Container failed with exit code [1-9]/);
    expect(view.message).toContain('config missing: DATABASE_URL');
    // Its pod stays, Failed, with the output in its log.
    let pods: Pod[] = [];
    await waitFor('the crashed pod Failed', 30_000, async () => {
      pods = await podsOf('rp-broken');
      return pods[0]?.status?.phase === 'Failed';
    }).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${JSON.stringify(pods, null, 1)}`);
    });
    expect(pods[0].spec.nodeName).toBe(realNodeName);
    await expectLogsContain('rp-broken', 'config missing: DATABASE_URL');
  });

  test('a container that exits after it served is reported as the Function’s failure', async () => {
    const code = [
      'import os',
      '',
      'def handler(event, context):',
      '    if event.get("crash"):',
      '        print("exiting on request", flush=True)',
      '        os._exit(3)',
      '    return {"host": os.uname().nodename}',
      '',
    ].join('\n');
    await deploy(fn('rp-crash', { runtime: 'python3.12', code }));
    await waitForFunction('rp-crash');
    const answer = await invoke('rp-crash', {});
    expect(answer.status).toBe(200);
    await expectAnsweredByRealPod('rp-crash', answer.json.host);
    const crashed = await invoke('rp-crash', { crash: true });
    expect(crashed.status).toBeGreaterThanOrEqual(500);
    const view = await waitForFunction('rp-crash', false);
    expect(view.message).toContain('Container failed with exit code 3');
    expect(view.message).toContain('exiting on request');
    // Not restarted: the pod ends Failed, as a local process stays exited.
    await waitFor('the crashed pod Failed', 30_000, async () =>
      (await podsOf('rp-crash')).some((p) => p.status?.phase === 'Failed'),
    );
  });

  test('an image the node cannot have: the kubelet’s reason is the Function’s message', async () => {
    await deploy(fn('rp-noimage', { runtime: 'image', image: 'hks.invalid/nothing:1' }));
    const view = await waitForFunction('rp-noimage', false);
    expect(view.message).toContain('Revision "rp-noimage-00001" failed');
    expect(view.message).toMatch(/ErrImagePull|ImagePullBackOff/);
    expect(view.message).toContain('hks.invalid/nothing:1');
    await waitFor(
      'the pod that could not start deleted',
      30_000,
      async () => (await allPodsOf('rp-noimage')).length === 0,
    );
  });

  test('a pod that does not start in time: its waiting reason and warnings, then it is deleted', async () => {
    // A stand-in of its own, with a short start timeout, for a namespace of its own.
    const latePrefix = `rq${randomBytes(2).toString('hex')}-`;
    const lateNamespace = `${latePrefix}late`;
    const late = await startKnativeStandIn({
      kubeconfig: kubeconfigPath(),
      stateDir: mkdtempSync(join(tmpdir(), 'hks-knative-')),
      namespacePrefix: latePrefix,
      realPods: true,
      readyTimeoutMs: 8_000,
    });
    try {
      const chart = projectChart('late', lateNamespace);
      new FunctionService(chart, 'nomap', { runtime: 'python3.12', code: PYTHON });
      // Everything but the source ConfigMap: the kubelet cannot mount the pod's volumes.
      const objects = synth(chart)
        .filter((o) => o.kind !== 'ConfigMap')
        .sort((a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'));
      await kubectlOk(
        ['apply', '--server-side', '--field-manager=hks-tests', '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
      );
      let ready: { reason?: string; message?: string } | undefined;
      await waitFor('Revision nomap-00001 failed', 60_000, async () => {
        const revision = await kubectlJson<{
          status?: { conditions?: { type: string; status: string; reason?: string }[] };
        }>(['get', 'revisions.serving.knative.dev', 'nomap-00001', '-n', lateNamespace]);
        ready = revision.status?.conditions?.find(
          (c) => c.type === 'Ready' && c.status === 'False',
        );
        return ready !== undefined;
      });
      expect(ready?.reason).toBe('ProgressDeadlineExceeded');
      expect(ready?.message).toMatch(
        /^Pod nomap-00001-deployment-\w+ did not start within 8000 ms/,
      );
      expect(ready?.message).toContain('ContainerCreating');
      expect(ready?.message).toMatch(/FailedMount: .*configmap "nomap-\w+" not found/);
      expect(ready?.message).toContain('it was deleted');
      const pods = await kubectlJson<{ items: Pod[] }>([
        'get',
        'pods',
        '-n',
        lateNamespace,
        '-l',
        'serving.knative.dev/service=nomap',
      ]);
      expect(pods.items.filter((p) => p.metadata.deletionTimestamp === undefined)).toEqual([]);
    } finally {
      await late.stop();
      await kubectl(['delete', 'namespace', lateNamespace, '--wait=false']);
    }
  });

  test('deleting the Function deletes its pod', async () => {
    const [before] = await podsOf('rp-node');
    expect(before.spec.nodeName).toBe(realNodeName);
    const res = await request('DELETE', '/applications/rp-node');
    expect(res.status).toBe(200);
    await waitFor(
      'the deleted function’s pod gone',
      60_000,
      async () => (await allPodsOf('rp-node')).length === 0,
    );
  });
});
