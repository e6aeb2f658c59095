import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { LABELS, MANAGER } from '../../constructs';
import { type StartedKnativeStandIn, startKnativeStandIn } from '../../dev/knative';
import { kubeconfigPath } from '../cluster/kubeconfig';
import { kubectl, kubectlJson, kubectlOk } from '../cluster/kubectl';
import { restrictedPodSecurity } from '../cluster/namespace';
import { realNodeName } from '../cluster/real-node-config';
import {
  describeOnRealNode,
  expectRealNodeReady,
  realNodeNamespaceAnnotations,
} from '../cluster/real-node-placement';
import { poolSecret } from '../../api/warm-pool-objects';
import { TEST_API_IDENTITY, testApiKubeconfig } from '../support/api-identity';
import { ApiProcess, internalToken, metricsText, startApi, testStores } from './api-process';

jest.setTimeout(300_000);

/**
 * Warm pools as one Deployment per project and runtime (`HKS_WARM_POOL_MODE=deployment`) on
 * the test cluster's real node: the pool's pods really run the runtimes' bootstraps (kubelet,
 * containerd, the python and node images), two API replicas claim them by a label change, an
 * execute runs on the claimed pod's IP and the pod is deleted; the ReplicaSet refills the pool.
 *
 * What this set-up cannot show: the NetworkPolicy's effect (its network plugin enforces none;
 * the test checks the policy object) and pods on several nodes.
 */
const prefix = `wd${randomBytes(2).toString('hex')}-`;
const project = 'pooldep';
const namespace = `${prefix}${project}`;
const KEY = randomBytes(32).toString('hex');
const STATE = 'hks.hexabase.io/warm-pool-state';
const DEPLOYMENT = { 'python3.12': 'hks-warm-python312', nodejs20: 'hks-warm-nodejs20' } as const;
const SIZE = 2;

let replicas: ApiProcess[] = [];
let standIn: StartedKnativeStandIn;
let internal: string;

interface Pod {
  metadata: {
    name: string;
    labels: Record<string, string>;
    deletionTimestamp?: string;
    ownerReferences?: { kind: string; name: string }[];
  };
  spec: {
    nodeName?: string;
    containers: {
      image: string;
      env?: { name: string; value?: string; valueFrom?: unknown }[];
      securityContext?: Record<string, unknown>;
    }[];
  };
  status?: { podIP?: string; conditions?: { type: string; status: string }[] };
}

interface Result {
  id: string;
  status: string;
  pool?: boolean;
  result?: unknown;
  stdout: string;
  stopped?: boolean;
  error?: { type: string };
}

