/**
 * The components used from another Pulumi program: examples/pulumi-platform (its own
 * Pulumi.yaml, its own `k8s.Provider`, `KnativeServing`, `HksPlatform` and `HksApps`) run by
 * the real engine through `npm run pulumi`, as test/pulumi-up.int.test.ts runs the project's
 * own stack, on a control plane of its own (the stack installs and destroys the Knative CRDs
 * and cluster-wide roles the shared cluster's tests rely on):
 *
 * 1. `pulumi up`: the outputs, the objects in the cluster, and in the state every Kubernetes
 *    resource under the components through the program's providers (no default provider at
 *    all; the default one would read a kubeconfig that does not exist);
 * 2. `pulumi up` again changes nothing;
 * 3. `pulumi destroy`: every Kubernetes object of the state gone; `pulumi stack rm`.
 * Each phase is timed and the figures printed. What pulumi-up.int already proves of the same
 * components (preview of a config change, refresh) is not repeated.
 *
 * As there, Knative's webhooks are left out (`knativeWebhooks false`: its webhook pod does not
 * serve on kwok's fake nodes) and the gateway is a NodePort Service.
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
  StateObject,
  stateObjects,
  StateResource,
  stateResources,
  timed as timedIn,
  Timings,
  TOOLCHAIN_BUILD_TIMEOUT_MS,
  upChanges,
} from './support/pulumi-cli';

jest.setTimeout(15 * 60_000);

const exampleDir = join(repoRoot, 'examples', 'pulumi-platform');
const stackName = `hks-component-${randomBytes(4).toString('hex')}`;
const DOMAIN = 'fn.example.org';

let scratch: string;
let cluster: OwnCluster | undefined;
let stack: PulumiStack;
let stackCreated = false;
let stackRemoved = false;
const timings: Timings = {};
const timed = <T>(phase: string, body: () => Promise<T>): Promise<T> =>
  timedIn(timings, phase, body);

const k = (args: readonly string[]) => {
  if (cluster === undefined) throw new Error('no cluster');
  return cluster.kubectl(args);
};

async function getJson<T>(args: readonly string[]): Promise<T> {
  return JSON.parse(expectOk(await k([...args, '-o', 'json']), args.join(' ')).stdout) as T;
}

beforeAll(async () => {
  const started = Date.now();
  scratch = mkdtempSync(join(tmpdir(), 'hks-pulumi-component-'));
  cluster = await timed('cluster', () => startOwnCluster(scratch));
  stack = pulumiStack({
    projectDir: exampleDir,
    stack: stackName,
    scratch,
    // a default provider would read this kubeconfig, which does not exist
    env: { ...cluster.env, KUBECONFIG: join(scratch, 'no-default-kubeconfig') },
  });
  await buildToolchain();
  await stack.init();
  stackCreated = true;
  await stack.configure(
    [
      ['kubeconfig', cluster.kubeconfig],
      ['knativeManifestDir', knativeManifestDir()],
      ['kourierServiceType', 'NodePort'],
      ['knativeWebhooks', 'false'],
      ['domain', DOMAIN],
    ],
    [['apiJwtSecret', randomBytes(32).toString('hex')]],
  );
  timings.setup = Date.now() - started;
}, TOOLCHAIN_BUILD_TIMEOUT_MS);

afterAll(async () => {
  if (stackCreated && !stackRemoved) {
    const result = await stack.pulumi(['destroy', '--yes', '--skip-preview']);
    if (result.code !== 0) {
      process.stderr.write(`pulumi-component.int: destroy in afterAll failed\n${result.stdout}\n`);
    }
    await stack.pulumi(['stack', 'rm', '--yes', '--force']);
  }
  await cluster?.down();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  // cleanup only: the last test fails if a Pulumi.<stack>.yaml was written beside Pulumi.yaml
  rmSync(join(exampleDir, `Pulumi.${stackName}.yaml`), { force: true });
  process.stderr.write(`pulumi-component.int: phase timings (ms) ${JSON.stringify(timings)}\n`);
}, 10 * 60_000);

let resources: StateResource[] = [];
let created: StateObject[] = [];

/** The URN of a provider reference (`<urn>::<id>`). */
const providerUrn = (reference: string): string => reference.slice(0, reference.lastIndexOf('::'));

