import { randomBytes } from 'node:crypto';
import { kubectl, kubectlJson, kubectlOk } from '../cluster/kubectl';
import { waitFor } from '../cluster/wait';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import { ApiProcess, internalToken, startApi, testStores } from './api-process';

jest.setTimeout(240_000);

/**
 * Execute-once is safe by default: temporary functions are cluster-local, limited in CPU and
 * memory, kept apart by their own NetworkPolicy (its effect is tested as data in
 * test/network-policy.test.ts: this cluster has no network plugin enforcing policies), capped
 * per project (429 with Retry-After), cleaned up when a deploy fails half way, and their
 * leftover ConfigMaps and ServiceAccounts are removed by the janitor.
 */
const prefix = `q${randomBytes(2).toString('hex')}-`;
const SHAPE = 'safeshape';
const CAP = 'safecap';
const FAIL = 'safefail';
const JANITOR = 'safejanitor';
let api: ApiProcess;
let standIn: StandInProcess;
let storeEnv: Record<string, string>;

const CODE = 'def handler(event, context):\n    return event\n';
const baseEnv = () => ({
  ...storeEnv,
  HKS_NAMESPACE_PREFIX: prefix,
  HKS_RECORDER: 'off',
  HKS_JANITOR_INTERVAL_SECONDS: '0',
});

