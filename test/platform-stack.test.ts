/**
 * The Pulumi stack's resource graph, with Pulumi's mocks (no CLI, no engine, no cluster).
 * The mocks are installed before any resource is created; the program module is imported
 * only after that.
 */
import * as pulumi from '@pulumi/pulumi';
import { resolve } from 'node:path';
import { API_IDENTITY, apiAccessObjects } from '../api';
import { KOURIER_INGRESS_CLASS, KubeObject } from '../knative';
import type { StackConfig } from '../stacks';
import { knativeManifestDir } from './support/knative-dir';
import { installMocks, RegisteredResource, settled, valueOf } from './support/pulumi-mocks';

jest.setTimeout(60_000);
const registered = installMocks();

// imported after the mocks, as the Pulumi testing guide asks
let stacks: typeof import('../stacks');
beforeAll(async () => {
  stacks = await import('../stacks');
});

/** Pulumi's wire marker of a secret value (sdk/nodejs/runtime/rpc.ts specialSigKey/specialSecretSig). */
const SECRET_SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

const appsDir = resolve(__dirname, '..', 'apps');

const base: StackConfig = {
  knativeVersion: '1.13.0',
  knativeManifestDir: knativeManifestDir(),
  kourierServiceType: 'LoadBalancer',
  magicDns: false,
  skipAwait: false,
  platformNamespace: 'hks-system',
  namespacePrefix: '',
  api: {
    image: 'ghcr.io/acme/hks-api:0.1.0',
    replicas: 1,
    hasDatabaseUrl: false,
    sqliteStorage: { kind: 'emptyDir' },
    environment: {},
  },
};

async function build(
  settings: StackConfig,
  secrets: import('../stacks').StackSecrets = { apiJwtSecret: pulumi.secret('s3cret') },
) {
  const stack = stacks.createPlatformStack(settings, secrets);
  await valueOf(stack.kourierAddress);
  await settled(registered);
  return stack;
}

function one(type: string, name: string): RegisteredResource {
  const found = registered.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) {
    throw new Error(
      `expected one ${type} ${name}, found ${found.length} among ${registered.map((r) => `${r.type}::${r.name}`).join(', ')}`,
    );
  }
  return found[0];
}

const objs = (r: RegisteredResource): KubeObject[] => r.inputs.objs as KubeObject[];
const dependsOn = (r: RegisteredResource, name: string): boolean =>
  r.dependencies.some((urn) => urn.endsWith(`::${name}`));
const named = (objects: KubeObject[], kind: string, name: string): KubeObject | undefined =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);

