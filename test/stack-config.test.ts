import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { apiImageReference } from '../images/api/reference';
import {
  API_VARIABLES,
  parseStackConfig,
  PROJECT_DIR,
  RawStackConfig,
  STACK_CONFIG_KEYS,
  STACK_SECRET_KEYS,
} from '../stacks/stack-config';

const withApi: RawStackConfig = { apiImage: 'ghcr.io/acme/hks-api:0.1.0', apiJwtSecret: '<set>' };
const apiDefaults = {
  replicas: 1,
  hasDatabaseUrl: false,
  sqliteStorage: { kind: 'emptyDir' },
  environment: {},
};

describe('parseStackConfig', () => {
  it('applies the documented defaults', () => {
    expect(parseStackConfig(withApi)).toEqual({
      knativeVersion: '1.13.0',
      knativeManifestDir: undefined,
      domain: undefined,
      kourierServiceType: 'LoadBalancer',
      magicDns: false,
      skipAwait: false,
      knativeWebhooks: true,
      platformNamespace: 'hks-system',
      namespacePrefix: '',
      api: { image: 'ghcr.io/acme/hks-api:0.1.0', ...apiDefaults },
      appsDir: undefined,
    });
  });

  it('defaults apiImage to the image npm run image:api builds, tagged with the package version', () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(apiImageReference()).toBe(`hks.local/hks-api:${version}`);
    expect(parseStackConfig({ apiJwtSecret: '<set>' }).api?.image).toBe(apiImageReference());
  });

  it('reads every setting', () => {
    expect(
      parseStackConfig({
        knativeVersion: 'v1.14.1',
        knativeManifestDir: '/srv/knative/v1.14.1',
        domain: 'fn.example.com',
        kourierServiceType: 'NodePort',
        skipAwait: 'true',
        knativeWebhooks: 'false',
        platformNamespace: 'platform',
        namespacePrefix: 'team-',
        installApi: 'false',
        deployApps: 'true',
      }),
    ).toEqual({
      knativeVersion: '1.14.1',
      knativeManifestDir: '/srv/knative/v1.14.1',
      domain: 'fn.example.com',
      kourierServiceType: 'NodePort',
      magicDns: false,
      skipAwait: true,
      knativeWebhooks: false,
      platformNamespace: 'platform',
      namespacePrefix: 'team-',
      api: undefined,
      appsDir: join(PROJECT_DIR, 'apps'),
    });
  });

  it('reads relative paths from the folder of Pulumi.yaml, not from stacks/ where the program runs', () => {
    const root = join(__dirname, '..');
    expect(PROJECT_DIR).toBe(root);
    const { main } = parse(readFileSync(join(PROJECT_DIR, 'Pulumi.yaml'), 'utf8')) as {
      main: string;
    };
    expect(join(PROJECT_DIR, main)).toBe(join(__dirname, '..', 'stacks', 'main.ts'));
    const relative = { installApi: 'false', deployApps: 'true' };
    expect(parseStackConfig(relative).appsDir).toBe(join(root, 'apps'));
    expect(
      parseStackConfig({ ...relative, appsDir: './apps', knativeManifestDir: 'knative-1.13.0' }),
    ).toMatchObject({
      appsDir: join(root, 'apps'),
      knativeManifestDir: join(root, 'knative-1.13.0'),
    });
    expect(
      parseStackConfig({ ...relative, appsDir: '../defs', knativeManifestDir: '/srv/k' }, '/x/y'),
    ).toMatchObject({ appsDir: '/x/defs', knativeManifestDir: '/srv/k' });
  });

  it('allows several API replicas with a database URL', () => {
    expect(parseStackConfig({ ...withApi, apiReplicas: '3', apiDatabaseUrl: '<set>' }).api).toEqual(
      { ...apiDefaults, image: 'ghcr.io/acme/hks-api:0.1.0', replicas: 3, hasDatabaseUrl: true },
    );
  });

  it('puts the SQLite store on a PersistentVolumeClaim when asked', () => {
    expect(
      parseStackConfig({ ...withApi, apiSqliteStorage: 'persistentVolumeClaim' }).api
        ?.sqliteStorage,
    ).toEqual({
      kind: 'persistentVolumeClaim',
      size: '1Gi',
    });
    expect(
      parseStackConfig({
        ...withApi,
        apiSqliteStorage: 'persistentVolumeClaim',
        apiSqliteStorageSize: '5Gi',
        apiSqliteStorageClass: 'fast-ssd',
      }).api?.sqliteStorage,
    ).toEqual({ kind: 'persistentVolumeClaim', size: '5Gi', storageClassName: 'fast-ssd' });
  });

  it("passes the API's settings as its environment variables", () => {
    const values: Record<string, string> = {
      apiFunctionGateway: 'http://kourier-internal.kourier-system.svc.cluster.local',
      apiJwtIssuer: 'https://login.example.com',
      apiJwtAudience: 'hks',
      apiJwtMaxLifetimeSeconds: '3600',
      apiClusterDomain: 'cluster.example',
      apiReadyTimeoutSeconds: '120',
      apiLogLimitBytes: '2097152',
      apiRetentionMaxExecutions: '50',
      apiRetentionMaxAgeDays: '7',
      apiRetentionMaxLogBytesPerProject: '1073741824',
      apiRetentionIntervalSeconds: '600',
      apiRetentionAuditMaxAgeDays: '365',
      apiRetentionMaxInvocations: '500',
      apiRetentionInvocationMaxAgeDays: '3',
      apiKubeTimeoutSeconds: '20',
      apiBodyLimitBytes: '4194304',
      apiDefinitionLimitBytes: '2097152',
      apiFunctionResponseLimitBytes: '8388608',
      apiDefinitionWorkers: '4',
      apiEphemeralMaxPerProject: '3',
      apiEphemeralCpuLimit: '500m',
      apiEphemeralMemoryLimit: '128Mi',
      apiLogLevel: 'warn',
      apiLogFormat: 'pretty',
      apiWarmPoolProjects: 'shop=1,lab',
      apiWarmPoolSize: '1',
      apiWarmPoolRuntimes: 'python3.12',
      apiWarmPoolMode: 'services',
    };
    expect(Object.keys(values).sort()).toEqual(Object.keys(API_VARIABLES).sort());
    const { environment } = parseStackConfig({ ...withApi, ...values }).api ?? {};
    expect(environment).toEqual(
      Object.fromEntries(
        Object.entries(values).map(([key, value]) => [
          API_VARIABLES[key as keyof typeof API_VARIABLES],
          value,
        ]),
      ),
    );
  });

  it('turns the warm pools on in mode deployment when the key is set, which stays out of the environment', () => {
    const { environment } =
      parseStackConfig({
        ...withApi,
        apiWarmPoolProjects: 'shop=2,ci=1',
        apiWarmPoolMode: 'deployment',
        apiWarmPoolKey: '<set>',
      }).api ?? {};
    expect(environment).toEqual({
      HKS_WARM_POOL_PROJECTS: 'shop=2,ci=1',
      HKS_WARM_POOL_MODE: 'deployment',
    });
    expect(STACK_SECRET_KEYS).toContain('apiWarmPoolKey');
    expect(Object.keys(API_VARIABLES)).not.toContain('apiWarmPoolKey');
  });

  it('needs no warm pool key in mode deployment without a pooled project, nor in mode services', () => {
    expect(() => parseStackConfig({ ...withApi, apiWarmPoolMode: 'deployment' })).not.toThrow();
    expect(() =>
      parseStackConfig({ ...withApi, apiWarmPoolMode: 'deployment', apiWarmPoolProjects: 'lab' }),
    ).not.toThrow();
    expect(() => parseStackConfig({ ...withApi, apiWarmPoolProjects: 'shop=2' })).not.toThrow();
  });

  describe('Pulumi.yaml', () => {
    it('sets the provider to update ConfigMaps in place (Knative reads its config maps while it runs)', () => {
      const { config } = parse(readFileSync(join(__dirname, '..', 'Pulumi.yaml'), 'utf8')) as {
        config: Record<string, { value?: unknown }>;
      };
      expect(config['kubernetes:enableConfigMapMutable']).toEqual({ value: true });
    });

    const text = readFileSync(join(__dirname, '..', 'Pulumi.yaml'), 'utf8');
    const { config } = parse(text) as {
      config: Record<string, { default?: unknown; secret?: boolean; value?: unknown }>;
    };
    /** The project's own keys; the provider's (`kubernetes:...`) are set with a value. */
    const declared = Object.fromEntries(
      Object.entries(config).filter(([key]) => !key.includes(':')),
    );
    /** The comment block of optional keys: `#   <key> (<type>[, secret]): <description>`. */
    const documented = [...text.matchAll(/^# {3}(\w+) \((\w+)(, secret)?\): \S/gm)].map(
      ([, key, , secret]) => ({ key, secret: secret !== undefined }),
    );

    it('declares only keys with a default (a declared key without one is required by the CLI)', () => {
      const withoutDefault = Object.entries(declared)
        .filter(([, declaration]) => declaration.default === undefined)
        .map(([key]) => key);
      expect(withoutDefault).toEqual([]);
    });

    it('declares or documents every key the stack reads, exactly once; the secrets as secrets', () => {
      const keys = [...Object.keys(declared), ...documented.map((d) => d.key)];
      expect(keys.sort()).toEqual([...STACK_CONFIG_KEYS].sort());
      expect(new Set(keys).size).toBe(keys.length);
      expect(
        documented
          .filter((d) => d.secret)
          .map((d) => d.key)
          .sort(),
      ).toEqual([...STACK_SECRET_KEYS].sort());
    });

    it("has defaults the stack accepts and that are the stack's own", () => {
      const defaults = Object.fromEntries(
        Object.entries(declared).map(([key, d]) => [key, String(d.default)]),
      ) as RawStackConfig;
      // what Pulumi hands the program when nothing is set: the declared defaults
      expect(parseStackConfig({ ...withApi, ...defaults })).toEqual(parseStackConfig(withApi));
      expect(
        parseStackConfig({ ...withApi, ...defaults, apiSqliteStorage: 'persistentVolumeClaim' }),
      ).toEqual(parseStackConfig({ ...withApi, apiSqliteStorage: 'persistentVolumeClaim' }));
    });
  });

  it.each<[RawStackConfig, string]>([
    [
      { ...withApi, knativeVersion: '1.13' },
      'hks-platform:knativeVersion: given "1.13", expected a Knative release version such as "1.13.0"',
    ],
    [
      { ...withApi, kourierServiceType: 'loadbalancer' },
      'hks-platform:kourierServiceType: given "loadbalancer", expected one of LoadBalancer, NodePort, ClusterIP',
    ],
    [
      { ...withApi, domain: 'https://fn.example.com' },
      'hks-platform:domain: given "https://fn.example.com", expected a lower-case DNS name such as "fn.example.com"',
    ],
    [
      { ...withApi, domain: 'fn.example.com', magicDns: 'true' },
      'hks-platform:domain: given "fn.example.com", expected no domain when magicDns is true',
    ],
    [{ ...withApi, magicDns: 'yes' }, 'hks-platform:magicDns: given "yes", expected true or false'],
    [
      { ...withApi, apiImage: 'GHCR.io/Acme' },
      'hks-platform:apiImage: given "GHCR.io/Acme", expected an image reference such as ghcr.io/acme/hks-api:0.1.0 (unset: hks.local/hks-api:',
    ],
    [
      { apiImage: 'ghcr.io/acme/hks-api:0.1.0' },
      'hks-platform:apiJwtSecret: given nothing, expected a secret (pulumi config set --secret apiJwtSecret <value>)',
    ],
    [
      { ...withApi, apiReplicas: '0' },
      'hks-platform:apiReplicas: given "0", expected a whole number from 1 to 20',
    ],
    [
      { ...withApi, apiReplicas: '2' },
      'hks-platform:apiReplicas: given "2", expected 1 without apiDatabaseUrl (the embedded SQLite store is per pod)',
    ],
    [
      { ...withApi, installApi: 'no' },
      'hks-platform:installApi: given "no", expected true or false',
    ],
    [
      { ...withApi, platformNamespace: 'kube-hks' },
      'hks-platform:platformNamespace: given "kube-hks", expected a namespace outside the reserved ones',
    ],
    [
      { ...withApi, platformNamespace: 'HKS' },
      'hks-platform:platformNamespace: given "HKS", expected a namespace: a DNS-1123 label',
    ],
    [
      { ...withApi, namespacePrefix: 'Team_' },
      'hks-platform:namespacePrefix: given "Team_", expected lower-case letters, digits and \'-\'',
    ],
    [
      { installApi: 'false', namespacePrefix: 'knative-' },
      'hks-platform:namespacePrefix: given "knative-", expected a prefix not starting with "knative-"',
    ],
    [
      { ...withApi, platformSettings: 'no-such-settings.yaml' },
      'hks-platform:platformSettings: given "no-such-settings.yaml", expected a platform settings file (docs/platform-settings.md): ',
    ],
    [
      { ...withApi, apiSqliteStorage: 'pvc' },
      'hks-platform:apiSqliteStorage: given "pvc", expected one of emptyDir, persistentVolumeClaim',
    ],
    [
      { ...withApi, apiSqliteStorage: 'persistentVolumeClaim', apiDatabaseUrl: '<set>' },
      'hks-platform:apiSqliteStorage: given "persistentVolumeClaim", expected emptyDir (or nothing) with apiDatabaseUrl',
    ],
    [
      { ...withApi, apiSqliteStorageSize: '5Gi' },
      'hks-platform:apiSqliteStorageSize: given "5Gi", expected nothing unless apiSqliteStorage is persistentVolumeClaim',
    ],
    [
      { ...withApi, apiSqliteStorage: 'persistentVolumeClaim', apiSqliteStorageSize: '5 GB' },
      'hks-platform:apiSqliteStorageSize: given "5 GB", expected a volume size such as 1Gi or 500Mi',
    ],
    [
      { ...withApi, apiSqliteStorage: 'persistentVolumeClaim', apiSqliteStorageClass: 'Fast SSD' },
      'hks-platform:apiSqliteStorageClass: given "Fast SSD", expected a Kubernetes object name',
    ],
    // the API's own rules (api/config.ts), under the stack's keys
    [
      { ...withApi, apiFunctionGateway: 'kourier.kourier-system' },
      'hks-platform:apiFunctionGateway: given "kourier.kourier-system", expected an http:// or https:// URL',
    ],
    [
      { ...withApi, apiJwtMaxLifetimeSeconds: '10' },
      'hks-platform:apiJwtMaxLifetimeSeconds: given "10", expected a whole number from 60 to 2592000',
    ],
    [
      { ...withApi, apiRetentionMaxAgeDays: 'a week' },
      'hks-platform:apiRetentionMaxAgeDays: given "a week", expected a whole number from 0 to 36500',
    ],
    [
      { ...withApi, apiRetentionMaxExecutions: '-1' },
      'hks-platform:apiRetentionMaxExecutions: given "-1", expected a whole number from 0 to 1000000',
    ],
    [
      { ...withApi, apiBodyLimitBytes: '10' },
      'hks-platform:apiBodyLimitBytes: given "10", expected a whole number from 1024 to 67108864',
    ],
    [
      { ...withApi, apiDefinitionWorkers: '64' },
      'hks-platform:apiDefinitionWorkers: given "64", expected a whole number from 0 to 16',
    ],
    [
      { ...withApi, apiKubeTimeoutSeconds: '0' },
      'hks-platform:apiKubeTimeoutSeconds: given "0", expected a whole number from 1 to 300',
    ],
    [
      { ...withApi, apiEphemeralCpuLimit: 'two' },
      'hks-platform:apiEphemeralCpuLimit: given "two", expected a CPU amount',
    ],
    [
      { ...withApi, apiEphemeralMemoryLimit: '1.5Mi' },
      'hks-platform:apiEphemeralMemoryLimit: given "1.5Mi", expected',
    ],
    [
      { ...withApi, apiClusterDomain: 'Cluster.Local' },
      'hks-platform:apiClusterDomain: given "Cluster.Local", expected a DNS domain such as cluster.local',
    ],
    // the API's warm pool rules (api/warm-pool-config.ts), under the stack's keys
    [
      { ...withApi, apiWarmPoolMode: 'pods' },
      'hks-platform:apiWarmPoolMode: given "pods", expected services or deployment',
    ],
    [
      { ...withApi, apiWarmPoolProjects: 'Bad_Name' },
      'hks-platform:apiWarmPoolProjects: given "Bad_Name", expected project or project=size (a project name: lower-case letters, digits and -)',
    ],
    [
      { ...withApi, apiWarmPoolProjects: 'shop', apiWarmPoolSize: '21' },
      'hks-platform:apiWarmPoolSize: given "21", expected a whole number from 0 to 20',
    ],
    [
      { ...withApi, apiWarmPoolRuntimes: 'ruby3' },
      'hks-platform:apiWarmPoolRuntimes: given "ruby3", expected a comma-separated list of python3.12, nodejs20',
    ],
    [
      { ...withApi, apiWarmPoolProjects: 'shop=5', apiEphemeralMaxPerProject: '10' },
      'hks-platform:apiWarmPoolProjects: given "shop=5", expected fewer than HKS_EPHEMERAL_MAX_PER_PROJECT=10',
    ],
    [
      { ...withApi, apiWarmPoolProjects: 'shop=2', apiWarmPoolMode: 'deployment' },
      'hks-platform:apiWarmPoolKey: given nothing, expected at least 32 characters with HKS_WARM_POOL_MODE=deployment',
    ],
  ])('refuses %j', (raw, message) => {
    expect(() => parseStackConfig(raw)).toThrow(message);
  });
});

describe('platformSettings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hks-stack-settings-'));

  it('reads the settings file, relative to the folder of Pulumi.yaml', () => {
    writeFileSync(
      join(dir, 'hks.settings.yaml'),
      'tenancy:\n  podQuota: 30\nruntimeImages:\n  nodejs20: registry.example.com/node:20-slim\n',
    );
    expect(
      parseStackConfig({ ...withApi, platformSettings: 'hks.settings.yaml' }, dir).platformSettings,
    ).toEqual({
      tenancy: { podQuota: 30 },
      runtimeImages: { nodejs20: 'registry.example.com/node:20-slim' },
    });
    expect(parseStackConfig(withApi, dir).platformSettings).toBeUndefined();
  });

  it('refuses a bad file, naming the key, the file and each bad field', () => {
    writeFileSync(join(dir, 'bad.yaml'), 'tenancy:\n  cpuQuota: lots\n');
    expect(() => parseStackConfig({ ...withApi, platformSettings: 'bad.yaml' }, dir)).toThrow(
      /^hks-platform:platformSettings: given "bad.yaml", expected a platform settings file .*tenancy\.cpuQuota: given "lots"/,
    );
  });
});
