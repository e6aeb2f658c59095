import { resolve } from 'node:path';
import { API_NAMES } from '../api/rbac';
import { formatProblem } from '../constructs/definition-problem';
import { PACKAGE_DIR } from '../constructs/package-dir';
import {
  loadPlatformSettings,
  type PlatformSettings,
  PlatformSettingsError,
} from '../constructs/platform-settings';
import { apiImageReference } from '../images/api/reference';
import { checkKnativeVersion, KourierServiceType } from '../knative';
import {
  apiEnvironmentProblem,
  claimWithDatabaseUrl,
  DOMAIN_WITH_MAGIC_DNS,
  Expected,
  expectApiImage,
  expectApiReplicas,
  expectDomain,
  expectKnativeVersion,
  expectKourierServiceType,
  expectNamespacePrefix,
  expectPlatformNamespace,
  expectStorageClass,
  expectStorageSize,
  KNATIVE_VERSION,
} from './setting-rules';

/** The Pulumi project name: config keys are `hks-platform:<key>`. */
export const PROJECT_NAME = 'hks-platform';

/**
 * The project's folder, the one holding `Pulumi.yaml` (whose `main` is `stacks/main.ts`):
 * relative paths in the config (`knativeManifestDir`, `appsDir`) are read from here, not from
 * the folder Pulumi's language host runs the program in (`stacks/`).
 */
export const PROJECT_DIR = PACKAGE_DIR;

/** The stack's settings, checked, with defaults applied. */
export interface StackConfig {
  /** Knative Serving and net-kourier release. @default '1.13.0' */
  readonly knativeVersion: string;
  /**
   * Folder holding the Knative manifests (release files or source trees), absolute: a relative
   * `knativeManifestDir` is resolved against the project's folder.
   * @default - the official release files are downloaded during `pulumi up`
   */
  readonly knativeManifestDir?: string;
  /** Domain of function URLs, written to `config-domain`. @default - Knative's default */
  readonly domain?: string;
  /** How the Kourier gateway is exposed. @default 'LoadBalancer' */
  readonly kourierServiceType: KourierServiceType;
  /** Install the sslip.io default-domain Job. @default false */
  readonly magicDns: boolean;
  /** Do not wait for Deployments and Services to become ready. @default false */
  readonly skipAwait: boolean;
  /**
   * Install Knative's admission webhook configurations. Test-only when false: the test control
   * plane's fake nodes cannot run the webhook pod (docs/pulumi.md).
   * @default true
   */
  readonly knativeWebhooks?: boolean;
  /** Namespace of the platform: the API, its ServiceAccount, Secret and network policies. @default 'hks-system' */
  readonly platformNamespace: string;
  /**
   * Namespace of a project = prefix + project name, for the API and for the applications the
   * stack deploys alike.
   * @default ''
   */
  readonly namespacePrefix: string;
  /** The API, or undefined when `installApi` is false. */
  readonly api?: ApiConfig;
  /**
   * Folder of application definitions to deploy, absolute (a relative `appsDir` is resolved
   * against the project's folder), or undefined when `deployApps` is false.
   */
  readonly appsDir?: string;
  /**
   * The operator's tenancy and runtime images, read from the file `platformSettings` names
   * (docs/platform-settings.md): the applications' charts and the API use them alike.
   * @default - the constructs' defaults
   */
  readonly platformSettings?: PlatformSettings;
}

