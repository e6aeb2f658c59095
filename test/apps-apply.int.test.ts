import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadDefinitions, synthesizeDefinitions } from '../constructs';
import { installKnativeServingCrds } from './cluster/knative';
import { kubectl, kubectlJson, kubectlOk } from './cluster/kubectl';
import { waitFor } from './cluster/wait';

/**
 * Everything the example apps/ synthesize is accepted by a real API server with server-side
 * apply, dry run first and then for real, in a namespace enforcing Pod Security `restricted`;
 * the pods the real controllers create from it are admitted and run on the fake nodes.
 */
const prefix = `it${randomBytes(2).toString('hex')}-`;
const namespace = `${prefix}shop`;
let manifestFile: string;
let documents: { apiVersion: string; kind: string; metadata: { name: string } }[];

beforeAll(async () => {
  // Functions are Knative Services: their CRDs (no webhooks, no controller) come first.
  await installKnativeServingCrds();
  const out = mkdtempSync(join(tmpdir(), 'hks-apps-'));
  const definitions = loadDefinitions(join(__dirname, '..', 'apps')).map((c) => c.definition);
  const [file] = synthesizeDefinitions(definitions, out, {
    namespaceForProject: (p) => `${prefix}${p}`,
  });
  manifestFile = join(out, file);
  documents = parseAllDocuments(readFileSync(manifestFile, 'utf8')).map((d) => d.toJS());
}, 60_000);

afterAll(async () => {
  await kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
});

const apply = (...extra: string[]) =>
  kubectl(['apply', '--server-side', '--field-manager=hks', '-f', manifestFile, ...extra]);

test('server-side apply with dryRun=All accepts every object', async () => {
  // A dry run persists nothing, so the namespace the other objects live in must exist first.
  const namespaceOnly = documents.filter((d) => d.kind === 'Namespace');
  expect(namespaceOnly).toHaveLength(1);
  await kubectlOk(
    ['apply', '--server-side', '--field-manager=hks', '-f', '-'],
    JSON.stringify(namespaceOnly[0]),
  );
  const result = await apply('--dry-run=server');
  expect(result.stderr).not.toMatch(/PodSecurity|Warning/);
  expect(result.code).toBe(0);
  for (const d of documents)
    expect(result.stdout).toContain(`${d.metadata.name} serverside-applied (server dry run)`);
  // Nothing but the namespace exists yet.
  expect((await kubectl(['get', 'deployment', 'api', '-n', namespace])).code).not.toBe(0);
});

test('server-side apply creates every object, without Pod Security warnings', async () => {
  const result = await apply();
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const ns = await kubectlJson<{ metadata: { labels: Record<string, string> } }>([
    'get',
    'namespace',
    namespace,
  ]);
  expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  for (const kind of [
    'Deployment',
    'Service',
    'CronJob',
    'NetworkPolicy',
    'ResourceQuota',
    'LimitRange',
    'ServiceAccount',
  ]) {
    for (const d of documents.filter(
      (doc) => doc.kind === kind && doc.apiVersion !== 'serving.knative.dev/v1',
    )) {
      await kubectlOk(['get', kind.toLowerCase(), d.metadata.name, '-n', namespace]);
    }
  }
  // Applying the same manifests again changes nothing and conflicts with nothing.
  const again = await apply();
  expect(again.code).toBe(0);
}, 60_000);

test('the Deployment pods are admitted under restricted and become ready', async () => {
  await waitFor('deployment api ready', 60_000, async () => {
    const d = await kubectlJson<{ status?: { readyReplicas?: number } }>([
      'get',
      'deployment',
      'api',
      '-n',
      namespace,
    ]);
    return d.status?.readyReplicas === 2;
  });
}, 90_000);

test('a Job from each CronJob runs its pod under restricted to completion', async () => {
  for (const cronJob of ['nightly-report', 'cart-cleanup', 'db-backup']) {
    await kubectlOk([
      'create',
      'job',
      `${cronJob}-manual`,
      `--from=cronjob/${cronJob}`,
      '-n',
      namespace,
    ]);
  }
  for (const cronJob of ['nightly-report', 'cart-cleanup', 'db-backup']) {
    await waitFor(`job ${cronJob}-manual complete`, 60_000, async () => {
      const job = await kubectlJson<{ status?: { succeeded?: number } }>([
        'get',
        'job',
        `${cronJob}-manual`,
        '-n',
        namespace,
      ]);
      return job.status?.succeeded === 1;
    });
  }
}, 120_000);

test('the namespace really enforces restricted: a privileged pod is refused', async () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'privileged', namespace },
    spec: {
      containers: [{ name: 'c', image: 'busybox:1.36', securityContext: { privileged: true } }],
    },
  };
  const result = await kubectl(['create', '-f', '-'], JSON.stringify(pod));
  expect(result.code).not.toBe(0);
  expect(result.stderr).toMatch(/violates PodSecurity "restricted:latest"/);
});

test('the Function Knative Services are accepted by the CRD schema, nothing pruned', async () => {
  const functions = documents.filter(
    (d) => d.kind === 'Service' && d.apiVersion === 'serving.knative.dev/v1',
  );
  expect(functions.map((d) => d.metadata.name).sort()).toEqual([
    'greet',
    'nightly-backup',
    'thumbnail-url',
  ]);
  for (const fn of functions) {
    const stored = await kubectlJson<Record<string, unknown>>([
      'get',
      'services.serving.knative.dev',
      fn.metadata.name,
      '-n',
      namespace,
    ]);
    const sent = fn as unknown as { spec: { template: unknown } };
    // Structural schemas prune unknown fields silently: what is stored must be what was sent.
    expect((stored as { spec: { template: unknown } }).spec.template).toEqual(sent.spec.template);
  }
  for (const d of documents.filter((doc) => doc.kind === 'ConfigMap')) {
    await kubectlOk(['get', 'configmap', d.metadata.name, '-n', namespace]);
  }
}, 30_000);
