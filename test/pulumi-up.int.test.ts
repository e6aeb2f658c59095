/**
 * `pulumi up` of the project's own stack (Pulumi.yaml at the repository root, stacks/main.ts),
 * through the CLI a platform engineer runs (`npm run pulumi -- ...`), on a test control plane:
 *
 * 1. `pulumi up`: Knative Serving + Kourier, the platform (hks-system, the API, its RBAC) and the
 *    applications of apps/; the stack outputs checked with `pulumi stack output --json`;
 * 2. `pulumi up` again changes nothing (`--expect-no-changes`, the JSON summary all "same");
 * 3. a config change (`domain`): `pulumi preview --diff --json` shows that one change only;
 * 4. `pulumi refresh --expect-no-changes` finds no drift;
 * 5. `pulumi destroy`: every Kubernetes object in the stack's state is gone from the cluster.
 * Each phase is timed and the figures printed. The stack's settings file is kept in the test's
 * temporary folder (`--config-file`; the one `stack init` writes beside Pulumi.yaml is moved
 * there), and the last test fails if a Pulumi.<stack>.yaml is left at the repository root.
 *
 * The control plane is one of its own, started by the project's harness (test/cluster, same
 * binaries as the shared one) with its own state folder and ports: the stack installs and
 * destroys cluster-wide objects other tests rely on in the shared cluster (the Knative CRDs,
 * which the harness installs and whose deletion removes every Knative Service of every test,
 * and the hks-api ClusterRoles that the test APIs are bound to).
 *
 * Knative's webhook pod does not serve on kwok's fake nodes, so its admission webhooks
 * (failurePolicy Fail) would refuse the applications' Knative Services: the stack is set
 * `knativeWebhooks: false`, the test-only key; a real cluster keeps the default, true
 * (test/knative-webhooks-config.test.ts). The Kourier gateway is a NodePort Service (no load
 * balancer here).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../tools/pulumi/config';
import { appManifests } from '../stacks/hks-apps';
import { kubectl } from './cluster/kubectl';
import { knativeManifestDir } from './support/knative-dir';

/** A cold toolchain build takes 15–25 min on two cores (see pulumi-toolchain.int.test.ts). */
const buildTimeoutMs = 60 * 60_000;
jest.setTimeout(15 * 60_000);

