import { checkNamespacePrefix } from '../constructs/field-rules';
import { join } from 'node:path';
import { parseCpu, parseMemory } from '../constructs/quantity';
import { DEFAULT_EPHEMERAL_LIMITS } from './ephemeral-resources';
import { ApiLimits, readLimits } from './limits';
import { AsyncSettings, readAsyncSettings } from './async-invocations/settings';
import { DEFAULT_FILE_LIMITS, FileLimits } from './execution-files';
import { existsSync, readFileSync } from 'node:fs';
import { DEFAULT_LEASE_TIMINGS, LeaseSettings } from './leader-election';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './logger';
import {
  AuditRetentionPolicy,
  DEFAULT_AUDIT_RETENTION,
  DEFAULT_RETENTION,
  RetentionPolicy,
  RetentionSweepSettings,
} from './retention';

/** How the API authenticates callers: a shared HS256 secret or a JWKS URL. */
export type JwtVerification =
  | { readonly kind: 'secret'; readonly secret: Uint8Array }
  | { readonly kind: 'jwks'; readonly url: URL };

/** The API's configuration, read from environment variables. */
export interface ApiConfig {
  /** Asynchronous invocations: limits, retries, workers, callbacks (`HKS_ASYNC_*`). */
  readonly asyncInvocations: AsyncSettings;
  /** `PORT`; 0 picks any free port (the `listening` log line names it). @default 8080 */
  readonly port: number;
  /** `HKS_DATABASE_URL` (postgres://...); SQLite when unset. */
  readonly databaseUrl?: string;
  /** `HKS_SQLITE_PATH`. @default ".hks/api.sqlite" */
  readonly sqlitePath: string;
  /** `HKS_JWT_SECRET` (HS256) or `HKS_JWKS_URL` (asymmetric keys); exactly one. */
  readonly jwt: JwtVerification;
  /** `HKS_JWT_ISSUER`: required `iss` claim; required with `HKS_JWKS_URL`. @default - not checked */
  readonly jwtIssuer?: string;
  /**
   * `HKS_JWT_AUDIENCE`: required `aud` claim of user tokens; required with `HKS_JWKS_URL`.
   * @default - not checked
   */
  readonly jwtAudience?: string;
  /**
   * `HKS_JWT_MAX_LIFETIME_SECONDS`: longest lifetime of a user token, bounding both `exp` − now
   * and `exp` − `iat`.
   * @default 86400
   */
  readonly jwtMaxLifetimeSeconds: number;
  /**
   * `HKS_INTERNAL_JWT_SECRET` (HS256) or `HKS_INTERNAL_JWKS_URL`: the key of internal tokens
   * (audience hks-internal), so that whoever holds the user-token key cannot mint agent tokens.
   * Production should set one of them.
   * @default - internal tokens are verified with the user-token key (development)
   */
  readonly internalJwt?: JwtVerification;
  /** `HKS_NAMESPACE_PREFIX`: namespace = prefix + project. @default "" */
  readonly namespacePrefix: string;
  /** `HKS_LOG_LIMIT_BYTES`: logs kept per execution. @default 1048576 */
  readonly logLimitBytes: number;
  /** `HKS_RECORDER`: "off" disables the execution recorder (e.g. a read-only replica). @default "on" */
  readonly recorder: boolean;
  /**
   * `HKS_FUNCTION_GATEWAY`: where function invocations go, e.g. the Kourier service
   * `http://kourier.kourier-system.svc.cluster.local`; the request carries the function's host.
   * @default - the function's cluster-local address from its Knative status
   */
  readonly functionGateway?: URL;
  /** `HKS_READY_TIMEOUT_SECONDS`: how long execute-once and deploy-function wait for Ready. @default 60 */
  readonly readyTimeoutSeconds: number;
  /** Sizes and deadlines of requests ({@link ApiLimits}: `HKS_*_LIMIT_BYTES`, `HKS_KUBE_TIMEOUT_SECONDS`). */
  readonly limits: ApiLimits;
  /** `HKS_JANITOR_INTERVAL_SECONDS`: how often expired ephemeral functions are removed; 0 disables. @default 30 */
  readonly janitorIntervalSeconds: number;
  /**
   * `HKS_EPHEMERAL_GRACE_SECONDS`: how long an execute-once function outlives its ready and
   * invocation limits before the janitor may remove it.
   * @default 60
   */
  readonly ephemeralGraceSeconds: number;
  /** `HKS_EPHEMERAL_CPU_LIMIT`: CPU limit of temporary functions (request 100m or less). @default "1" */
  readonly ephemeralCpuLimit: string;
  /** `HKS_EPHEMERAL_MEMORY_LIMIT`: memory limit of temporary functions (request 128Mi or less). @default "256Mi" */
  readonly ephemeralMemoryLimit: string;
  /** `HKS_EPHEMERAL_MAX_PER_PROJECT`: most temporary functions a project has at once. @default 10 */
  readonly ephemeralMaxPerProject: number;
  /**
   * `HKS_EXECUTE_OUTPUT_LIMIT_BYTES`: bytes of stdout, of stderr and of the combined output an
   * execute result carries at most (1 KiB to 16 MiB).
   * @default 65536
   */
  readonly executeOutputLimitBytes: number;
  /**
   * Caps on an execution's input files and, apart, its output files: `HKS_EXECUTE_FILES_MAX_COUNT`
   * files (1 to 10000, default 100), `HKS_EXECUTE_FILE_LIMIT_BYTES` bytes each (1 to 16 MiB,
   * default 1 MiB), `HKS_EXECUTE_FILES_LIMIT_BYTES` bytes in all (1 to 64 MiB, default 1 MiB).
   * @default - {@link DEFAULT_FILE_LIMITS}
   */
  readonly executeFileLimits: FileLimits;
  /** `HKS_PYTHON`: the Python that syntax-checks python sources before deploying. @default "python3" */
  readonly python: string;
  /**
   * `HKS_METRICS_TOKEN`: bearer token `/metrics` requires (at least 16 bytes).
   * @default - `/metrics` is not served
   */
  readonly metricsToken?: string;
  /**
   * `HKS_METRICS_MAX_FUNCTIONS`: functions with their own series in the function metrics;
   * those seen after them are counted as `(other)` (0 to 100000).
   * @default 500
   */
  readonly metricsMaxFunctions: number;
  /** `HKS_CLUSTER_DOMAIN`: DNS domain of functions' cluster-local addresses. @default "cluster.local" */
  readonly clusterDomain: string;
  /**
   * `HKS_DEV_FUNCTION_HOSTS`: comma-separated loopback hosts (`127.x.x.x`, `::1`, `localhost`)
   * also accepted as a function's address at any port, for the Knative stand-in only.
   * @default - none
   */
  readonly devFunctionHosts: readonly string[];
  /** `HKS_RETENTION_*`: how much execution history is kept, and how often it is swept. */
  readonly retention: RetentionPolicy & RetentionSweepSettings;
  /**
   * `HKS_RETENTION_AUDIT_*`: how much of the audit trail of agent executions is kept (swept with
   * the execution history, at its interval and batch size).
   */
  readonly auditRetention: AuditRetentionPolicy;
  /**
   * `HKS_LEADER_LEASE_*`: the Lease that picks the one replica that records executions and
   * sweeps their history; its namespace is `HKS_LEADER_LEASE_NAMESPACE`, else `POD_NAMESPACE`,
   * else the ServiceAccount's namespace file of a pod.
   * @default - no Lease found: this replica records alone
   */
  readonly leaderLease?: LeaseSettings;
  /** `HKS_LOG_LEVEL`: the least severe level logged (`silent`: none). @default "info" */
  readonly logLevel: LogLevel;
  /** `HKS_LOG_FORMAT`: `json` lines, or `pretty` for a terminal. @default "json" */
  readonly logFormat: LogFormat;
}