test('pulumi up of the example program: outputs, objects, every child through its providers', async () => {
  const up = await timed('up', async () =>
    expectOk(await stack.pulumi(['up', '--yes', '--skip-preview']), 'pulumi up'),
  );
  expect(up.stdout).toContain('created');
  const namespaceForProject = (project: string) => `team-${project}`;
  const outputs = json<Record<string, unknown>>(
    expectOk(await stack.pulumi(['stack', 'output', '--json']), 'stack output').stdout,
  );
  expect(outputs).toEqual({
    kourierAddress: expect.stringMatching(/^<any-node-ip>:\d+$/),
    domain: DOMAIN,
    knativeVersion: '1.13.0',
    servingNamespace: 'knative-serving',
    kourierNamespace: 'kourier-system',
    platformNamespace: 'platform',
    apiUrl: 'http://hks-api.platform.svc',
    appNamespaces: ['team-web'],
    appObjectCount: appManifests(join(exampleDir, 'apps'), { namespaceForProject }).length,
  });

  // in the cluster: the gateway on the exported node port, the API in the namespace given
  // with the environment given, the applications in the prefixed namespace
  const gateway = await getJson<{ spec: { type: string; ports: { nodePort: number }[] } }>([
    'get',
    'service',
    'kourier',
    '-n',
    'kourier-system',
  ]);
  expect(gateway.spec.type).toBe('NodePort');
  expect(gateway.spec.ports.map((p) => p.nodePort)).toContain(
    Number(String(outputs.kourierAddress).split(':')[1]),
  );
  const api = await getJson<{
    spec: { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } };
    status: { conditions?: { type: string; status: string }[] };
  }>(['get', 'deployment', 'hks-api', '-n', 'platform']);
  expect(api.status.conditions).toContainEqual(
    expect.objectContaining({ type: 'Available', status: 'True' }),
  );
  expect(api.spec.template.spec.containers[0].env).toEqual(
    expect.arrayContaining([
      { name: 'HKS_NAMESPACE_PREFIX', value: 'team-' },
      {
        name: 'HKS_FUNCTION_GATEWAY',
        value: 'http://kourier-internal.kourier-system.svc.cluster.local',
      },
    ]),
  );
  expectOk(await k(['get', 'ksvc', 'hello', '-n', 'team-web']), 'the function');
  expectOk(await k(['get', 'cronjob', 'nightly-cleanup', '-n', 'team-web']), 'the CronJob');
  const domainMap = await getJson<{ data: Record<string, string> }>([
    'get',
    'configmap',
    'config-domain',
    '-n',
    'knative-serving',
  ]);
  expect(domainMap.data[DOMAIN]).toBe('');

  resources = await stateResources(stack);
  created = stateObjects(resources);
  const types = new Set(resources.map((r) => r.type));
  for (const type of [
    'hks:platform:KnativeServing',
    'hks:platform:HksPlatform',
    'hks:platform:HksApps',
  ]) {
    expect(types).toContain(type);
  }
  // the program's two providers and no other: every Kubernetes resource uses one of them
  const providers = resources.filter((r) => r.type === 'pulumi:providers:kubernetes');
  expect(providers.map((r) => r.urn.split('::').pop()).sort()).toEqual(['apps-cluster', 'cluster']);
  // the ConfigGroups are components: their objects, registered under them, carry the provider
  const kubernetes = resources.filter(
    (r) => r.type.startsWith('kubernetes:') && r.type !== 'kubernetes:yaml/v2:ConfigGroup',
  );
  const through = new Map<string, string[]>();
  for (const r of kubernetes) {
    const name =
      r.provider === undefined ? 'none' : (providerUrn(r.provider).split('::').pop() ?? '');
    through.set(name, [...(through.get(name) ?? []), r.urn]);
  }
  expect(through.get('none')).toBeUndefined();
  expect([...through.keys()].sort()).toEqual(['apps-cluster', 'cluster']);
  // the applications' objects, and only they, through the applications' provider
  const apps = through.get('apps-cluster') ?? [];
  expect(apps.length).toBe(outputs.appObjectCount);
  expect(apps.every((urn) => urn.includes('hks:platform:HksApps'))).toBe(true);
  // what destroy must remove: Knative's CRDs and namespaces, the platform's cluster-wide access
  const kinds = new Set(created.map((o) => o.kind));
  for (const kind of [
    'CustomResourceDefinition',
    'ClusterRole',
    'ValidatingAdmissionPolicy',
    'Deployment',
    'CronJob',
  ]) {
    expect(kinds).toContain(kind);
  }
  expect(created.filter((o) => o.kind === 'Namespace').map((o) => o.name)).toEqual(
    expect.arrayContaining(['knative-serving', 'kourier-system', 'platform', 'team-web']),
  );
});

test('a second pulumi up changes nothing', async () => {
  const again = await timed('up-again', async () =>
    expectOk(
      await stack.pulumi(['up', '--yes', '--expect-no-changes', '--json']),
      'second pulumi up',
    ),
  );
  const changes = upChanges(again.stdout);
  expect(changes).toBeDefined();
  expect(Object.keys(changes ?? {})).toEqual(['same']);
});

test('pulumi destroy removes every object; the stack is removed', async () => {
  await timed('destroy', async () =>
    expectOk(await stack.pulumi(['destroy', '--yes', '--skip-preview']), 'pulumi destroy'),
  );
  const left = await timed('destroy-check', () => objectsLeft(created, k));
  expect(left).toEqual([]);
  expectOk(await stack.pulumi(['stack', 'rm', '--yes']), 'stack rm');
  stackRemoved = true;
  // the file backend keeps a stack as .pulumi/stacks/<project>/<stack>.json
  const project = join(scratch, 'state', '.pulumi', 'stacks', 'hks-example-platform');
  expect(existsSync(join(project, `${stackName}.json`))).toBe(false);
  expect(existsSync(join(exampleDir, `Pulumi.${stackName}.yaml`))).toBe(false);
});