describe('default config', () => {
  let stack: import('../stacks').PlatformStack;
  beforeAll(async () => {
    registered.splice(0);
    stack = await build(base);
  });

  it('registers Knative, Kourier and the platform with the API', () => {
    expect(registered.map((r) => `${r.type}::${r.name}`).sort()).toEqual(
      [
        'hks:platform:KnativeServing::knative',
        'kubernetes:yaml/v2:ConfigGroup::knative-serving',
        'kubernetes:yaml/v2:ConfigGroup::knative-kourier',
        'hks:platform:HksPlatform::hks',
        'kubernetes:core/v1:Namespace::hks-namespace',
        'kubernetes:networking.k8s.io/v1:NetworkPolicy::hks-hks-default-deny',
        'kubernetes:networking.k8s.io/v1:NetworkPolicy::hks-hks-allow-dns',
        'kubernetes:networking.k8s.io/v1:NetworkPolicy::hks-hks-api-ingress',
        'kubernetes:networking.k8s.io/v1:NetworkPolicy::hks-hks-api-egress',
        'kubernetes:networking.k8s.io/v1:NetworkPolicy::hks-hks-api-functions',
        'kubernetes:core/v1:ServiceAccount::hks-api-sa',
        'kubernetes:rbac.authorization.k8s.io/v1:ClusterRole::hks-api-role',
        'kubernetes:rbac.authorization.k8s.io/v1:ClusterRole::hks-hks-api-tenant-role',
        'kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding::hks-api-binding',
        'kubernetes:rbac.authorization.k8s.io/v1:Role::hks-api-leader-election-role',
        'kubernetes:rbac.authorization.k8s.io/v1:RoleBinding::hks-api-leader-election-binding',
        'kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy::hks-api-policy',
        'kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding::hks-api-policy-binding',
        'kubernetes:core/v1:Secret::hks-api-config',
        'kubernetes:apps/v1:Deployment::hks-api',
        'kubernetes:core/v1:Service::hks-api-service',
      ].sort(),
    );
  });

  it('hands Serving core (CRDs once) to one ConfigGroup and Kourier to another that depends on it', () => {
    const serving = one('kubernetes:yaml/v2:ConfigGroup', 'knative-serving');
    const kourier = one('kubernetes:yaml/v2:ConfigGroup', 'knative-kourier');
    const crds = objs(serving).filter((o) => o.kind === 'CustomResourceDefinition');
    expect(new Set(crds.map((o) => o.metadata.name)).size).toBe(crds.length);
    expect(crds.length).toBe(12);
    expect(objs(kourier).some((o) => o.kind === 'CustomResourceDefinition')).toBe(false);
    expect(dependsOn(kourier, 'knative-serving')).toBe(true);
    expect(dependsOn(serving, 'knative-kourier')).toBe(false);
    expect(serving.inputs.skipAwait).toBe(false);
  });

  it('writes Kourier as the ingress class and keeps the LoadBalancer gateway, without magic DNS', () => {
    const serving = objs(one('kubernetes:yaml/v2:ConfigGroup', 'knative-serving'));
    const kourier = objs(one('kubernetes:yaml/v2:ConfigGroup', 'knative-kourier'));
    expect(named(serving, 'ConfigMap', 'config-network')?.data).toMatchObject({
      'ingress-class': KOURIER_INGRESS_CLASS,
    });
    expect(named(kourier, 'Service', 'kourier')?.spec).toMatchObject({ type: 'LoadBalancer' });
    expect(named(kourier, 'Job', 'default-domain')).toBeUndefined();
  });

  it("exports the gateway's address from the Kourier group's Service (no read), the domain and version", async () => {
    expect(registered.filter((r) => r.id)).toEqual([]); // nothing read with .get
    expect(await valueOf(stack.kourierAddress)).toBe('203.0.113.10');
    expect(await valueOf(stack.domain)).toBe('');
    expect(await valueOf(stack.knativeVersion)).toBe('1.13.0');
    expect(await valueOf(stack.apiUrl)).toBe('http://hks-api.hks-system.svc');
  });

  it('installs the access objects of api/rbac.ts: cluster role, tenant role, binding, admission policy', () => {
    const inputs = (type: string, name: string) => {
      const { metadata, ...rest } = one(type, name).inputs as { metadata: object };
      return { ...rest, metadata };
    };
    const installed = [
      inputs('kubernetes:rbac.authorization.k8s.io/v1:ClusterRole', 'hks-api-role'),
      inputs('kubernetes:rbac.authorization.k8s.io/v1:ClusterRole', 'hks-hks-api-tenant-role'),
      inputs('kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding', 'hks-api-binding'),
      inputs('kubernetes:rbac.authorization.k8s.io/v1:Role', 'hks-api-leader-election-role'),
      inputs(
        'kubernetes:rbac.authorization.k8s.io/v1:RoleBinding',
        'hks-api-leader-election-binding',
      ),
      inputs(
        'kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy',
        'hks-api-policy',
      ),
      inputs(
        'kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding',
        'hks-api-policy-binding',
      ),
    ];
    expect(installed).toEqual(
      apiAccessObjects(API_IDENTITY, {
        'app.kubernetes.io/part-of': 'hks-platform',
        'app.kubernetes.io/managed-by': 'pulumi',
      }),
    );
    const resources = installed.flatMap(
      (o) => (o as { rules?: { resources: string[] }[] }).rules?.flatMap((r) => r.resources) ?? [],
    );
    // Secrets only to create (an agent session's): never to read, list, patch or delete.
    const secretVerbs = installed.flatMap(
      (o) =>
        (o as { rules?: { resources: string[]; verbs: string[] }[] }).rules?.flatMap((r) =>
          r.resources.includes('secrets') ? r.verbs : [],
        ) ?? [],
    );
    expect(secretVerbs).toEqual(['create']);
    expect(resources).not.toContain('pods/exec');
    expect(resources).not.toContain('clusterrolebindings');
    const binding = one(
      'kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding',
      'hks-api-binding',
    );
    expect(binding.inputs).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: 'hks-api' },
      subjects: [{ kind: 'ServiceAccount', name: 'hks-api', namespace: 'hks-system' }],
    });
    // The confinement is in force before the rights it confines.
    expect(dependsOn(binding, 'hks-api-policy')).toBe(true);
  });

  it('runs the API restricted-compliant in a restricted namespace', () => {
    const ns = one('kubernetes:core/v1:Namespace', 'hks-namespace');
    expect((ns.inputs.metadata as KubeObject['metadata']).labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    const deployment = one('kubernetes:apps/v1:Deployment', 'hks-api');
    const pod = (deployment.inputs.spec as { template: { spec: Record<string, unknown> } }).template
      .spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const [container] = pod.containers as { securityContext: unknown; envFrom: unknown }[];
    // The same restricted container settings as every workload's (restricted-container.test.ts).
    expect(container.securityContext).toEqual({
      runAsNonRoot: true,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.envFrom).toEqual([{ secretRef: { name: 'hks-api-config' } }]);
    expect(dependsOn(deployment, 'hks-api-config')).toBe(true);
  });

  it('keeps the API configuration in a Secret whose data are Pulumi secrets', async () => {
    const secret = one('kubernetes:core/v1:Secret', 'hks-api-config');
    // what the engine receives: the value wrapped as a secret (Pulumi's wire format)
    expect(secret.inputs.stringData).toEqual({
      [SECRET_SIG_KEY]: SECRET_SIG,
      value: { HKS_JWT_SECRET: 's3cret' },
    });
    const configSecret = stack.platform.configSecret;
    if (configSecret === undefined) throw new Error('no config Secret');
    expect(await pulumi.isSecret(configSecret.stringData)).toBe(true);
  });
});