/** Where a pod's ServiceAccount token names the pod's namespace. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE =
  '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** Default of `HKS_JWT_MAX_LIFETIME_SECONDS`: user tokens live at most a day. */
export const DEFAULT_JWT_MAX_LIFETIME_SECONDS = 86400;

/** Largest `HKS_JWT_MAX_LIFETIME_SECONDS`: 30 days. */
const MAX_JWT_MAX_LIFETIME_SECONDS = 30 * 86400;

/** Thrown when the environment is invalid; lists every problem. */
export class ConfigError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads and validates the configuration.
 * @throws ConfigError naming each variable, the value given and what is expected
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
  namespaceFile = SERVICE_ACCOUNT_NAMESPACE_FILE,
): ApiConfig {
  const problems: string[] = [];
  const given = (name: string) => `${name}: given ${JSON.stringify(env[name])}`;

  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${given(name)}, expected a whole number from ${min} to ${max}`);
    }
    return value;
  };

  const port = integer('PORT', 8080, 0, 65535);
  const logLimitBytes = integer('HKS_LOG_LIMIT_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024);

  const databaseUrl = env.HKS_DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push(
      `HKS_DATABASE_URL: given a URL starting ${JSON.stringify(databaseUrl.split(':')[0])}, expected postgres://user:password@host:port/database (unset for SQLite)`,
    );
  }

  const jwt = jwtVerification(env, 'HKS_JWT_SECRET', 'HKS_JWKS_URL', problems, true);
  const internalJwt = jwtVerification(
    env,
    'HKS_INTERNAL_JWT_SECRET',
    'HKS_INTERNAL_JWKS_URL',
    problems,
    false,
  );
  if (internalJwt && jwt && sameKey(internalJwt, jwt)) {
    problems.push(
      internalJwt.kind === 'secret'
        ? 'HKS_INTERNAL_JWT_SECRET: given the value of HKS_JWT_SECRET, expected a different secret (internal tokens have their own key)'
        : `${given('HKS_INTERNAL_JWKS_URL')}, expected a different key set than HKS_JWKS_URL (internal tokens have their own key)`,
    );
  }
  if (jwt?.kind === 'jwks') {
    // Any holder of a key in a shared key set could mint tokens for this API otherwise.
    for (const [name, claim] of [
      ['HKS_JWT_ISSUER', 'iss'],
      ['HKS_JWT_AUDIENCE', 'aud'],
    ] as const) {
      if (!env[name])
        problems.push(
          `${name}: given nothing, expected the ${claim} claim the tokens must carry (required with HKS_JWKS_URL)`,
        );
    }
  }
  const jwtMaxLifetimeSeconds = integer(
    'HKS_JWT_MAX_LIFETIME_SECONDS',
    DEFAULT_JWT_MAX_LIFETIME_SECONDS,
    60,
    MAX_JWT_MAX_LIFETIME_SECONDS,
  );

  const readyTimeoutSeconds = integer('HKS_READY_TIMEOUT_SECONDS', 60, 1, 600);
  const ephemeralGraceSeconds = integer('HKS_EPHEMERAL_GRACE_SECONDS', 60, 0, 3600);
  const ephemeralMaxPerProject = integer('HKS_EPHEMERAL_MAX_PER_PROJECT', 10, 1, 1000);
  const executeOutputLimitBytes = integer(
    'HKS_EXECUTE_OUTPUT_LIMIT_BYTES',
    64 * 1024,
    1024,
    16 * 1024 * 1024,
  );
  // Input files travel base64 in the JSON body: the defaults (1 MiB in all) fit its 2 MiB limit.
  const executeFileLimits: FileLimits = {
    maxFiles: integer('HKS_EXECUTE_FILES_MAX_COUNT', DEFAULT_FILE_LIMITS.maxFiles, 1, 10_000),
    maxFileBytes: integer(
      'HKS_EXECUTE_FILE_LIMIT_BYTES',
      DEFAULT_FILE_LIMITS.maxFileBytes,
      1,
      16 * 1024 * 1024,
    ),
    maxTotalBytes: integer(
      'HKS_EXECUTE_FILES_LIMIT_BYTES',
      DEFAULT_FILE_LIMITS.maxTotalBytes,
      1,
      64 * 1024 * 1024,
    ),
  };
  const quantity = (name: string, fallback: string, parse: (v: string) => unknown): string => {
    const raw = env[name] || fallback;
    const parsed = parse(raw);
    if (typeof parsed === 'string') problems.push(`${name}: ${parsed}`);
    return raw;
  };
  const ephemeralCpuLimit = quantity(
    'HKS_EPHEMERAL_CPU_LIMIT',
    DEFAULT_EPHEMERAL_LIMITS.cpuLimit,
    parseCpu,
  );
  const ephemeralMemoryLimit = quantity(
    'HKS_EPHEMERAL_MEMORY_LIMIT',
    DEFAULT_EPHEMERAL_LIMITS.memoryLimit,
    parseMemory,
  );
  const janitorIntervalSeconds = integer('HKS_JANITOR_INTERVAL_SECONDS', 30, 0, 86400);
  const limits = readLimits(integer);
  let functionGateway: URL | undefined;
  if (env.HKS_FUNCTION_GATEWAY) {
    try {
      functionGateway = new URL(env.HKS_FUNCTION_GATEWAY);
      if (!/^https?:$/.test(functionGateway.protocol)) throw new Error('scheme');
    } catch {
      problems.push(
        `${given('HKS_FUNCTION_GATEWAY')}, expected an http:// or https:// URL such as http://kourier.kourier-system.svc.cluster.local`,
      );
    }
  }

  const namespacePrefix = env.HKS_NAMESPACE_PREFIX ?? '';
  const prefixProblem = checkNamespacePrefix(namespacePrefix);
  if (prefixProblem) problems.push(`HKS_NAMESPACE_PREFIX: ${prefixProblem}`);

  const recorder = env.HKS_RECORDER ?? 'on';
  if (recorder !== 'on' && recorder !== 'off')
    problems.push(`${given('HKS_RECORDER')}, expected "on" or "off"`);

  const metricsToken = env.HKS_METRICS_TOKEN || undefined;
  const metricsMaxFunctions = integer('HKS_METRICS_MAX_FUNCTIONS', 500, 0, 100_000);
  if (metricsToken !== undefined && Buffer.byteLength(metricsToken) < 16)
    problems.push(
      `HKS_METRICS_TOKEN: given ${Buffer.byteLength(metricsToken)} bytes, expected at least 16 bytes (unset: /metrics is not served)`,
    );
  const clusterDomain = env.HKS_CLUSTER_DOMAIN || 'cluster.local';
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(clusterDomain))
    problems.push(`${given('HKS_CLUSTER_DOMAIN')}, expected a DNS domain such as cluster.local`);
  const devFunctionHosts = (env.HKS_DEV_FUNCTION_HOSTS ?? '')
    .split(',')
    .map((host) => host.trim())
    .filter((host) => host !== '');
  for (const host of devFunctionHosts)
    if (!/^(127(\.\d{1,3}){3}|::1|\[::1\]|localhost)$/.test(host))
      problems.push(
        `HKS_DEV_FUNCTION_HOSTS: given ${JSON.stringify(host)}, expected loopback hosts only (127.x.x.x, ::1, localhost)`,
      );

  const retention = {
    maxExecutionsPerCronJob: integer(
      'HKS_RETENTION_MAX_EXECUTIONS',
      DEFAULT_RETENTION.maxExecutionsPerCronJob,
      0,
      1_000_000,
    ),
    maxAgeDays: integer('HKS_RETENTION_MAX_AGE_DAYS', DEFAULT_RETENTION.maxAgeDays, 0, 36_500),
    maxLogBytesPerProject: integer(
      'HKS_RETENTION_MAX_LOG_BYTES_PER_PROJECT',
      DEFAULT_RETENTION.maxLogBytesPerProject,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    maxInvocationsPerFunction: integer(
      'HKS_RETENTION_MAX_INVOCATIONS',
      DEFAULT_RETENTION.maxInvocationsPerFunction,
      0,
      1_000_000,
    ),
    invocationMaxAgeDays: integer(
      'HKS_RETENTION_INVOCATION_MAX_AGE_DAYS',
      DEFAULT_RETENTION.invocationMaxAgeDays,
      0,
      36_500,
    ),
    intervalSeconds: integer(
      'HKS_RETENTION_INTERVAL_SECONDS',
      DEFAULT_RETENTION.intervalSeconds,
      0,
      86400,
    ),
    batchSize: integer('HKS_RETENTION_BATCH_SIZE', DEFAULT_RETENTION.batchSize, 1, 10_000),
  };
  const auditRetention: AuditRetentionPolicy = {
    maxAgeDays: integer(
      'HKS_RETENTION_AUDIT_MAX_AGE_DAYS',
      DEFAULT_AUDIT_RETENTION.maxAgeDays,
      0,
      36_500,
    ),
    maxRecordsPerProject: integer(
      'HKS_RETENTION_AUDIT_MAX_RECORDS_PER_PROJECT',
      DEFAULT_AUDIT_RETENTION.maxRecordsPerProject,
      0,
      100_000_000,
    ),
  };
  const leaseNamespace =
    env.HKS_LEADER_LEASE_NAMESPACE ||
    env.POD_NAMESPACE ||
    (existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : '');
  const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
  if (leaseNamespace && !dnsLabel.test(leaseNamespace))
    problems.push(
      `HKS_LEADER_LEASE_NAMESPACE: given ${JSON.stringify(leaseNamespace)}, expected a namespace name (DNS label)`,
    );
  const leaseName = env.HKS_LEADER_LEASE_NAME || DEFAULT_LEASE_TIMINGS.name;
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(leaseName))
    problems.push(`${given('HKS_LEADER_LEASE_NAME')}, expected a Lease name (DNS subdomain)`);
  const leaseDurationSeconds = integer(
    'HKS_LEADER_LEASE_DURATION_SECONDS',
    DEFAULT_LEASE_TIMINGS.leaseDurationSeconds,
    2,
    300,
  );
  const renewDeadlineSeconds = integer(
    'HKS_LEADER_RENEW_DEADLINE_SECONDS',
    DEFAULT_LEASE_TIMINGS.renewDeadlineSeconds,
    1,
    299,
  );
  const retryPeriodSeconds = integer(
    'HKS_LEADER_RETRY_PERIOD_SECONDS',
    DEFAULT_LEASE_TIMINGS.retryPeriodSeconds,
    1,
    60,
  );
  // A leader must stop before another may start, and must get a few tries at renewing.
  if (renewDeadlineSeconds >= leaseDurationSeconds)
    problems.push(
      `HKS_LEADER_RENEW_DEADLINE_SECONDS: given ${renewDeadlineSeconds}, expected less than HKS_LEADER_LEASE_DURATION_SECONDS (${leaseDurationSeconds})`,
    );
  if (retryPeriodSeconds >= renewDeadlineSeconds)
    problems.push(
      `HKS_LEADER_RETRY_PERIOD_SECONDS: given ${retryPeriodSeconds}, expected less than HKS_LEADER_RENEW_DEADLINE_SECONDS (${renewDeadlineSeconds})`,
    );
  const leaderLease: LeaseSettings | undefined = leaseNamespace
    ? {
        namespace: leaseNamespace,
        name: leaseName,
        leaseDurationSeconds,
        renewDeadlineSeconds,
        retryPeriodSeconds,
      }
    : undefined;

  const oneOf = <T extends string>(name: string, values: readonly T[], fallback: T): T => {
    const raw = env[name] || fallback;
    if ((values as readonly string[]).includes(raw)) return raw as T;
    problems.push(`${given(name)}, expected one of ${values.join(', ')}`);
    return fallback;
  };
  const logLevel = oneOf('HKS_LOG_LEVEL', LOG_LEVELS, 'info');
  const logFormat = oneOf('HKS_LOG_FORMAT', LOG_FORMATS, 'json');

  const asyncInvocations = readAsyncSettings(
    env,
    integer,
    problems,
    jwt?.kind === 'secret' ? jwt.secret : undefined,
  );

  if (problems.length > 0 || !jwt) throw new ConfigError(problems);
  return {
    port,
    databaseUrl,
    sqlitePath: env.HKS_SQLITE_PATH || join(cwd, '.hks', 'api.sqlite'),
    jwt,
    jwtIssuer: env.HKS_JWT_ISSUER || undefined,
    jwtAudience: env.HKS_JWT_AUDIENCE || undefined,
    jwtMaxLifetimeSeconds,
    internalJwt,
    namespacePrefix,
    logLimitBytes,
    recorder: recorder === 'on',
    functionGateway,
    readyTimeoutSeconds,
    limits,
    janitorIntervalSeconds,
    ephemeralGraceSeconds,
    ephemeralCpuLimit,
    ephemeralMemoryLimit,
    ephemeralMaxPerProject,
    executeOutputLimitBytes,
    executeFileLimits,
    python: env.HKS_PYTHON || 'python3',
    metricsToken,
    metricsMaxFunctions,
    clusterDomain,
    devFunctionHosts,
    retention,
    auditRetention,
    leaderLease,
    logLevel,
    logFormat,
    asyncInvocations,
  };
}