/** The project: the repository root, where Pulumi.yaml is. */
const projectDir = repoRoot;
const stack = `hks-test-${randomBytes(4).toString('hex')}`;
const DOMAIN = 'fn.example.com';
const CHANGED_DOMAIN = 'functions.example.org';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  echo = false,
): Promise<Run> {
  const child = spawn(command, args, { cwd: projectDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (echo) process.stderr.write(chunk);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function expectOk(result: Run, what: string): Run {
  if (result.code !== 0) {
    throw new Error(
      `${what}: exit ${result.code}\nstdout:\n${result.stdout.slice(-20_000)}\nstderr:\n${result.stderr.slice(-5_000)}`,
    );
  }
  return result;
}

/** Four free ports on 127.0.0.1 for the control plane of this test. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<import('node:net').Server>((resolve) => {
          const server = createServer();
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

let scratch: string;
let clusterEnv: NodeJS.ProcessEnv;
let kubeconfig: string;
let pulumiEnv: NodeJS.ProcessEnv;
let stackCreated = false;
let destroyed = false;
const timings: Record<string, number> = {};

/** Commands that read the stack's settings take them from the test's own folder. */
const TAKES_CONFIG_FILE = new Set(['config', 'up', 'preview', 'refresh', 'destroy']);

/**
 * `npm run pulumi -- <args> --stack <stack>`; the stack's settings file is in the scratch folder
 * (`--config-file`), never a Pulumi.<stack>.yaml beside the project's Pulumi.yaml.
 */
const pulumi = (args: readonly string[]): Promise<Run> =>
  run(
    'npm',
    [
      '--prefix',
      repoRoot,
      'run',
      '-s',
      'pulumi',
      '--',
      ...args,
      '--stack',
      stack,
      ...(TAKES_CONFIG_FILE.has(args[0]) ? ['--config-file', stackConfigFile()] : []),
    ],
    pulumiEnv,
  );
const stackConfigFile = (): string => join(scratch, `Pulumi.${stack}.yaml`);

const k = (args: readonly string[]): Promise<Run> => kubectl(args, undefined, kubeconfig);

async function timed<T>(phase: string, body: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await body();
  } finally {
    timings[phase] = Date.now() - started;
  }
}

/** The JSON document in a `--json` output (npm may print nothing before it; pulumi may). */
function json<T>(stdout: string): T {
  return JSON.parse(stdout.slice(stdout.indexOf('{'))) as T;
}

/** The top-level JSON objects of an output that holds several, one after the other. */
function jsonDocuments<T>(stdout: string): T[] {
  const documents: T[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < stdout.length; i++) {
    const c = stdout[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"' && depth > 0) inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && depth > 0 && --depth === 0) {
      documents.push(JSON.parse(stdout.slice(start, i + 1)) as T);
    }
  }
  return documents;
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'hks-pulumi-up-'));
  mkdirSync(join(scratch, 'state'));
  const [etcd, peer, apiserver, kwok] = await freePorts(4);
  const { KUBECONFIG: _shared, HKS_CLUSTER_REAL_NODE: _node, ...rest } = process.env;
  clusterEnv = {
    ...rest,
    HKS_CLUSTER_DIR: join(scratch, 'cluster'),
    HKS_CLUSTER_ETCD_PORT: String(etcd),
    HKS_CLUSTER_ETCD_PEER_PORT: String(peer),
    HKS_CLUSTER_APISERVER_PORT: String(apiserver),
    HKS_CLUSTER_KWOK_PORT: String(kwok),
  };
  kubeconfig = join(scratch, 'cluster', 'kubeconfig');
  await timed('cluster', async () =>
    expectOk(
      await run('npx', ['tsx', 'test/cluster/cli.ts', 'up'], clusterEnv, true),
      'cluster up',
    ),
  );
  pulumiEnv = {
    ...rest,
    PULUMI_BACKEND_URL: `file://${join(scratch, 'state')}`,
    PULUMI_CONFIG_PASSPHRASE: 'hks-pulumi-up-test',
  };
  expectOk(
    await run('npm', ['run', 'pulumi:build'], { ...process.env, INIT_CWD: repoRoot }, true),
    'pulumi:build',
  );
  expectOk(
    await run(
      'npm',
      [
        '--prefix',
        repoRoot,
        'run',
        '-s',
        'pulumi',
        '--',
        'stack',
        'init',
        stack,
        '--non-interactive',
      ],
      pulumiEnv,
    ),
    'stack init',
  );
  stackCreated = true;
  // stack init (no --config-file) writes the passphrase's salt beside Pulumi.yaml: move it to
  // the test's folder, where every later command reads the stack's settings
  const initFile = join(repoRoot, `Pulumi.${stack}.yaml`);
  if (existsSync(initFile)) renameSync(initFile, stackConfigFile());
  const settings: [string, string][] = [
    ['kubernetes:kubeconfig', kubeconfig],
    ['knativeManifestDir', knativeManifestDir()],
    ['kourierServiceType', 'NodePort'],
    ['domain', DOMAIN],
    ['knativeWebhooks', 'false'],
    ['deployApps', 'true'],
  ];
  for (const [key, value] of settings) {
    expectOk(await pulumi(['config', 'set', key, value]), `config set ${key}`);
  }
  expectOk(
    await pulumi(['config', 'set', '--secret', 'apiJwtSecret', randomBytes(32).toString('hex')]),
    'config set apiJwtSecret',
  );
}, buildTimeoutMs);

afterAll(async () => {
  if (stackCreated && !destroyed) {
    const result = await pulumi(['destroy', '--yes', '--skip-preview']);
    if (result.code !== 0)
      process.stderr.write(`pulumi-up.int: destroy in afterAll failed\n${result.stdout}\n`);
  }
  if (stackCreated) await pulumi(['stack', 'rm', '--yes', '--force']);
  // Whatever the stack left goes with the control plane of this test.
  if (clusterEnv) await run('npx', ['tsx', 'test/cluster/cli.ts', 'down'], clusterEnv);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  // cleanup only: the last test fails if a Pulumi.<stack>.yaml was written beside Pulumi.yaml
  rmSync(join(repoRoot, `Pulumi.${stack}.yaml`), { force: true });
  process.stderr.write(`pulumi-up.int: phase timings (ms) ${JSON.stringify(timings)}\n`);
}, 10 * 60_000);

