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
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../tools/pulumi/config';
import { appManifests } from '../stacks/hks-apps';
import { knativeManifestDir } from './support/knative-dir';
import { OwnCluster, startOwnCluster } from './support/own-cluster';
import {
  buildToolchain,
  expectOk,
  json,
  objectsLeft,
  PulumiStack,
  pulumiStack,
  Run,
  StateObject,
  stateObjects,
  stateResources,
  timed as timedIn,
  Timings,
  TOOLCHAIN_BUILD_TIMEOUT_MS,
  upChanges,
} from './support/pulumi-cli';

jest.setTimeout(15 * 60_000);

const stackName = `hks-test-${randomBytes(4).toString('hex')}`;
const DOMAIN = 'fn.example.com';
const CHANGED_DOMAIN = 'functions.example.org';

let scratch: string;
let cluster: OwnCluster | undefined;
let stack: PulumiStack;
let stackCreated = false;
let destroyed = false;
const timings: Timings = {};
const timed = <T>(phase: string, body: () => Promise<T>): Promise<T> =>
  timedIn(timings, phase, body);

/** `npm run pulumi -- <args> --stack <stack>` in the repository, where Pulumi.yaml is. */
const pulumi = (args: readonly string[]): Promise<Run> => stack.pulumi(args);
const k = (args: readonly string[]) => {
  if (cluster === undefined) throw new Error('no cluster');
  return cluster.kubectl(args);
};

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'hks-pulumi-up-'));
  cluster = await timed('cluster', () => startOwnCluster(scratch));
  stack = pulumiStack({ projectDir: repoRoot, stack: stackName, scratch, env: cluster.env });
  await buildToolchain();
  await stack.init();
  stackCreated = true;
  await stack.configure(
    [
      ['kubernetes:kubeconfig', cluster.kubeconfig],
      ['knativeManifestDir', knativeManifestDir()],
      ['kourierServiceType', 'NodePort'],
      ['domain', DOMAIN],
      ['knativeWebhooks', 'false'],
      ['deployApps', 'true'],
    ],
    [['apiJwtSecret', randomBytes(32).toString('hex')]],
  );
}, TOOLCHAIN_BUILD_TIMEOUT_MS);

afterAll(async () => {
  if (stackCreated && !destroyed) {
    const result = await pulumi(['destroy', '--yes', '--skip-preview']);
    if (result.code !== 0)
      process.stderr.write(`pulumi-up.int: destroy in afterAll failed\n${result.stdout}\n`);
  }
  if (stackCreated) await pulumi(['stack', 'rm', '--yes', '--force']);
  // Whatever the stack left goes with the control plane of this test.
  await cluster?.down();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  // cleanup only: the last test fails if a Pulumi.<stack>.yaml was written beside Pulumi.yaml
  rmSync(join(repoRoot, `Pulumi.${stackName}.yaml`), { force: true });
  process.stderr.write(`pulumi-up.int: phase timings (ms) ${JSON.stringify(timings)}\n`);
}, 10 * 60_000);

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

  created = stateObjects(await stateResources(stack));
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
  const changes = upChanges(again.stdout);
  expect(changes).toBeDefined();
  expect(Object.keys(changes ?? {})).toEqual(['same']);
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
  const left = await timed('destroy-check', () => objectsLeft(created, k));
  expect(left).toEqual([]);
  // the stack's settings stayed in the test's folder (--config-file)
  expect(existsSync(stack.configFile)).toBe(true);
  expect(existsSync(join(repoRoot, `Pulumi.${stackName}.yaml`))).toBe(false);
});