async function execute(
  body: Record<string, unknown>,
  api = replicas[0],
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${api.url}/internal/v1/operations/execute`, {
    method: 'POST',
    headers: { authorization: `Bearer ${internal}`, 'content-type': 'application/json' },
    body: JSON.stringify({ project, ...body }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function executed(body: Record<string, unknown>, api = replicas[0]): Promise<Result> {
  const res = await execute(body, api);
  expect({ status: res.status, detail: res.body.detail }).toEqual({ status: 200 });
  return res.body as unknown as Result;
}

async function poolPods(runtime: keyof typeof DEPLOYMENT): Promise<Pod[]> {
  const selector = `hks.hexabase.io/warm-pool=${runtime},${STATE}`;
  const list = await kubectlJson<{ items: Pod[] }>([
    'get',
    'pods',
    '-n',
    namespace,
    '-l',
    selector,
  ]);
  return list.items;
}

const isReady = (pod: Pod) =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** Names of the pool's idle, ready pods, once there are `SIZE` of them. */
async function fullPool(runtime: keyof typeof DEPLOYMENT): Promise<string[]> {
  let seen: Pod[] = [];
  for (const end = Date.now() + 180_000; Date.now() < end;) {
    seen = await poolPods(runtime);
    const idle = seen.filter(
      (p) => p.metadata.labels[STATE] === 'idle' && !p.metadata.deletionTimestamp && isReady(p),
    );
    if (idle.length === SIZE) return idle.map((p) => p.metadata.name).sort();
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const events = await kubectl(['get', 'events', '-n', namespace, '--sort-by=.lastTimestamp']);
  throw new Error(
    `the ${runtime} pool did not have ${SIZE} idle ready pods; pods: ${JSON.stringify(
      seen.map((p) => [p.metadata.name, p.metadata.labels[STATE], p.status]),
    )}\nevents:\n${events.stdout.slice(-3000)}\nAPI:\n${replicas[0]?.output().slice(-3000)}`,
  );
}

async function gone(name: string): Promise<boolean> {
  for (const end = Date.now() + 30_000; Date.now() < end;) {
    if ((await kubectl(['get', 'pod', name, '-n', namespace])).code !== 0) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

const CODE = {
  'python3.12': {
    writer:
      'counter = 41\ndef handler(event):\n    global counter\n    counter += 1\n    import builtins\n    builtins.leaked = "yes"\n    with open("/tmp/notes.txt", "w") as f:\n        f.write(event["note"])\n    return counter\n',
    reader:
      'import os, builtins, socket\ndef handler(event, context):\n    return {"notes": os.path.exists("/tmp/notes.txt"), "leaked": getattr(builtins, "leaked", None), "host": socket.gethostname()}\n',
    spin: 'def handler(event):\n    while True:\n        pass\n',
    bad: 'def handler(a, b, c):\n    return 1\n',
  },
  nodejs20: {
    writer:
      "let counter = 41;\nexports.handler = (event) => {\n  counter += 1;\n  globalThis.leaked = 'yes';\n  require('node:fs').writeFileSync('/tmp/notes.txt', event.note);\n  return counter;\n};\n",
    reader:
      "exports.handler = async () => ({ notes: require('node:fs').existsSync('/tmp/notes.txt'), leaked: globalThis.leaked ?? null, host: require('node:os').hostname() });\n",
    spin: 'exports.handler = () => { for (;;) {} };\n',
    bad: 'exports.handler = (a, b, c) => 1;\n',
  },
} as const;

describeOnRealNode('warm pool as a Deployment per project and runtime, on the real node', () => {
  beforeAll(async () => {
    await expectRealNodeReady();
    // The project's namespace exists before the API applies its pools, annotated so that its
    // pods land on the real node (PodNodeSelector, PodTolerationRestriction).
    const ns = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: namespace,
        labels: {
          [LABELS.managedBy]: MANAGER,
          [LABELS.project]: project,
          ...restrictedPodSecurity,
        },
        annotations: realNodeNamespaceAnnotations,
      },
    };
    await kubectlOk(['create', '-f', '-'], stringify(ns));
    standIn = await startKnativeStandIn({
      kubeconfig: kubeconfigPath(),
      stateDir: mkdtempSync(join(tmpdir(), 'hks-knative-')),
      namespacePrefix: prefix,
      installCrds: true,
      realPods: true,
      readyTimeoutMs: 90_000,
      log: () => undefined,
    });
    const env = {
      HKS_NAMESPACE_PREFIX: prefix,
      HKS_RECORDER: 'off',
      HKS_JANITOR_INTERVAL_SECONDS: '0',
      HKS_READY_TIMEOUT_SECONDS: '120',
      HKS_WARM_POOL_MODE: 'deployment',
      HKS_WARM_POOL_KEY: KEY,
      HKS_WARM_POOL_PROJECTS: `${project}=${SIZE}`,
    };
    const store = await testStores()[0].env();
    // Two replicas share the pools: any can claim any pod.
    replicas = await Promise.all([startApi({ ...store, ...env }), startApi({ ...store, ...env })]);
    internal = await internalToken([project]);
  }, 240_000);

  afterAll(async () => {
    if (process.env.HKS_TEST_SHOW_API_LOG) console.log(replicas[0]?.output());
    await Promise.all(replicas.map((r) => r.stop()));
    await standIn?.stop();
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  describe.each(['python3.12', 'nodejs20'] as const)('%s', (runtime) => {
    it('keeps a Deployment of restricted pods on the real node, waiting in one-execution session mode', async () => {
      await fullPool(runtime);
      const deployment = await kubectlJson<{
        spec: { replicas: number; selector: { matchLabels: Record<string, string> } };
      }>(['get', 'deployment', DEPLOYMENT[runtime], '-n', namespace, '-o', 'json']);
      expect(deployment.spec.replicas).toBe(SIZE);
      expect(deployment.spec.selector.matchLabels).toMatchObject({ [STATE]: 'idle' });
      const [pod] = await poolPods(runtime);
      expect(pod.spec.nodeName).toBe(realNodeName);
      const [container] = pod.spec.containers;
      expect(container.image).toBe(runtime === 'nodejs20' ? 'node:20-slim' : 'python:3.12-slim');
      expect(container.securityContext).toMatchObject({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
      });
      const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e]));
      expect(env.HKS_RUNTIME_MODE?.value).toBe('session');
      expect(env.HKS_SESSION_ONCE?.value).toBe('1');
      // The secret is never a literal of the manifest.
      expect(env.HKS_SESSION_SECRET?.value).toBeUndefined();
      expect(env.HKS_SESSION_SECRET?.valueFrom).toMatchObject({ secretKeyRef: { key: 'secret' } });
      const policy = await kubectlJson<{ spec: Record<string, unknown> }>([
        'get',
        'networkpolicy',
        DEPLOYMENT[runtime],
        '-n',
        namespace,
        '-o',
        'json',
      ]);
      expect(policy.spec).toMatchObject({
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              {
                namespaceSelector: {
                  matchLabels: { 'kubernetes.io/metadata.name': TEST_API_IDENTITY.namespace },
                },
                podSelector: { matchLabels: { 'app.kubernetes.io/name': 'hks-api' } },
              },
            ],
            ports: [{ port: 8080, protocol: 'TCP' }],
          },
        ],
      });
    });

    it('serves an execute from an idle pod, deletes the pod and its ReplicaSet refills the pool', async () => {
      const before = await fullPool(runtime);
      const run = await executed({ runtime, code: CODE[runtime].reader });
      expect(run).toMatchObject({
        status: 'succeeded',
        pool: true,
        result: { notes: false, leaked: null },
      });
      // The pod that answered was one of the idle ones, and it is gone after its one execution.
      expect(before).toContain(run.id);
      expect((run.result as { host: string }).host).toBe(run.id);
      expect(await gone(run.id)).toBe(true);
      const after = await fullPool(runtime);
      expect(after).not.toContain(run.id);
      expect(after.filter((name) => !before.includes(name))).toHaveLength(1);
    });

    it('one execution leaves nothing for the next: a file and a global written are not seen', async () => {
      await fullPool(runtime);
      const writer = await executed({ runtime, code: CODE[runtime].writer, input: { note: 'x' } });
      expect(writer).toMatchObject({ status: 'succeeded', pool: true, result: 42 });
      const reader = await executed({ runtime, code: CODE[runtime].reader }, replicas[1]);
      expect(reader).toMatchObject({ pool: true, result: { notes: false, leaked: null } });
      expect(reader.id).not.toBe(writer.id);
    });

    it('bad input is a 400 and claims no pod', async () => {
      const before = await fullPool(runtime);
      const res = await execute({ runtime, code: CODE[runtime].bad });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toMatch(/handler/);
      const pods = (await poolPods(runtime)).map((p) => p.metadata.name).sort();
      expect(pods).toEqual(before);
    });

    it('a pod reached without the pool’s secret runs nothing (403)', async () => {
      await fullPool(runtime);
      const [pod] = (await poolPods(runtime)).filter((p) => p.metadata.labels[STATE] === 'idle');
      const res = await fetch(`http://${pod.status?.podIP}:8080/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hks-files': 'envelope' },
        body: JSON.stringify({ code: CODE[runtime].writer, event: { note: 'x' } }),
      });
      expect(res.status).toBe(403);
    });

    it('a timed-out execute is answered stopped, its pod deleted and awaited', async () => {
      await fullPool(runtime);
      const run = await executed({ runtime, code: CODE[runtime].spin, timeoutSeconds: 1 });
      expect(run).toMatchObject({ status: 'timeout', pool: true, stopped: true });
      expect((await kubectl(['get', 'pod', run.id, '-n', namespace])).code).not.toBe(0);
    });
  });

  it('a pod someone else used (its code read the secret) never serves an execute: it is deleted and the execute deploys', async () => {
    const runtime = 'python3.12';
    const idle = await fullPool(runtime);
    const { value } = poolSecret(KEY, namespace, DEPLOYMENT[runtime]);
    const pods = (await poolPods(runtime)).filter((p) => idle.includes(p.metadata.name));
    // Every idle pod gets one call with the pool's secret, as code that read it could send.
    for (const pod of pods) {
      const res = await fetch(`http://${pod.status?.podIP}:8080/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-hks-files': 'envelope',
          'x-hks-session-secret': value,
        },
        body: JSON.stringify({
          code: CODE[runtime].writer,
          handler: 'main.handler',
          event: { note: 'planted' },
        }),
      });
      expect(res.status).not.toBe(403);
    }
    const run = await executed({ runtime, code: CODE[runtime].reader });
    expect(run.status).toBe('succeeded');
    expect(run.pool).toBeUndefined();
    expect(idle).not.toContain(run.id);
    expect(run.result).toMatchObject({ notes: false, leaked: null });
    // The used pod it claimed first is gone.
    const left = (await poolPods(runtime)).map((p) => p.metadata.name);
    expect(idle.filter((name) => !left.includes(name)).length).toBeGreaterThanOrEqual(1);
    expect(replicas[0].output()).toMatch(/had run an execution already/);
    // The other used pods would each cost a later execute its claim: gone before the next test.
    const used = idle.filter((name) => left.includes(name));
    if (used.length > 0)
      await kubectlOk(['delete', 'pod', '-n', namespace, '--wait=false', ...used]);
  });

  it('concurrent executes through two replicas: each pod serves at most one, the rest deploy', async () => {
    const runtime = 'python3.12';
    const idle = await fullPool(runtime);
    const runs = await Promise.all(
      [0, 1, 0, 1].map((i) => executed({ runtime, code: CODE[runtime].reader }, replicas[i])),
    );
    const served = runs.filter((r) => r.pool === true);
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
    expect(served.length).toBeGreaterThanOrEqual(1);
    expect(served.length).toBeLessThanOrEqual(SIZE);
    // No pod claimed twice: distinct, and each one of the idle pods.
    expect(new Set(served.map((r) => r.id)).size).toBe(served.length);
    for (const run of served) expect(idle).toContain(run.id);
    const misses = await metricsText(replicas[0]).then((text) =>
      text.split('\n').filter((l) => l.startsWith('hks_warm_pool_executions_total{')),
    );
    expect(misses.join('\n')).toMatch(/result="hit"/);
  });

  it('the API may relabel and delete a pool pod, never change its spec nor touch another pod', async () => {
    const [pod] = (await poolPods('nodejs20')).filter((p) => p.metadata.labels[STATE] === 'idle');
    const asApi = async (args: string[]) =>
      kubectl(['--kubeconfig', await testApiKubeconfig(), ...args]);
    const image = await asApi([
      'patch',
      'pod',
      pod.metadata.name,
      '-n',
      namespace,
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'replace', path: '/spec/containers/0/image', value: 'busybox:1.36' }]),
    ]);
    expect(image.code).not.toBe(0);
    expect(image.stderr).toMatch(/may only relabel or delete warm pool pods/);
    const plain = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'plain', namespace },
      spec: {
        securityContext: {
          runAsNonRoot: true,
          runAsUser: 65534,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        containers: [
          {
            name: 'main',
            image: 'busybox:1.36',
            command: ['sleep', '300'],
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    };
    await kubectlOk(['create', '-f', '-'], stringify(plain));
    try {
      const relabel = await asApi(['label', 'pod', 'plain', '-n', namespace, 'x=y']);
      expect(relabel.code).not.toBe(0);
      expect(relabel.stderr).toMatch(/may only relabel or delete warm pool pods/);
      const deleted = await asApi(['delete', 'pod', 'plain', '-n', namespace, '--wait=false']);
      expect(deleted.stderr).toMatch(/may only relabel or delete warm pool pods/);
    } finally {
      await kubectl([
        'delete',
        'pod',
        'plain',
        '-n',
        namespace,
        '--wait=false',
        '--grace-period=0',
      ]);
    }
    expect(
      (await asApi(['delete', 'pod', pod.metadata.name, '-n', namespace, '--wait=false'])).code,
    ).toBe(0);
  });
});