/** The Kubernetes objects in the stack's state: apiVersion, kind, namespace, name. */
interface StateObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

let created: StateObject[] = [];

test('pulumi up installs Knative Serving, Kourier, the platform and apps/; outputs checked', async () => {
  const up = await timed('up', async () =>
    expectOk(await pulumi(['up', '--yes', '--skip-preview']), 'pulumi up'),
  );
  expect(up.stdout).toContain('created');
  const outputs = json<Record<string, unknown>>(
    expectOk(await pulumi(['stack', 'output', '--json']), 'stack output').stdout,
  );
  expect(outputs).toEqual({
    knativeVersion: '1.13.0',
    domain: DOMAIN,
    kourierAddress: expect.stringMatching(/^<any-node-ip>:\d+$/),
    apiUrl: 'http://hks-api.hks-system.svc',
    appObjectCount: appManifests(join(repoRoot, 'apps')).length,
  });
  const nodePort = Number(String(outputs.kourierAddress).split(':')[1]);
  const gateway = JSON.parse(
    expectOk(
      await k(['get', 'service', 'kourier', '-n', 'kourier-system', '-o', 'json']),
      'gateway',
    ).stdout,
  ) as { spec: { type: string; ports: { port: number; nodePort: number }[] } };
  expect(gateway.spec.type).toBe('NodePort');
  expect(gateway.spec.ports.map((p) => p.nodePort)).toContain(nodePort);

  const domain = JSON.parse(
    expectOk(
      await k(['get', 'configmap', 'config-domain', '-n', 'knative-serving', '-o', 'json']),
      'config-domain',
    ).stdout,
  ) as { data: Record<string, string> };
  expect(domain.data[DOMAIN]).toBe('');
  const webhooks = await k([
    'get',
    'validatingwebhookconfigurations,mutatingwebhookconfigurations',
    '-o',
    'name',
  ]);
  expect(webhooks.stdout.trim()).toBe('');
  for (const [namespace, deployment] of [
    ['knative-serving', 'controller'],
    ['knative-serving', 'webhook'],
    ['knative-serving', 'net-kourier-controller'],
    ['kourier-system', '3scale-kourier-gateway'],
    ['hks-system', 'hks-api'],
  ]) {
    const got = expectOk(
      await k(['get', 'deployment', deployment, '-n', namespace, '-o', 'json']),
      deployment,
    );
    const status = (
      JSON.parse(got.stdout) as { status: { conditions?: { type: string; status: string }[] } }
    ).status;
    expect(status.conditions).toContainEqual(
      expect.objectContaining({ type: 'Available', status: 'True' }),
    );
  }

  const exported = json<{
    deployment: { resources?: { type: string; outputs?: Record<string, unknown> }[] };
  }>(expectOk(await pulumi(['stack', 'export']), 'stack export').stdout);
  created = (exported.deployment.resources ?? [])
    .filter((r) => r.type.startsWith('kubernetes:') && !r.type.startsWith('kubernetes:yaml'))
    .filter((r) => r.type !== 'pulumi:providers:kubernetes' && r.outputs?.metadata)
    .map((r) => {
      const o = r.outputs as {
        apiVersion: string;
        kind: string;
        metadata: { name: string; namespace?: string };
      };
      return {
        apiVersion: o.apiVersion,
        kind: o.kind,
        name: o.metadata.name,
        namespace: o.metadata.namespace,
      };
    });
  const kinds = new Set(created.map((o) => o.kind));
  for (const kind of [
    'CustomResourceDefinition',
    'Namespace',
    'ClusterRole',
    'Deployment',
    'CronJob',
    'Service',
  ]) {
    expect(kinds).toContain(kind);
  }
  expect(created.filter((o) => o.kind === 'Namespace').map((o) => o.name)).toEqual(
    expect.arrayContaining(['knative-serving', 'kourier-system', 'hks-system']),
  );
});

