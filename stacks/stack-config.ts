import { resolve } from 'node:path';
import { API_NAMES } from '../api/rbac';
import { ConfigError, loadConfig } from '../api/config';
import {
  checkNamespaceName,
  checkNamespacePrefix,
  checkObjectName,
} from '../constructs/field-rules';
import { parseMemory } from '../constructs/quantity';
import { apiImageReference } from '../images/api/reference';
import {
  checkDomain,
  checkKnativeVersion,
  KOURIER_SERVICE_TYPES,
  KourierServiceType,
} from '../knative';

/** The Pulumi project name: config keys are `hks-platform:<key>`. */
export const PROJECT_NAME = 'hks-platform';

/**
 * The project's folder, the one holding `Pulumi.yaml` (whose `main` is `stacks/main.ts`):
 * relative paths in the config (`knativeManifestDir`, `appsDir`) are read from here, not from
 * the folder Pulumi's language host runs the program in (`stacks/`).
 */
export const PROJECT_DIR = resolve(__dirname, '..');

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
   * plane's fake nodes cannot run the webhook pod (README, "Installing on a cluster").
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
 * their defaults are the API's (README, "The API").
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
  apiKubeTimeoutSeconds: 'HKS_KUBE_TIMEOUT_SECONDS',
  apiBodyLimitBytes: 'HKS_BODY_LIMIT_BYTES',
  apiDefinitionLimitBytes: 'HKS_DEFINITION_LIMIT_BYTES',
  apiFunctionResponseLimitBytes: 'HKS_FUNCTION_RESPONSE_LIMIT_BYTES',
  apiDefinitionWorkers: 'HKS_DEFINITION_WORKERS',
  apiEphemeralMaxPerProject: 'HKS_EPHEMERAL_MAX_PER_PROJECT',
  apiEphemeralCpuLimit: 'HKS_EPHEMERAL_CPU_LIMIT',
  apiEphemeralMemoryLimit: 'HKS_EPHEMERAL_MEMORY_LIMIT',
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
  'apiSqliteStorage',
  'apiSqliteStorageSize',
  'apiSqliteStorageClass',
  'deployApps',
  'appsDir',
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
 * pass `"<set>"` (or the value) for `apiDatabaseUrl` / `apiJwtSecret` when they are set.
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
  const knativeVersion = wrap('knativeVersion', raw.knativeVersion, () =>
    checkKnativeVersion(raw.knativeVersion ?? '1.13.0', 'x'),
  );
  const kourierServiceType = (raw.kourierServiceType ?? 'LoadBalancer') as KourierServiceType;
  if (!KOURIER_SERVICE_TYPES.includes(kourierServiceType)) {
    throw new StackConfigError(
      'kourierServiceType',
      raw.kourierServiceType,
      `one of ${KOURIER_SERVICE_TYPES.join(', ')} (NodePort or ClusterIP on clusters without a load balancer)`,
    );
  }
  const magicDns = bool('magicDns', false);
  if (raw.domain !== undefined) {
    wrap('domain', raw.domain, () => checkDomain(raw.domain ?? '', 'x'));
    if (magicDns) {
      throw new StackConfigError(
        'domain',
        raw.domain,
        'no domain when magicDns is true (magic DNS writes its own <ip>.sslip.io domain)',
      );
    }
  }
  const deployApps = bool('deployApps', false);
  const platformNamespace = raw.platformNamespace || API_NAMES.namespace;
  // hks-system is reserved for projects because it is the platform's; any other is checked as one.
  if (platformNamespace !== API_NAMES.namespace) {
    rule('platformNamespace', raw.platformNamespace, checkNamespaceName(platformNamespace));
  }
  const namespacePrefix = raw.namespacePrefix ?? '';
  rule('namespacePrefix', raw.namespacePrefix, checkNamespacePrefix(namespacePrefix));
  return {
    knativeVersion,
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
  };
}