describe('non-default config', () => {
  let stack: import('../stacks').PlatformStack;
  beforeAll(async () => {
    registered.splice(0);
    stack = await build({
      ...base,
      domain: 'fn.example.com',
      kourierServiceType: 'NodePort',
      skipAwait: true,
      api: undefined,
      appsDir,
    });
  });

  it('installs no API objects when installApi is false', () => {
    const types = registered.map((r) => r.type);
    expect(types).not.toContain('kubernetes:apps/v1:Deployment');
    expect(types).not.toContain('kubernetes:rbac.authorization.k8s.io/v1:ClusterRole');
    expect(types).toContain('kubernetes:core/v1:Namespace');
  });

  it('writes the domain and the NodePort gateway, and skips awaiting', async () => {
    const serving = one('kubernetes:yaml/v2:ConfigGroup', 'knative-serving');
    const kourier = one('kubernetes:yaml/v2:ConfigGroup', 'knative-kourier');
    expect(named(objs(serving), 'ConfigMap', 'config-domain')?.data).toMatchObject({
      'fn.example.com': '',
    });
    expect(named(objs(kourier), 'Service', 'kourier')?.spec).toMatchObject({ type: 'NodePort' });
    expect(serving.inputs.skipAwait).toBe(true);
    expect(kourier.inputs.skipAwait).toBe(true);
    expect(await valueOf(stack.domain)).toBe('fn.example.com');
  });

  it('deploys apps/ through the constructs into a ConfigGroup after Knative and the platform', async () => {
    const apps = one('kubernetes:yaml/v2:ConfigGroup', 'apps-objects');
    expect(dependsOn(apps, 'knative-serving')).toBe(true);
    expect(dependsOn(apps, 'knative-kourier')).toBe(true);
    expect(dependsOn(apps, 'hks-namespace')).toBe(true);
    expect(objs(apps)).toEqual(stacks.appManifests(appsDir));
    expect(named(objs(apps), 'Namespace', 'shop')).toBeDefined();
    expect(apps.inputs.skipAwait).toBe(true);
    expect(await valueOf(stack.appObjectCount)).toBe(objs(apps).length);
  });
});

describe('platform settings', () => {
  const platformSettings = {
    tenancy: { podQuota: 30 },
    projects: { shop: { tenancy: { cpuQuota: '6' } } },
  };
  beforeAll(async () => {
    registered.splice(0);
    await build({ ...base, appsDir, platformSettings });
  });

  it("reach the applications' charts, with each project's own override", () => {
    const apps = one('kubernetes:yaml/v2:ConfigGroup', 'apps-objects');
    expect(named(objs(apps), 'ResourceQuota', 'hks-quota')?.spec).toEqual({
      hard: { 'requests.cpu': '6', 'requests.memory': '16Gi', pods: '30' },
    });
  });

  it('reach the API as a ConfigMap file it reads at start', () => {
    const map = one('kubernetes:core/v1:ConfigMap', 'hks-platform-settings');
    expect(JSON.parse((map.inputs.data as Record<string, string>)['settings.json'])).toEqual(
      platformSettings,
    );
    const { pod, container } = apiPod();
    expect(envOf(container).HKS_PLATFORM_SETTINGS).toBe('/etc/hks/settings/settings.json');
    expect(container.volumeMounts).toContainEqual({
      name: 'settings',
      mountPath: '/etc/hks/settings',
      readOnly: true,
    });
    expect(pod.volumes).toContainEqual({
      name: 'settings',
      configMap: { name: 'hks-platform-settings' },
    });
    expect(
      dependsOn(one('kubernetes:apps/v1:Deployment', 'hks-api'), 'hks-platform-settings'),
    ).toBe(true);
  });
});