interface UpdateSummary {
  readonly changeSummary?: Record<string, number>;
  readonly steps?: {
    op: string;
    urn: string;
    detailedDiff?: Record<string, unknown>;
    diffReasons?: string[];
  }[];
}

test('a second pulumi up changes nothing', async () => {
  const again = await timed('up-again', async () =>
    expectOk(await pulumi(['up', '--yes', '--expect-no-changes', '--json']), 'second pulumi up'),
  );
  // `up --json` writes the engine's events, one JSON document each; the last summary counts
  const summary = jsonDocuments<{ summaryEvent?: { resourceChanges?: Record<string, number> } }>(
    again.stdout,
  )
    .filter((event) => event.summaryEvent !== undefined)
    .pop()?.summaryEvent;
  expect(summary).toBeDefined();
  expect(Object.keys(summary?.resourceChanges ?? {})).toEqual(['same']);
});

test('after a config change, pulumi preview --diff shows exactly that change', async () => {
  expectOk(await pulumi(['config', 'set', 'domain', CHANGED_DOMAIN]), 'config set domain');
  try {
    const preview = await timed('preview-change', async () =>
      expectOk(await pulumi(['preview', '--diff', '--json']), 'preview --diff'),
    );
    const steps = (json<UpdateSummary>(preview.stdout).steps ?? []).filter((s) => s.op !== 'same');
    expect(steps.map((s) => `${s.op} ${s.urn.split('::').slice(-1)[0]}`)).toEqual([
      'update knative-serving:knative-serving/config-domain',
    ]);
    expect(Object.keys(steps[0].detailedDiff ?? {}).sort()).toEqual(
      // property paths: a key with dots is quoted
      [`data["${CHANGED_DOMAIN}"]`, `data["${DOMAIN}"]`].sort(),
    );
  } finally {
    expectOk(await pulumi(['config', 'set', 'domain', DOMAIN]), 'config set domain back');
  }
});

test('pulumi refresh finds no drift', async () => {
  await timed('refresh', async () =>
    expectOk(
      await pulumi(['refresh', '--yes', '--skip-preview', '--expect-no-changes']),
      'pulumi refresh',
    ),
  );
});

test('pulumi destroy removes every object the stack created', async () => {
  await timed('destroy', async () =>
    expectOk(await pulumi(['destroy', '--yes', '--skip-preview']), 'pulumi destroy'),
  );
  destroyed = true;
  expect(created.length).toBeGreaterThan(100);
  const left: string[] = [];
  await timed('destroy-check', async () => {
    // Namespaced objects go with their namespaces: wait for those, then check each object.
    for (const ns of created.filter((o) => o.kind === 'Namespace')) {
      await k(['wait', '--for=delete', `namespace/${ns.name}`, '--timeout=120s']);
    }
    const byKind = new Map<string, StateObject[]>();
    for (const o of created) {
      const key = `${o.kind}.${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}`;
      byKind.set(key, [...(byKind.get(key) ?? []), o]);
    }
    for (const [resource, objects] of byKind) {
      const got = await k(['get', resource.replace(/\.$/, ''), '-A', '-o', 'json']);
      // a custom resource's type goes with its CRD (itself one of the objects checked)
      if (got.code !== 0 && /doesn't have a resource type/.test(got.stderr)) continue;
      if (got.code !== 0) throw new Error(`kubectl get ${resource}: ${got.stderr}`);
      const items = (
        JSON.parse(got.stdout) as { items: { metadata: { name: string; namespace?: string } }[] }
      ).items;
      for (const o of objects) {
        if (items.some((i) => i.metadata.name === o.name && i.metadata.namespace === o.namespace)) {
          left.push(`${o.kind} ${o.namespace ?? ''}/${o.name}`);
        }
      }
    }
  });
  expect(left).toEqual([]);
  // the stack's settings stayed in the test's folder (--config-file)
  expect(existsSync(stackConfigFile())).toBe(true);
  expect(existsSync(join(repoRoot, `Pulumi.${stack}.yaml`))).toBe(false);
});