/**
 * The key named by a secret variable (HS256, at least 32 bytes) or a JWKS URL variable.
 * @param required whether one of the two must be set
 */
function jwtVerification(
  env: NodeJS.ProcessEnv,
  secretName: string,
  urlName: string,
  problems: string[],
  required: boolean,
): JwtVerification | undefined {
  const secret = env[secretName];
  const url = env[urlName];
  if (secret && url) {
    problems.push(`${secretName} and ${urlName}: given both, expected exactly one of them`);
    return undefined;
  }
  if (secret) {
    if (Buffer.byteLength(secret) < 32) {
      problems.push(
        `${secretName}: given ${Buffer.byteLength(secret)} bytes, expected at least 32 bytes (HS256)`,
      );
    }
    return { kind: 'secret', secret: new TextEncoder().encode(secret) };
  }
  if (url) {
    try {
      return { kind: 'jwks', url: new URL(url) };
    } catch {
      problems.push(
        `${urlName}: given ${JSON.stringify(url)}, expected an https:// URL of a JSON Web Key Set`,
      );
      return undefined;
    }
  }
  if (required)
    problems.push(`${secretName} or ${urlName}: given neither, expected exactly one of them`);
  return undefined;
}

function sameKey(a: JwtVerification, b: JwtVerification): boolean {
  if (a.kind === 'secret' && b.kind === 'secret')
    return Buffer.from(a.secret).equals(Buffer.from(b.secret));
  return a.kind === 'jwks' && b.kind === 'jwks' && a.url.href === b.url.href;
}