/** The API container of the registered Deployment, and its pod spec. */
function apiPod(): { pod: Record<string, unknown>; container: Record<string, unknown> } {
  const deployment = one('kubernetes:apps/v1:Deployment', 'hks-api');
  const pod = (deployment.inputs.spec as { template: { spec: Record<string, unknown> } }).template
    .spec;
  return { pod, container: (pod.containers as Record<string, unknown>[])[0] };
}

const envOf = (container: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(
    (container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]),
  );

describe('the API Deployment', () => {
  beforeAll(async () => {
    registered.splice(0);
    await build(base);
  });

  it('opens its SQLite store on the data volume, an emptyDir by default, and keeps /tmp writable', () => {
    const { pod, container } = apiPod();
    expect(envOf(container)).toEqual({
      PORT: '8080',
      HKS_NAMESPACE_PREFIX: '',
      HKS_SQLITE_PATH: '/var/lib/hks/api.sqlite',
    });
    expect(container.volumeMounts).toEqual([
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'data', mountPath: '/var/lib/hks' },
    ]);
    expect(pod.volumes).toEqual([
      { name: 'tmp', emptyDir: {} },
      { name: 'data', emptyDir: {} },
    ]);
    expect(registered.map((r) => r.type)).not.toContain('kubernetes:core/v1:PersistentVolumeClaim');
  });

  it('is ready when /readyz answers and alive while /healthz does, as the image user', () => {
    const { pod, container } = apiPod();
    expect(container.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'http' } });
    expect(container.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'http' } });
    expect(container.startupProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'http' } });
    expect(pod.securityContext).toMatchObject({
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
    });
    expect(container.imagePullPolicy).toBe('IfNotPresent');
  });
});

/** A warm pool key as `openssl rand -hex 32` makes one. */
const WARM_POOL_KEY = 'c0ffee'.repeat(10) + 'beef';

describe('the API with its settings, a claim for its store, in a namespace of its own', () => {
  beforeAll(async () => {
    registered.splice(0);
    await build(
      {
        ...base,
        platformNamespace: 'platform',
        namespacePrefix: 'team-',
        appsDir,
        api: {
          image: 'ghcr.io/acme/hks-api:0.1.0',
          replicas: 1,
          hasDatabaseUrl: false,
          sqliteStorage: { kind: 'persistentVolumeClaim', size: '5Gi', storageClassName: 'fast' },
          environment: {
            HKS_JWT_ISSUER: 'https://login.example.com',
            HKS_WARM_POOL_PROJECTS: 'shop=2',
            HKS_WARM_POOL_MODE: 'deployment',
          },
        },
      },
      {
        apiJwtSecret: pulumi.secret('s3cret'),
        apiInternalJwtSecret: pulumi.secret('internal'),
        apiMetricsToken: pulumi.secret('metrics'),
        apiWarmPoolKey: pulumi.secret(WARM_POOL_KEY),
      },
    );
  });

  it('passes the namespace prefix and the settings to the API', () => {
    expect(envOf(apiPod().container)).toEqual({
      PORT: '8080',
      HKS_NAMESPACE_PREFIX: 'team-',
      HKS_SQLITE_PATH: '/var/lib/hks/api.sqlite',
      HKS_JWT_ISSUER: 'https://login.example.com',
      HKS_WARM_POOL_PROJECTS: 'shop=2',
      HKS_WARM_POOL_MODE: 'deployment',
    });
  });

  it('keeps the warm pool key out of the plain environment', () => {
    const deployment = JSON.stringify(one('kubernetes:apps/v1:Deployment', 'hks-api').inputs);
    expect(deployment).not.toContain('HKS_WARM_POOL_KEY');
    expect(deployment).not.toContain(WARM_POOL_KEY);
  });

  it('claims a volume for the store and replaces the pod rather than running two on it', () => {
    const claim = one('kubernetes:core/v1:PersistentVolumeClaim', 'hks-api-data');
    expect(claim.inputs).toMatchObject({
      metadata: { name: 'hks-api-data', namespace: 'platform' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '5Gi' } },
        storageClassName: 'fast',
      },
    });
    const { pod } = apiPod();
    expect(pod.volumes).toContainEqual({
      name: 'data',
      persistentVolumeClaim: { claimName: 'hks-api-data' },
    });
    const deployment = one('kubernetes:apps/v1:Deployment', 'hks-api');
    expect((deployment.inputs.spec as { strategy: unknown }).strategy).toEqual({
      type: 'Recreate',
    });
    expect(dependsOn(deployment, 'hks-api-data')).toBe(true);
  });

  it('puts the secrets into the config Secret', () => {
    expect(one('kubernetes:core/v1:Secret', 'hks-api-config').inputs.stringData).toEqual({
      [SECRET_SIG_KEY]: SECRET_SIG,
      value: {
        HKS_JWT_SECRET: 's3cret',
        HKS_INTERNAL_JWT_SECRET: 'internal',
        HKS_METRICS_TOKEN: 'metrics',
        HKS_WARM_POOL_KEY: WARM_POOL_KEY,
      },
    });
  });

  it('installs the platform and the access of its ServiceAccount in the namespace given', async () => {
    const ns = one('kubernetes:core/v1:Namespace', 'hks-namespace');
    expect((ns.inputs.metadata as KubeObject['metadata']).name).toBe('platform');
    const binding = one(
      'kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding',
      'hks-api-binding',
    );
    expect(binding.inputs).toMatchObject({
      metadata: { name: 'platform-hks-api' },
      subjects: [{ kind: 'ServiceAccount', name: 'hks-api', namespace: 'platform' }],
    });
    expect(one('kubernetes:apps/v1:Deployment', 'hks-api').inputs.metadata).toMatchObject({
      namespace: 'platform',
    });
  });

  it('deploys the applications into prefixed namespaces, as the API names them', () => {
    const apps = objs(one('kubernetes:yaml/v2:ConfigGroup', 'apps-objects'));
    expect(named(apps, 'Namespace', 'team-shop')).toBeDefined();
    expect(named(apps, 'Namespace', 'shop')).toBeUndefined();
    expect(apps).toEqual(stacks.appManifests(appsDir, { namespaceForProject: (p) => `team-${p}` }));
  });
});