async function post(target: ApiProcess, project: string, path: string, body: unknown) {
  const res = await fetch(`${target.url}/internal/v1${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await internalToken([project])}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    headers: res.headers,
    json: (await res.json()) as Record<string, unknown>,
  };
}

async function remove(target: ApiProcess, project: string, id: string): Promise<number> {
  const res = await fetch(`${target.url}/internal/v1/operations/functions/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${await internalToken([project])}` },
  });
  return res.status;
}

interface Item {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
}

/** Objects of temporary functions in a project's namespace. */
async function ephemeralObjects(project: string): Promise<string[]> {
  const list = await kubectlJson<{ items: Item[] }>([
    'get',
    'services.serving.knative.dev,configmaps,serviceaccounts',
    '-n',
    `${prefix}${project}`,
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
  api = await startApi(baseEnv());
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await standIn?.stop();
});

test('a temporary function is cluster-local, limited, labelled down to its pods, under its own NetworkPolicy', async () => {
  const namespace = `${prefix}${SHAPE}`;
  const executed = await post(api, SHAPE, '/operations/execute', {
    runtime: 'python3.12',
    code: CODE,
    input: 7,
    visibility: 'cluster-local',
  });
  expect(executed.json).toMatchObject({ status: 'succeeded', result: 7 });
  // The project's policies are on the cluster after an execute.
  const policies = await kubectlJson<{ items: { metadata: { name: string }; spec: unknown }[] }>([
    'get',
    'networkpolicies',
    '-n',
    namespace,
    '-o',
    'json',
  ]);
  const byName = new Map(policies.items.map((p) => [p.metadata.name, p.spec]));
  expect(byName.get('hks-temporary-functions')).toMatchObject({
    podSelector: { matchLabels: { 'hks.hexabase.io/ephemeral': 'true' } },
    policyTypes: ['Ingress', 'Egress'],
  });
  expect(byName.get('hks-allow-same-project')).toMatchObject({
    podSelector: {
      matchExpressions: [{ key: 'hks.hexabase.io/ephemeral', operator: 'NotIn', values: ['true'] }],
    },
  });

  const deployed = await post(api, SHAPE, '/operations/deploy-function', {
    runtime: 'python3.12',
    code: CODE,
    ttlSeconds: 300,
  });
  expect(deployed.status).toBe(201);
  const id = String(deployed.json.id);
  const service = await kubectlJson<{
    metadata: { labels: Record<string, string> };
    spec: {
      template: {
        metadata: { labels: Record<string, string> };
        spec: { containers: { resources: unknown }[] };
      };
    };
  }>(['get', 'services.serving.knative.dev', id, '-n', namespace, '-o', 'json']);
  expect(service.metadata.labels).toMatchObject({
    'networking.knative.dev/visibility': 'cluster-local',
    'hks.hexabase.io/ephemeral': 'true',
  });
  expect(service.spec.template.metadata.labels).toMatchObject({
    'hks.hexabase.io/ephemeral': 'true',
  });
  expect(service.spec.template.spec.containers[0].resources).toEqual({
    requests: { cpu: '100m', memory: '128Mi' },
    limits: { cpu: '1', memory: '256Mi' },
  });
  // The stand-in's pods carry the revision's labels, as Knative's do.
  await waitFor('a pod of the temporary function', 30_000, async () => {
    const pods = await kubectlJson<{ items: Item[] }>([
      'get',
      'pods',
      '-n',
      namespace,
      '-l',
      `serving.knative.dev/service=${id}`,
      '-o',
      'json',
    ]);
    return pods.items.some((p) => p.metadata.labels?.['hks.hexabase.io/ephemeral'] === 'true');
  });
  // ConfigMap and ServiceAccount carry the labels the janitor selects.
  for (const kind of ['configmaps', 'serviceaccounts']) {
    const list = await kubectlJson<{ items: Item[] }>([
      'get',
      kind,
      '-n',
      namespace,
      '-l',
      `hks.hexabase.io/app=${id}`,
      '-o',
      'json',
    ]);
    expect(list.items).toHaveLength(1);
    expect(list.items[0].metadata.labels).toMatchObject({
      'hks.hexabase.io/ephemeral': 'true',
      'hks.hexabase.io/expires-at': expect.stringMatching(/^\d+$/),
    });
  }
  expect(await remove(api, SHAPE, id)).toBe(204);
});

test('visibility: "public" is refused, whichever operation asks for it', async () => {
  for (const path of ['/operations/execute', '/operations/deploy-function']) {
    const res = await post(api, SHAPE, path, {
      runtime: 'python3.12',
      code: CODE,
      visibility: 'public',
    });
    expect(res.status).toBe(400);
    expect(res.json.errors).toEqual([
      { path: 'visibility', message: 'given "public", expected "cluster-local"' },
    ]);
  }
});

test('the CPU and memory limits come from HKS_EPHEMERAL_CPU_LIMIT and HKS_EPHEMERAL_MEMORY_LIMIT, checked at start', async () => {
  const limited = await startApi({
    ...baseEnv(),
    HKS_EPHEMERAL_CPU_LIMIT: '50m',
    HKS_EPHEMERAL_MEMORY_LIMIT: '512Mi',
  });
  try {
    const deployed = await post(limited, SHAPE, '/operations/deploy-function', {
      runtime: 'python3.12',
      code: CODE,
      ttlSeconds: 300,
    });
    expect(deployed.status).toBe(201);
    const id = String(deployed.json.id);
    const resources = await kubectlOk([
      'get',
      'services.serving.knative.dev',
      id,
      '-n',
      `${prefix}${SHAPE}`,
      '-o',
      'jsonpath={.spec.template.spec.containers[0].resources}',
    ]);
    expect(JSON.parse(resources)).toEqual({
      requests: { cpu: '50m', memory: '128Mi' },
      limits: { cpu: '50m', memory: '512Mi' },
    });
    expect(await remove(limited, SHAPE, id)).toBe(204);
  } finally {
    await limited.stop();
  }
  await expect(startApi({ ...baseEnv(), HKS_EPHEMERAL_MEMORY_LIMIT: 'plenty' })).rejects.toThrow(
    /HKS_EPHEMERAL_MEMORY_LIMIT: given "plenty", expected a memory amount/,
  );
});

test('a project has at most HKS_EPHEMERAL_MAX_PER_PROJECT temporary functions, counted across API replicas: then a 429 with Retry-After', async () => {
  const env = { ...baseEnv(), HKS_EPHEMERAL_MAX_PER_PROJECT: '2' };
  const [one, two] = await Promise.all([startApi(env), startApi(env)]);
  try {
    const deploy = (target: ApiProcess) =>
      post(target, CAP, '/operations/deploy-function', {
        runtime: 'python3.12',
        code: CODE,
        ttlSeconds: 300,
      });
    const first = await deploy(one);
    expect(first.status).toBe(201);
    const second = await deploy(two);
    expect(second.status).toBe(201);
    // Each replica counts the other's from the cluster.
    for (const target of [one, two]) {
      const refused = await deploy(target);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(refused.json).toMatchObject({
        type: 'https://hks.hexabase.io/problems/too-many-requests',
        status: 429,
        detail: expect.stringContaining('HKS_EPHEMERAL_MAX_PER_PROJECT=2'),
      });
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const execute = await post(target, CAP, '/operations/execute', {
        runtime: 'python3.12',
        code: CODE,
      });
      expect(execute.status).toBe(429);
    }
    // Nothing was deployed for the refused requests.
    expect((await ephemeralObjects(CAP)).filter((o) => o.startsWith('Service/'))).toHaveLength(2);
    // Another project has its own count.
    const other = await post(one, SHAPE, '/operations/execute', {
      runtime: 'python3.12',
      code: CODE,
    });
    expect(other.json).toMatchObject({ status: 'succeeded' });
    expect(await remove(one, CAP, String(first.json.id))).toBe(204);
    const executed = await post(two, CAP, '/operations/execute', {
      runtime: 'python3.12',
      code: CODE,
      input: 'again',
    });
    expect(executed.json).toMatchObject({ status: 'succeeded', result: 'again' });
    expect(await remove(two, CAP, String(second.json.id))).toBe(204);
  } finally {
    await Promise.all([one.stop(), two.stop()]);
  }
});

test('a deploy that fails after its ConfigMap was applied deletes what it applied, and the caller gets the error', async () => {
  const namespace = `${prefix}${FAIL}`;
  // The API creates the project's namespace (and its rights there) with a first function.
  expect(
    (await post(api, FAIL, '/operations/execute', { runtime: 'python3.12', code: CODE })).json,
  ).toMatchObject({ status: 'succeeded' });
  await waitFor('the first function to be deleted', 30_000, async () => {
    return (await ephemeralObjects(FAIL)).length === 0;
  });
  // A real rejection by the API server, after ConfigMap and ServiceAccount were accepted: an
  // admission policy refuses Knative Services in the namespace (a quota would depend on the
  // quota controller discovering the Knative resource first, up to its 30 s resync).
  const policy = `${prefix}no-knative-services`;
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingAdmissionPolicy',
          metadata: { name: policy },
          spec: {
            failurePolicy: 'Fail',
            matchConstraints: {
              resourceRules: [
                {
                  apiGroups: ['serving.knative.dev'],
                  apiVersions: ['*'],
                  resources: ['services'],
                  operations: ['CREATE', 'UPDATE'],
                },
              ],
            },
            validations: [{ expression: 'false', message: 'no Knative Services here (test)' }],
          },
        },
        {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingAdmissionPolicyBinding',
          metadata: { name: policy },
          spec: {
            policyName: policy,
            validationActions: ['Deny'],
            matchResources: {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
            },
          },
        },
      ],
    }),
  );
  try {
    await waitFor('the admission policy to take effect', 30_000, async () => {
      const probe = await kubectl(
        ['create', '--dry-run=server', '-f', '-'],
        JSON.stringify({
          apiVersion: 'serving.knative.dev/v1',
          kind: 'Service',
          metadata: { name: 'policy-probe', namespace },
          spec: { template: { spec: { containers: [{ image: 'ghcr.io/acme/probe:1' }] } } },
        }),
      );
      return probe.code !== 0 && probe.stderr.includes('no Knative Services here');
    });
    for (const [path, body] of [
      ['/operations/execute', { runtime: 'python3.12', code: CODE }],
      [
        '/operations/deploy-function',
        { runtime: 'nodejs20', code: 'exports.handler = () => 1;\n' },
      ],
    ] as const) {
      const before = api.output().length;
      const res = await post(api, FAIL, path, body);
      expect(res.status).toBe(422);
      expect(String(res.json.detail)).toMatch(/Knative|serving\.knative\.dev/i);
      expect(String(res.json.detail)).toContain('no Knative Services here');
      // Deleted before the answer: nothing is left at once.
      expect(await ephemeralObjects(FAIL)).toEqual([]);
      const logged = api.output().slice(before);
      expect(logged).toContain('deploying a temporary function failed; deleted what was applied');
      expect(logged).toMatch(/"removed":\[[^\]]*"ConfigMap\//);
      expect(logged).toMatch(/"removed":\[[^\]]*"ServiceAccount\//);
    }
  } finally {
    await kubectlOk([
      'delete',
      'validatingadmissionpolicybinding,validatingadmissionpolicy',
      policy,
      '--ignore-not-found',
    ]);
  }
  // The failed deploys gave their slots back, and deploys work again.
  await waitFor('the policy to be gone', 30_000, async () => {
    const res = await post(api, FAIL, '/operations/execute', { runtime: 'python3.12', code: CODE });
    return res.json.status === 'succeeded';
  });
});

test('the janitor removes expired ConfigMaps and ServiceAccounts whose Knative Service is gone, and nothing unexpired', async () => {
  const namespace = `${prefix}${JANITOR}`;
  expect(
    (await post(api, JANITOR, '/operations/execute', { runtime: 'python3.12', code: CODE })).json,
  ).toMatchObject({ status: 'succeeded' });
  // What an API that died between applying the ConfigMap and the Service leaves behind.
  const leftover = (kind: string, name: string, expiresAt: number) => ({
    apiVersion: 'v1',
    kind,
    metadata: {
      name,
      namespace,
      labels: {
        'app.kubernetes.io/managed-by': 'hks',
        'hks.hexabase.io/project': JANITOR,
        'hks.hexabase.io/app': name.replace(/-[0-9a-f]{10}$/, ''),
        'hks.hexabase.io/kind': 'Function',
        'hks.hexabase.io/ephemeral': 'true',
        'hks.hexabase.io/expires-at': String(expiresAt),
      },
    },
  });
  const past = Math.floor(Date.now() / 1000) - 10;
  const future = Math.floor(Date.now() / 1000) + 3600;
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        leftover('ConfigMap', 'exec-0123456789ab-abcdef0123', past),
        leftover('ServiceAccount', 'exec-0123456789ab', past),
        leftover('ConfigMap', 'exec-ba9876543210-abcdef0123', future),
        leftover('ServiceAccount', 'exec-ba9876543210', future),
      ],
    }),
  );
  // A managed namespace the API has no RoleBinding in (as GitOps would apply one): skipped,
  // without keeping the janitor from the others.
  const unbound = `${prefix}safegitops`;
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: unbound,
        labels: {
          'app.kubernetes.io/managed-by': 'hks',
          'pod-security.kubernetes.io/enforce': 'restricted',
        },
      },
    }),
  );
  const janitor = await startApi({ ...baseEnv(), HKS_JANITOR_INTERVAL_SECONDS: '1' });
  try {
    await waitFor('the janitor to remove the expired leftovers', 30_000, async () => {
      const left = await ephemeralObjects(JANITOR);
      return !left.some((o) => o.includes('0123456789ab'));
    });
    expect((await ephemeralObjects(JANITOR)).sort()).toEqual([
      'ConfigMap/exec-ba9876543210-abcdef0123',
      'ServiceAccount/exec-ba9876543210',
    ]);
    expect(janitor.output()).toContain(`${namespace}/exec-0123456789ab`);
    expect(janitor.output()).toContain('janitor cannot list a namespace; skipped');
    expect(janitor.output()).toContain(unbound);
  } finally {
    await janitor.stop();
    await kubectl(['delete', 'namespace', unbound, '--wait=false', '--ignore-not-found']);
  }
});
