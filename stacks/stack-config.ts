import {
  checkDomain,
  checkKnativeVersion,
  KOURIER_SERVICE_TYPES,
  KourierServiceType,
} from '../knative';

/** The Pulumi project name: config keys are `hks-platform:<key>`. */
export const PROJECT_NAME = 'hks-platform';

/** The stack's settings, checked, with defaults applied. */
export interface StackConfig {
  /** Knative Serving and net-kourier release. @default '1.13.0' */
  readonly knativeVersion: string;
  /**
   * Folder holding the Knative manifests (release files or source trees).
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
  /** The API, or undefined when `installApi` is false. */
  readonly api?: ApiConfig;
  /** Folder of application definitions to deploy, or undefined when `deployApps` is false. */
  readonly appsDir?: string;
}

/** Settings of the API Deployment. Secrets stay in Pulumi secret outputs, never here. */
export interface ApiConfig {
  /** The API container image. Required when the API is installed. */
  readonly image: string;
  /** Replicas; more than 1 needs `apiDatabaseUrl` (SQLite is per pod). @default 1 */
  readonly replicas: number;
  /** Whether `apiDatabaseUrl` was given. @default false */
  readonly hasDatabaseUrl: boolean;
}

/** Raw config values as Pulumi hands them over (strings), by key. */
export type RawStackConfig = Readonly<Partial<Record<StackConfigKey, string>>>;

/** Every key the stack reads (the secrets `apiDatabaseUrl` and `apiJwtSecret` included). */
export const STACK_CONFIG_KEYS = [
  'knativeVersion',
  'knativeManifestDir',
  'domain',
  'kourierServiceType',
  'magicDns',
  'skipAwait',
  'knativeWebhooks',
  'installApi',
  'apiImage',
  'apiReplicas',
  'apiDatabaseUrl',
  'apiJwtSecret',
  'deployApps',
  'appsDir',
] as const;

/** One of {@link STACK_CONFIG_KEYS}. */
export type StackConfigKey = (typeof STACK_CONFIG_KEYS)[number];

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
 *
 * @throws StackConfigError naming the key, the value given and what is expected
 */
export function parseStackConfig(raw: RawStackConfig): StackConfig {
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
  return {
    knativeVersion,
    knativeManifestDir: raw.knativeManifestDir || undefined,
    domain: raw.domain,
    kourierServiceType,
    magicDns,
    skipAwait: bool('skipAwait', false),
    knativeWebhooks: bool('knativeWebhooks', true),
    api: bool('installApi', true) ? parseApiConfig(raw) : undefined,
    appsDir: deployApps ? raw.appsDir || 'apps' : undefined,
  };
}

function parseApiConfig(raw: RawStackConfig): ApiConfig {
  const image = raw.apiImage ?? '';
  if (!/^[a-z0-9][a-z0-9._\-/:@]*$/.test(image)) {
    throw new StackConfigError(
      'apiImage',
      raw.apiImage,
      'an image reference such as ghcr.io/acme/hks-api:0.1.0 (or installApi false)',
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
  return { image, replicas, hasDatabaseUrl };
}

/** Runs a check that throws with field "x" and rethrows it under the config key. */
function wrap<T>(key: StackConfigKey, given: string | undefined, check: () => T): T {
  try {
    return check();
  } catch (error) {
    const expected = error instanceof Error ? error.message.replace(/^.*expected /, '') : '';
    throw new StackConfigError(key, given, expected);
  }
}