describe('magic DNS', () => {
  it('adds the default-domain Job to the Kourier group', async () => {
    registered.splice(0);
    await build({ ...base, magicDns: true });
    const kourier = objs(one('kubernetes:yaml/v2:ConfigGroup', 'knative-kourier'));
    expect(named(kourier, 'Job', 'default-domain')?.metadata.annotations).toMatchObject({
      'pulumi.com/skipAwait': 'true',
    });
  });
});

describe('readStackConfig', () => {
  afterEach(() => pulumi.runtime.setAllConfig({}));

  it('reads the secrets as secret outputs and applies defaults', async () => {
    pulumi.runtime.setAllConfig(
      {
        'hks-platform:apiImage': 'ghcr.io/acme/hks-api:0.1.0',
        'hks-platform:apiJwtSecret': 'jwt',
        'hks-platform:apiDatabaseUrl': 'postgres://hks@db/hks',
        'hks-platform:apiReplicas': '2',
      },
      ['hks-platform:apiJwtSecret', 'hks-platform:apiDatabaseUrl'],
    );
    const { settings, secrets } = stacks.readStackConfig(new pulumi.Config('hks-platform'));
    expect(settings).toEqual({
      knativeVersion: '1.13.0',
      knativeManifestDir: undefined,
      domain: undefined,
      kourierServiceType: 'LoadBalancer',
      magicDns: false,
      skipAwait: false,
      knativeWebhooks: true,
      platformNamespace: 'hks-system',
      namespacePrefix: '',
      api: {
        image: 'ghcr.io/acme/hks-api:0.1.0',
        replicas: 2,
        hasDatabaseUrl: true,
        sqliteStorage: { kind: 'emptyDir' },
        environment: {},
      },
      appsDir: undefined,
    });
    if (!secrets.apiJwtSecret || !secrets.apiDatabaseUrl) throw new Error('secrets not read');
    expect(await pulumi.isSecret(secrets.apiJwtSecret)).toBe(true);
    expect(await pulumi.isSecret(secrets.apiDatabaseUrl)).toBe(true);
    expect(secrets.apiInternalJwtSecret).toBeUndefined();
    expect(secrets.apiWarmPoolKey).toBeUndefined();
  });

  it('reads the warm pool key as a secret output, which the warm pool settings then need', async () => {
    pulumi.runtime.setAllConfig(
      {
        'hks-platform:apiJwtSecret': 'jwt',
        'hks-platform:apiWarmPoolProjects': 'shop=2',
        'hks-platform:apiWarmPoolMode': 'deployment',
        'hks-platform:apiWarmPoolKey': WARM_POOL_KEY,
      },
      ['hks-platform:apiJwtSecret', 'hks-platform:apiWarmPoolKey'],
    );
    const { settings, secrets } = stacks.readStackConfig(new pulumi.Config('hks-platform'));
    expect(settings.api?.environment).toEqual({
      HKS_WARM_POOL_PROJECTS: 'shop=2',
      HKS_WARM_POOL_MODE: 'deployment',
    });
    expect(JSON.stringify(settings)).not.toContain(WARM_POOL_KEY);
    if (!secrets.apiWarmPoolKey) throw new Error('apiWarmPoolKey not read');
    expect(await pulumi.isSecret(secrets.apiWarmPoolKey)).toBe(true);
  });

  it('refuses mode deployment with a pooled project but no warm pool key', () => {
    pulumi.runtime.setAllConfig(
      {
        'hks-platform:apiJwtSecret': 'jwt',
        'hks-platform:apiWarmPoolProjects': 'shop=2',
        'hks-platform:apiWarmPoolMode': 'deployment',
      },
      ['hks-platform:apiJwtSecret'],
    );
    expect(() => stacks.readStackConfig(new pulumi.Config('hks-platform'))).toThrow(
      'hks-platform:apiWarmPoolKey: given nothing, expected at least 32 characters with HKS_WARM_POOL_MODE=deployment',
    );
  });

  it('names the key, the value given and what is expected', () => {
    pulumi.runtime.setAllConfig({ 'hks-platform:kourierServiceType': 'Ingress' });
    expect(() => stacks.readStackConfig(new pulumi.Config('hks-platform'))).toThrow(
      'hks-platform:kourierServiceType: given "Ingress", expected one of LoadBalancer, NodePort, ClusterIP',
    );
  });
});

