import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION } from '../../constructs';
import { kubectlJson, kubectlOk } from '../cluster/kubectl';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import { ApiProcess, projectRequest, startApi, testStores, token } from './api-process';

jest.setTimeout(120_000);

/**
 * The API's door to the operator's platform settings (`HKS_PLATFORM_SETTINGS`,
 * docs/platform-settings.md): the tenancy of the namespaces it applies into and the runtime
 * images of the functions it deploys come from the file, read back from the real apiserver; a
 * bad file stops the API at start with the field named.
 */
const prefix = `s${randomBytes(2).toString('hex')}-`;
const project = 'psettings';
const namespace = `${prefix}${project}`;
const dir = mkdtempSync(join(tmpdir(), 'hks-settings-'));
const settingsFile = join(dir, 'hks.settings.yaml');
writeFileSync(
  settingsFile,
  [
    'tenancy:',
    '  cpuQuota: "3"',
    '  podQuota: 17',
    '  defaultMemoryLimit: 384Mi',
    'projects:',
    `  ${project}:`,
    '    tenancy:',
    '      memoryQuota: 5Gi',
    'runtimeImages:',
    '  python3.12: registry.example.com/mirror/python:3.12-slim',
    '',
  ].join('\n'),
);

let api: ApiProcess;
let standIn: StandInProcess;
let headers: Record<string, string>;

beforeAll(async () => {
  // It installs Knative's CRDs (a suite running first on a fresh cluster has none) and serves
  // the Function.
  standIn = await startStandIn(prefix);
  api = await startApi({
    ...(await testStores()[0].env()),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
    HKS_PLATFORM_SETTINGS: settingsFile,
  });
  headers = {
    authorization: `Bearer ${await token([project])}`,
    'content-type': 'application/json',
  };
}, 90_000);

afterAll(async () => {
  await api?.stop();
  await standIn?.stop();
  await kubectlOk(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
});

test("an applied definition's namespace and function follow the settings", async () => {
  const res = await projectRequest(api, project, headers, 'POST', '/applications', {
    apiVersion: API_VERSION,
    kind: 'Function',
    metadata: { name: 'mirrored', project },
    spec: { runtime: 'python3.12', code: 'def handler(event):\n    return 1\n' },
  });
  expect(res.status).toBe(201);
  const quota = await kubectlJson<{ spec: { hard: Record<string, string> } }>([
    'get',
    'resourcequota',
    'hks-quota',
    '-n',
    namespace,
  ]);
  // The defaults of the file, the project's own override over them.
  expect(quota.spec.hard).toEqual({ 'requests.cpu': '3', 'requests.memory': '5Gi', pods: '17' });
  const limits = await kubectlJson<{ spec: { limits: { default: Record<string, string> }[] } }>([
    'get',
    'limitrange',
    'hks-limits',
    '-n',
    namespace,
  ]);
  expect(limits.spec.limits[0].default).toEqual({ memory: '384Mi' });
  const service = await kubectlJson<{
    spec: { template: { spec: { containers: { image: string }[] } } };
  }>(['get', 'services.serving.knative.dev', 'mirrored', '-n', namespace]);
  expect(service.spec.template.spec.containers[0].image).toBe(
    'registry.example.com/mirror/python:3.12-slim',
  );
  // The project's manifests as the API serves them come from the same settings.
  const manifests = await fetch(`${api.url}/api/v1/projects/${project}/manifests`, { headers });
  expect(manifests.status).toBe(200);
  const text = await manifests.text();
  expect(text).toContain('registry.example.com/mirror/python:3.12-slim');
  expect(text).toContain('requests.memory: 5Gi');
});

test('a bad settings file stops the API at start, naming the field and the value', async () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'tenancy:\n  memoryQuota: plenty\nruntimeImages:\n  ruby: ruby:3\n');
  await expect(
    startApi({ ...(await testStores()[0].env()), HKS_PLATFORM_SETTINGS: bad }),
  ).rejects.toThrow(
    /exited with 2:[\s\S]*HKS_PLATFORM_SETTINGS: .*tenancy\.memoryQuota: given "plenty"[\s\S]*runtimeImages\.ruby/,
  );
  await expect(
    startApi({ ...(await testStores()[0].env()), HKS_PLATFORM_SETTINGS: join(dir, 'none.yaml') }),
  ).rejects.toThrow(
    /exited with 2:[\s\S]*HKS_PLATFORM_SETTINGS: .*cannot read the file \(ENOENT\)/,
  );
});