/** Settings of the API Deployment. Secrets stay in Pulumi secret outputs, never here. */
export interface ApiConfig {
  /** The API container image. @default - {@link apiImageReference}: what `npm run image:api` builds */
  readonly image: string;
  /** Replicas; more than 1 needs `apiDatabaseUrl` (SQLite is per pod). @default 1 */
  readonly replicas: number;
  /** Whether `apiDatabaseUrl` was given. @default false */
  readonly hasDatabaseUrl: boolean;
  /** The volume of the embedded SQLite store, without `apiDatabaseUrl`. @default - an emptyDir */
  readonly sqliteStorage: SqliteStorage;
  /**
   * The API's environment variables that `api*` settings set ({@link API_VARIABLES}), e.g.
   * `HKS_JWT_ISSUER`, checked by the API's own rules; unset ones keep the API's defaults.
   * @default {}
   */
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * The volume of the API's SQLite store: an emptyDir (history lives as long as the pod) or a
 * PersistentVolumeClaim (it outlives the pod).
 */
export type SqliteStorage =
  | { readonly kind: 'emptyDir' }
  | {
      readonly kind: 'persistentVolumeClaim';
      /** Requested size, e.g. `1Gi`. */
      readonly size: string;
      /** @default - the cluster's default StorageClass */
      readonly storageClassName?: string;
    };

/** Kinds of {@link SqliteStorage}, as `apiSqliteStorage` takes them. */
export const SQLITE_STORAGE_KINDS = ['emptyDir', 'persistentVolumeClaim'] as const;

/**
 * Stack keys passed to the API as environment variables, by key. The values are checked by
 * the API's own configuration rules (api/config.ts `loadConfig`) before anything is applied, and
 * their defaults are the API's (docs/api.md).
 */
export const API_VARIABLES = {
  apiFunctionGateway: 'HKS_FUNCTION_GATEWAY',
  apiJwtIssuer: 'HKS_JWT_ISSUER',
  apiJwtAudience: 'HKS_JWT_AUDIENCE',
  apiJwtMaxLifetimeSeconds: 'HKS_JWT_MAX_LIFETIME_SECONDS',
  apiClusterDomain: 'HKS_CLUSTER_DOMAIN',
  apiReadyTimeoutSeconds: 'HKS_READY_TIMEOUT_SECONDS',
  apiLogLimitBytes: 'HKS_LOG_LIMIT_BYTES',
  apiRetentionMaxExecutions: 'HKS_RETENTION_MAX_EXECUTIONS',
  apiRetentionMaxAgeDays: 'HKS_RETENTION_MAX_AGE_DAYS',
  apiRetentionMaxLogBytesPerProject: 'HKS_RETENTION_MAX_LOG_BYTES_PER_PROJECT',
  apiRetentionIntervalSeconds: 'HKS_RETENTION_INTERVAL_SECONDS',
  apiRetentionAuditMaxAgeDays: 'HKS_RETENTION_AUDIT_MAX_AGE_DAYS',
  apiRetentionMaxInvocations: 'HKS_RETENTION_MAX_INVOCATIONS',
  apiRetentionInvocationMaxAgeDays: 'HKS_RETENTION_INVOCATION_MAX_AGE_DAYS',
  apiKubeTimeoutSeconds: 'HKS_KUBE_TIMEOUT_SECONDS',
  apiBodyLimitBytes: 'HKS_BODY_LIMIT_BYTES',
  apiDefinitionLimitBytes: 'HKS_DEFINITION_LIMIT_BYTES',
  apiFunctionResponseLimitBytes: 'HKS_FUNCTION_RESPONSE_LIMIT_BYTES',
  apiDefinitionWorkers: 'HKS_DEFINITION_WORKERS',
  apiEphemeralMaxPerProject: 'HKS_EPHEMERAL_MAX_PER_PROJECT',
  apiEphemeralCpuLimit: 'HKS_EPHEMERAL_CPU_LIMIT',
  apiEphemeralMemoryLimit: 'HKS_EPHEMERAL_MEMORY_LIMIT',
  apiLogLevel: 'HKS_LOG_LEVEL',
  apiLogFormat: 'HKS_LOG_FORMAT',
  apiWarmPoolProjects: 'HKS_WARM_POOL_PROJECTS',
  apiWarmPoolSize: 'HKS_WARM_POOL_SIZE',
  apiWarmPoolRuntimes: 'HKS_WARM_POOL_RUNTIMES',
  apiWarmPoolMode: 'HKS_WARM_POOL_MODE',
} as const;

/** A key of {@link API_VARIABLES}. */
export type ApiVariableKey = keyof typeof API_VARIABLES;

/** Raw config values as Pulumi hands them over (strings), by key. */
export type RawStackConfig = Readonly<Partial<Record<StackConfigKey, string>>>;

const KEYS = [
  'knativeVersion',
  'knativeManifestDir',
  'domain',
  'kourierServiceType',
  'magicDns',
  'skipAwait',
  'knativeWebhooks',
  'platformNamespace',
  'namespacePrefix',
  'installApi',
  'apiImage',
  'apiReplicas',
  'apiDatabaseUrl',
  'apiJwtSecret',
  'apiInternalJwtSecret',
  'apiMetricsToken',
  'apiWarmPoolKey',
  'apiSqliteStorage',
  'apiSqliteStorageSize',
  'apiSqliteStorageClass',
  'deployApps',
  'appsDir',
  'platformSettings',
] as const;

/** One of {@link STACK_CONFIG_KEYS}. */
export type StackConfigKey = (typeof KEYS)[number] | ApiVariableKey;

/** Every key the stack reads (the secrets included: {@link STACK_SECRET_KEYS}). */
export const STACK_CONFIG_KEYS: readonly StackConfigKey[] = [
  ...KEYS,
  ...(Object.keys(API_VARIABLES) as ApiVariableKey[]),
];

/** Keys set with `pulumi config set --secret`: read as secret outputs, never as plain text here. */
export const STACK_SECRET_KEYS = [
  'apiDatabaseUrl',
  'apiJwtSecret',
  'apiInternalJwtSecret',
  'apiMetricsToken',
  'apiWarmPoolKey',
] as const satisfies readonly StackConfigKey[];

/** Error for a config value: names the key, the value given and what is expected. */
export class StackConfigError extends Error {
  constructor(key: StackConfigKey, given: string | undefined, expected: string) {
    super(
      `${PROJECT_NAME}:${key}: given ${given === undefined ? 'nothing' : JSON.stringify(given)}, expected ${expected}`,
    );
    this.name = 'StackConfigError';
  }
}

/**
 * Checks the raw config and applies defaults. Secret values are only checked for presence:
 * pass `"<set>"` (or the value) for `apiDatabaseUrl` / `apiJwtSecret` / `apiWarmPoolKey` when
 * they are set.
 * Relative paths are resolved against `projectDir`.
 *
 * @param projectDir the folder relative paths are read from. @default PROJECT_DIR
 * @throws StackConfigError naming the key, the value given and what is expected
 */
export function parseStackConfig(raw: RawStackConfig, projectDir = PROJECT_DIR): StackConfig {
  const bool = (key: StackConfigKey, fallback: boolean): boolean => {
    const value = raw[key];
    if (value === undefined || value === '') return fallback;
    if (value === 'true' || value === 'false') return value === 'true';
    throw new StackConfigError(key, value, 'true or false');
  };
  const knativeVersion = raw.knativeVersion ?? KNATIVE_VERSION;
  rule('knativeVersion', raw.knativeVersion, expectKnativeVersion(knativeVersion));
  const kourierServiceType = (raw.kourierServiceType ?? 'LoadBalancer') as KourierServiceType;
  rule('kourierServiceType', raw.kourierServiceType, expectKourierServiceType(kourierServiceType));
  const magicDns = bool('magicDns', false);
  if (raw.domain !== undefined) {
    rule('domain', raw.domain, expectDomain(raw.domain));
    if (magicDns) throw new StackConfigError('domain', raw.domain, DOMAIN_WITH_MAGIC_DNS);
  }
  const deployApps = bool('deployApps', false);
  const platformNamespace = raw.platformNamespace || API_NAMES.namespace;
  rule('platformNamespace', raw.platformNamespace, expectPlatformNamespace(platformNamespace));
  const namespacePrefix = raw.namespacePrefix ?? '';
  rule('namespacePrefix', raw.namespacePrefix, expectNamespacePrefix(namespacePrefix));
  return {
    knativeVersion: checkKnativeVersion(knativeVersion),
    knativeManifestDir: raw.knativeManifestDir
      ? resolve(projectDir, raw.knativeManifestDir)
      : undefined,
    domain: raw.domain,
    kourierServiceType,
    magicDns,
    skipAwait: bool('skipAwait', false),
    knativeWebhooks: bool('knativeWebhooks', true),
    platformNamespace,
    namespacePrefix,
    api: bool('installApi', true) ? parseApiConfig(raw, namespacePrefix) : undefined,
    appsDir: deployApps ? resolve(projectDir, raw.appsDir || 'apps') : undefined,
    platformSettings: raw.platformSettings
      ? stackPlatformSettings(raw.platformSettings, projectDir)
      : undefined,
  };
}

/** The settings file `platformSettings` names, relative to the project's folder. */
function stackPlatformSettings(given: string, projectDir: string): PlatformSettings {
  try {
    return loadPlatformSettings(resolve(projectDir, given));
  } catch (error) {
    if (!(error instanceof PlatformSettingsError)) throw error;
    throw new StackConfigError(
      'platformSettings',
      given,
      `a platform settings file (docs/platform-settings.md): ${error.problems.map(formatProblem).join('; ')}`,
    );
  }
}

function parseApiConfig(raw: RawStackConfig, namespacePrefix: string): ApiConfig {
  const image = raw.apiImage || apiImageReference();
  rule('apiImage', raw.apiImage, expectApiImage(image));
  const replicas = Number(raw.apiReplicas ?? '1');
  const hasDatabaseUrl = raw.apiDatabaseUrl !== undefined && raw.apiDatabaseUrl !== '';
  rule(
    'apiReplicas',
    raw.apiReplicas,
    expectApiReplicas(replicas, hasDatabaseUrl, 'apiDatabaseUrl'),
  );
  if (raw.apiJwtSecret === undefined || raw.apiJwtSecret === '') {
    throw new StackConfigError(
      'apiJwtSecret',
      undefined,
      'a secret (pulumi config set --secret apiJwtSecret <value>) that signs API tokens',
    );
  }
  const environment: Record<string, string> = {};
  for (const [key, variable] of Object.entries(API_VARIABLES) as [ApiVariableKey, string][]) {
    const value = raw[key];
    if (value !== undefined && value !== '') environment[variable] = value;
  }
  const problem = apiEnvironmentProblem(
    { ...environment, HKS_NAMESPACE_PREFIX: namespacePrefix },
    { warmPoolKey: raw.apiWarmPoolKey !== undefined && raw.apiWarmPoolKey !== '' },
  );
  if (problem !== undefined) {
    const key = VARIABLE_KEYS.get(problem.variable);
    if (key === undefined) {
      throw new Error(
        `the API refuses the stack's settings: ${problem.variable}: ${problem.expected}`,
      );
    }
    throw new StackConfigError(key, raw[key], problem.expected);
  }
  return {
    image,
    replicas,
    hasDatabaseUrl,
    sqliteStorage: parseSqliteStorage(raw, hasDatabaseUrl),
    environment,
  };
}

function parseSqliteStorage(raw: RawStackConfig, hasDatabaseUrl: boolean): SqliteStorage {
  const kind = (raw.apiSqliteStorage || 'emptyDir') as SqliteStorage['kind'];
  if (!SQLITE_STORAGE_KINDS.includes(kind)) {
    throw new StackConfigError(
      'apiSqliteStorage',
      raw.apiSqliteStorage,
      `one of ${SQLITE_STORAGE_KINDS.join(', ')}`,
    );
  }
  if (kind === 'emptyDir') {
    for (const key of ['apiSqliteStorageSize', 'apiSqliteStorageClass'] as const) {
      if (raw[key]) {
        throw new StackConfigError(
          key,
          raw[key],
          'nothing unless apiSqliteStorage is persistentVolumeClaim',
        );
      }
    }
    return { kind };
  }
  if (hasDatabaseUrl) {
    throw new StackConfigError(
      'apiSqliteStorage',
      raw.apiSqliteStorage,
      claimWithDatabaseUrl('apiDatabaseUrl'),
    );
  }
  // The default lives here, not in Pulumi.yaml: Pulumi passes a declared default as a value,
  // which the emptyDir check above would refuse.
  const size = raw.apiSqliteStorageSize || '1Gi';
  rule('apiSqliteStorageSize', raw.apiSqliteStorageSize, expectStorageSize(size));
  const storageClassName = raw.apiSqliteStorageClass || undefined;
  if (storageClassName !== undefined) {
    rule('apiSqliteStorageClass', storageClassName, expectStorageClass(storageClassName));
  }
  return { kind, size, ...(storageClassName ? { storageClassName } : {}) };
}

const VARIABLE_KEYS = new Map<string, StackConfigKey>([
  ...(Object.entries(API_VARIABLES) as [ApiVariableKey, string][]).map(
    ([key, variable]) => [variable, key] as [string, StackConfigKey],
  ),
  ['HKS_NAMESPACE_PREFIX', 'namespacePrefix'],
  ['HKS_WARM_POOL_KEY', 'apiWarmPoolKey'],
]);

/** Throws what a rule expects of the value under the config key. */
function rule(key: StackConfigKey, given: string | undefined, expected: Expected): void {
  if (expected !== undefined) throw new StackConfigError(key, given, expected);
}