describe('the program (stacks/main.ts)', () => {
  it('exports the outputs for a config of local manifests, no load balancer and no API', async () => {
    registered.splice(0);
    pulumi.runtime.setAllConfig({
      'hks-platform:knativeManifestDir': knativeManifestDir(),
      'hks-platform:kourierServiceType': 'ClusterIP',
      'hks-platform:installApi': 'false',
      'hks-platform:skipAwait': 'true',
    });
    const program = await import('../stacks/main');
    expect(await valueOf(program.knativeVersion)).toBe('1.13.0');
    expect(await valueOf(program.apiUrl)).toBe('');
    await settled(registered);
    const kourier = objs(one('kubernetes:yaml/v2:ConfigGroup', 'knative-kourier'));
    expect(named(kourier, 'Service', 'kourier')?.spec).toMatchObject({ type: 'ClusterIP' });
    pulumi.runtime.setAllConfig({});
  });
});

describe('the components in a program of their own', () => {
  const exampleApps = resolve(__dirname, '..', 'examples', 'pulumi-platform', 'apps');
  let knative: import('../stacks').KnativeServing;
  let platform: import('../stacks').HksPlatform;
  let apps: import('../stacks').HksApps;
  beforeAll(async () => {
    registered.splice(0);
    const k8s = await import('@pulumi/kubernetes');
    const cluster = { kubeconfig: '/clusters/other.yaml', context: 'other' };
    const provider = new k8s.Provider('other-cluster', cluster);
    knative = new stacks.KnativeServing(
      'kn',
      { manifestDir: knativeManifestDir(), kourierServiceType: 'NodePort' },
      { provider },
    );
    platform = new stacks.HksPlatform(
      'plat',
      {
        namespace: 'platform',
        api: { jwtSecret: pulumi.secret('s3cret'), namespacePrefix: 'team-' },
      },
      { provider },
    );
    apps = new stacks.HksApps(
      'web',
      { appsDir: exampleApps, build: { namespaceForProject: (p) => `team-${p}` } },
      {
        dependsOn: [knative, platform],
        provider: stacks.appsProvider('apps-cluster', knative, cluster),
      },
    );
    await valueOf(knative.kourierAddress);
    await settled(registered);
  });

  it('registers the components under their documented type tokens', () => {
    expect(stacks.KnativeServing.pulumiType).toBe('hks:platform:KnativeServing');
    expect(stacks.HksPlatform.pulumiType).toBe('hks:platform:HksPlatform');
    expect(stacks.HksApps.pulumiType).toBe('hks:platform:HksApps');
    expect(registered.filter((r) => r.type.startsWith('hks:')).map((r) => r.type)).toEqual([
      'hks:platform:KnativeServing',
      'hks:platform:HksPlatform',
      'hks:platform:HksApps',
    ]);
  });

  it("gives every child the program's provider, the applications the one made after Knative", () => {
    const providerName = (r: RegisteredResource) =>
      r.provider.split('::').slice(0, -1).pop() ?? `none: ${r.type}::${r.name}`;
    const children = registered.filter((r) => r.type.startsWith('kubernetes:'));
    expect(children.length).toBeGreaterThan(15);
    const byProvider = new Map<string, string[]>();
    for (const r of children) {
      byProvider.set(providerName(r), [...(byProvider.get(providerName(r)) ?? []), r.name]);
    }
    expect(byProvider.get('apps-cluster')).toEqual(['web-objects']);
    expect([...byProvider.keys()].sort()).toEqual(['apps-cluster', 'other-cluster']);
    // the applications' provider waits for Knative's groups
    const appsProvider = one('pulumi:providers:kubernetes', 'apps-cluster');
    expect(dependsOn(appsProvider, 'kn-serving')).toBe(true);
    expect(dependsOn(appsProvider, 'kn-kourier')).toBe(true);
    expect(appsProvider.inputs).toMatchObject({
      kubeconfig: '/clusters/other.yaml',
      context: 'other',
    });
  });

  it('exports the namespaces, the gateway, the API URL and the applications', async () => {
    expect(await valueOf(knative.servingNamespace)).toBe('knative-serving');
    expect(await valueOf(knative.kourierNamespace)).toBe('kourier-system');
    expect(await valueOf(knative.kourierAddress)).toBe('<any-node-ip>:31080');
    expect(await valueOf(knative.knativeVersion)).toBe('1.13.0');
    expect(await valueOf(platform.namespaceName)).toBe('platform');
    expect(await valueOf(platform.apiUrl)).toBe('http://hks-api.platform.svc');
    expect(await valueOf(apps.namespaces)).toEqual(['team-web']);
    expect(await valueOf(apps.objectCount)).toBe(
      stacks.appManifests(exampleApps, { namespaceForProject: (p) => `team-${p}` }).length,
    );
    expect(one('kubernetes:apps/v1:Deployment', 'plat-api').inputs).toMatchObject({
      metadata: { namespace: 'platform' },
      spec: { template: { spec: { containers: [{ image: 'hks.local/hks-api:0.1.0' }] } } },
    });
  });
});