function parseApiConfig(raw: RawStackConfig, namespacePrefix: string): ApiConfig {
  const image = raw.apiImage || apiImageReference();
  if (!/^[a-z0-9][a-z0-9._\-/:@]*$/.test(image)) {
    throw new StackConfigError(
      'apiImage',
      raw.apiImage,
      `an image reference such as ghcr.io/acme/hks-api:0.1.0 (unset: ${apiImageReference()}, which npm run image:api builds)`,
    );
  }
  const replicas = Number(raw.apiReplicas ?? '1');
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 20) {
    throw new StackConfigError('apiReplicas', raw.apiReplicas, 'a whole number from 1 to 20');
  }
  const hasDatabaseUrl = raw.apiDatabaseUrl !== undefined && raw.apiDatabaseUrl !== '';
  if (replicas > 1 && !hasDatabaseUrl) {
    throw new StackConfigError(
      'apiReplicas',
      raw.apiReplicas,
      '1 without apiDatabaseUrl (the embedded SQLite store is per pod); set apiDatabaseUrl (--secret) to a PostgreSQL URL for more',
    );
  }
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
  checkApiEnvironment(raw, { ...environment, HKS_NAMESPACE_PREFIX: namespacePrefix });
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
      'emptyDir (or nothing) with apiDatabaseUrl: the execution store is then PostgreSQL',
    );
  }
  // The default lives here, not in Pulumi.yaml: Pulumi passes a declared default as a value,
  // which the emptyDir check above would refuse.
  const size = raw.apiSqliteStorageSize || '1Gi';
  if (typeof parseMemory(size) === 'string') {
    throw new StackConfigError(
      'apiSqliteStorageSize',
      raw.apiSqliteStorageSize,
      'a volume size such as 1Gi or 500Mi',
    );
  }
  const storageClassName = raw.apiSqliteStorageClass || undefined;
  if (storageClassName !== undefined) {
    rule('apiSqliteStorageClass', storageClassName, checkObjectName(storageClassName));
  }
  return { kind, size, ...(storageClassName ? { storageClassName } : {}) };
}

const VARIABLE_KEYS = new Map<string, StackConfigKey>([
  ...(Object.entries(API_VARIABLES) as [ApiVariableKey, string][]).map(
    ([key, variable]) => [variable, key] as [string, StackConfigKey],
  ),
  ['HKS_NAMESPACE_PREFIX', 'namespacePrefix'],
]);

/** Stands in for the JWT secret, whose plain text the stack never reads, while the API's rules check the rest. */
const CHECK_JWT_SECRET = 'a-stand-in-for-the-secret-of-32-bytes';

/**
 * Checks the API's environment with the API's own rules, so that the stack refuses what the
 * API would refuse at start-up (a pod in a crash loop), with the stack key in the message.
 */
function checkApiEnvironment(raw: RawStackConfig, environment: Record<string, string>): void {
  try {
    loadConfig({ ...environment, HKS_JWT_SECRET: CHECK_JWT_SECRET }, '/', '/nonexistent');
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const [problem] = error.problems;
    const key = VARIABLE_KEYS.get(/^[A-Z_]+/.exec(problem)?.[0] ?? '');
    if (key === undefined) throw new Error(`the API refuses the stack's settings: ${problem}`);
    throw new StackConfigError(key, raw[key], expectedPart(problem));
  }
}

/** "X: given "a", expected b" → "b". */
function expectedPart(problem: string): string {
  return problem.replace(/^.*?expected /, '');
}

/** Throws the problem a field rule found (`given ..., expected ...`) under the config key. */
function rule(key: StackConfigKey, given: string | undefined, problem: string | undefined): void {
  if (problem !== undefined) throw new StackConfigError(key, given, expectedPart(problem));
}

/** Runs a check that throws with field "x" and rethrows it under the config key. */
function wrap<T>(key: StackConfigKey, given: string | undefined, check: () => T): T {
  try {
    return check();
  } catch (error) {
    const expected = error instanceof Error ? expectedPart(error.message) : '';
    throw new StackConfigError(key, given, expected);
  }
}