describe('component arguments are checked before anything is registered', () => {
  const secret = () => pulumi.secret('s3cret');
  it.each<[string, () => unknown, string]>([
    [
      'version',
      () => new stacks.KnativeServing('bad', { version: '1.13' }),
      'KnativeServing "bad": args.version: given "1.13", expected a Knative release version such as "1.13.0"',
    ],
    [
      'domain',
      () => new stacks.KnativeServing('bad', { domain: 'Fn_Example.com' }),
      'KnativeServing "bad": args.domain: given "Fn_Example.com", expected a lower-case DNS name',
    ],
    [
      'domain with magicDns',
      () => new stacks.KnativeServing('bad', { domain: 'fn.example.com', magicDns: true }),
      'KnativeServing "bad": args.domain: given "fn.example.com", expected no domain when magicDns is true',
    ],
    [
      'kourierServiceType',
      () =>
        new stacks.KnativeServing('bad', {
          kourierServiceType: 'Ingress' as import('../stacks').KourierServiceType,
        }),
      'KnativeServing "bad": args.kourierServiceType: given "Ingress", expected one of LoadBalancer, NodePort, ClusterIP',
    ],
    [
      'manifestDir',
      () => new stacks.KnativeServing('bad', { manifestDir: '/nonexistent/knative' }),
      'KnativeServing "bad": args.manifestDir: given "/nonexistent/knative", expected a folder holding the release files',
    ],
    [
      'skipAwait',
      () => new stacks.KnativeServing('bad', { skipAwait: 'yes' as unknown as boolean }),
      'KnativeServing "bad": args.skipAwait: given "yes", expected true or false',
    ],
    [
      'namespace',
      () => new stacks.HksPlatform('bad', { namespace: 'kube-hks' }),
      'HksPlatform "bad": args.namespace: given "kube-hks", expected a namespace outside the reserved ones',
    ],
    [
      'api.image',
      () => new stacks.HksPlatform('bad', { api: { image: 'Not An Image', jwtSecret: secret() } }),
      'HksPlatform "bad": args.api.image: given "Not An Image", expected an image reference such as ghcr.io/acme/hks-api:0.1.0',
    ],
    [
      'api.replicas',
      () => new stacks.HksPlatform('bad', { api: { replicas: 2, jwtSecret: secret() } }),
      'HksPlatform "bad": args.api.replicas: given 2, expected 1 without databaseUrl (the embedded SQLite store is per pod)',
    ],
    [
      'api.namespacePrefix',
      () =>
        new stacks.HksPlatform('bad', { api: { namespacePrefix: 'Team_', jwtSecret: secret() } }),
      'HksPlatform "bad": args.api.namespacePrefix: given "Team_", expected lower-case letters',
    ],
    [
      'api.sqliteStorage.size',
      () =>
        new stacks.HksPlatform('bad', {
          api: {
            sqliteStorage: { kind: 'persistentVolumeClaim', size: '5 GB' },
            jwtSecret: secret(),
          },
        }),
      'HksPlatform "bad": args.api.sqliteStorage.size: given "5 GB", expected a volume size such as 1Gi or 500Mi',
    ],
    [
      'api.sqliteStorage with databaseUrl',
      () =>
        new stacks.HksPlatform('bad', {
          api: {
            sqliteStorage: { kind: 'persistentVolumeClaim', size: '1Gi' },
            databaseUrl: secret(),
            jwtSecret: secret(),
          },
        }),
      'HksPlatform "bad": args.api.sqliteStorage.kind: given "persistentVolumeClaim", expected emptyDir (or nothing) with databaseUrl',
    ],
    [
      'api.environment variable',
      () =>
        new stacks.HksPlatform('bad', {
          api: { environment: { HKS_JWT_SECRET: 'plain' }, jwtSecret: secret() },
        }),
      `HksPlatform "bad": args.api.environment: given "HKS_JWT_SECRET", expected one of the API's settings HKS_FUNCTION_GATEWAY,`,
    ],
    [
      'api.environment value',
      () =>
        new stacks.HksPlatform('bad', {
          api: { environment: { HKS_JWT_MAX_LIFETIME_SECONDS: '10' }, jwtSecret: secret() },
        }),
      'HksPlatform "bad": args.api.environment.HKS_JWT_MAX_LIFETIME_SECONDS: given "10", expected a whole number from 60 to 2592000',
    ],
    [
      'api.environment warm pool mode',
      () =>
        new stacks.HksPlatform('bad', {
          api: { environment: { HKS_WARM_POOL_MODE: 'pods' }, jwtSecret: secret() },
        }),
      'HksPlatform "bad": args.api.environment.HKS_WARM_POOL_MODE: given "pods", expected services or deployment',
    ],
    [
      'api.warmPoolKey',
      () =>
        new stacks.HksPlatform('bad', {
          api: {
            environment: { HKS_WARM_POOL_PROJECTS: 'shop=2', HKS_WARM_POOL_MODE: 'deployment' },
            jwtSecret: secret(),
          },
        }),
      'HksPlatform "bad": args.api.warmPoolKey: given nothing, expected at least 32 characters with HKS_WARM_POOL_MODE=deployment',
    ],
    [
      'appsDir',
      () => new stacks.HksApps('bad', { appsDir: '/nonexistent/apps' }),
      'given a path that does not exist, expected a folder or YAML file of definitions',
    ],
  ])('%s', async (_arg, build, message) => {
    registered.splice(0);
    expect(build).toThrow(message);
    await settled(registered);
    expect(registered).toEqual([]);
  });
});

describe('the example program (examples/pulumi-platform)', () => {
  it('runs with its config: every Kubernetes resource through its own two providers', async () => {
    registered.splice(0);
    const key = (name: string) => `${pulumi.getProject()}:${name}`;
    pulumi.runtime.setAllConfig(
      {
        [key('kubeconfig')]: '/clusters/example.yaml',
        [key('knativeManifestDir')]: knativeManifestDir(),
        [key('kourierServiceType')]: 'ClusterIP',
        [key('knativeWebhooks')]: 'true',
        [key('apiJwtSecret')]: 's3cret',
      },
      [key('apiJwtSecret')],
    );
    try {
      const program = await import('../examples/pulumi-platform');
      expect(await valueOf(program.kourierAddress)).toBe('10.96.0.10:80');
      expect(await valueOf(program.platformNamespace)).toBe('platform');
      expect(await valueOf(program.apiUrl)).toBe('http://hks-api.platform.svc');
      expect(await valueOf(program.appNamespaces)).toEqual(['team-web']);
      await settled(registered);
      const providers = new Set(
        registered
          .filter((r) => r.type.startsWith('kubernetes:'))
          .map((r) => r.provider.split('::').slice(0, -1).pop()),
      );
      expect([...providers].sort()).toEqual(['apps-cluster', 'cluster']);
      expect(one('pulumi:providers:kubernetes', 'cluster').inputs).toMatchObject({
        kubeconfig: '/clusters/example.yaml',
        enableConfigMapMutable: 'true',
      });
    } finally {
      pulumi.runtime.setAllConfig({});
    }
  });
});
