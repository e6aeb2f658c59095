import { join } from 'node:path';

/** How the API authenticates callers: a shared HS256 secret or a JWKS URL. */
export type JwtVerification =
  | { readonly kind: 'secret'; readonly secret: Uint8Array }
  | { readonly kind: 'jwks'; readonly url: URL };

/** The API's configuration, read from environment variables. */
export interface ApiConfig {
  /** `PORT`; 0 picks any free port (the `listening` log line names it). @default 8080 */
  readonly port: number;
  /** `HKS_DATABASE_URL` (postgres://...); SQLite when unset. */
  readonly databaseUrl?: string;
  /** `HKS_SQLITE_PATH`. @default ".hks/api.sqlite" */
  readonly sqlitePath: string;
  /** `HKS_JWT_SECRET` (HS256) or `HKS_JWKS_URL` (asymmetric keys); exactly one. */
  readonly jwt: JwtVerification;
  /** `HKS_JWT_ISSUER`: required `iss` claim. @default - not checked */
  readonly jwtIssuer?: string;
  /** `HKS_JWT_AUDIENCE`: required `aud` claim. @default - not checked */
  readonly jwtAudience?: string;
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
  /** `HKS_JANITOR_INTERVAL_SECONDS`: how often expired ephemeral functions are removed; 0 disables. @default 30 */
  readonly janitorIntervalSeconds: number;
  /**
   * `HKS_EPHEMERAL_GRACE_SECONDS`: how long an execute-once function outlives its ready and
   * invocation limits before the janitor may remove it.
   * @default 60
   */
  readonly ephemeralGraceSeconds: number;
  /** `HKS_PYTHON`: the Python that syntax-checks python sources before deploying. @default "python3" */
  readonly python: string;
}

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
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ApiConfig {
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

  let jwt: JwtVerification | undefined;
  const secret = env.HKS_JWT_SECRET;
  const jwksUrl = env.HKS_JWKS_URL;
  if (secret && jwksUrl) {
    problems.push('HKS_JWT_SECRET and HKS_JWKS_URL: given both, expected exactly one of them');
  } else if (secret) {
    if (Buffer.byteLength(secret) < 32) {
      problems.push(
        `HKS_JWT_SECRET: given ${Buffer.byteLength(secret)} bytes, expected at least 32 bytes (HS256)`,
      );
    }
    jwt = { kind: 'secret', secret: new TextEncoder().encode(secret) };
  } else if (jwksUrl) {
    try {
      jwt = { kind: 'jwks', url: new URL(jwksUrl) };
    } catch {
      problems.push(`${given('HKS_JWKS_URL')}, expected an https:// URL of a JSON Web Key Set`);
    }
  } else {
    problems.push('HKS_JWT_SECRET or HKS_JWKS_URL: given neither, expected exactly one of them');
  }

  const readyTimeoutSeconds = integer('HKS_READY_TIMEOUT_SECONDS', 60, 1, 600);
  const ephemeralGraceSeconds = integer('HKS_EPHEMERAL_GRACE_SECONDS', 60, 0, 3600);
  const janitorIntervalSeconds = integer('HKS_JANITOR_INTERVAL_SECONDS', 30, 0, 86400);
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
  if (!/^([a-z][-a-z0-9]*)?$/.test(namespacePrefix) || namespacePrefix.length > 23) {
    problems.push(
      `${given('HKS_NAMESPACE_PREFIX')}, expected lower-case letters, digits and '-', starting with a letter, at most 23 characters`,
    );
  }

  const recorder = env.HKS_RECORDER ?? 'on';
  if (recorder !== 'on' && recorder !== 'off')
    problems.push(`${given('HKS_RECORDER')}, expected "on" or "off"`);

  if (problems.length > 0 || !jwt) throw new ConfigError(problems);
  return {
    port,
    databaseUrl,
    sqlitePath: env.HKS_SQLITE_PATH || join(cwd, '.hks', 'api.sqlite'),
    jwt,
    jwtIssuer: env.HKS_JWT_ISSUER || undefined,
    jwtAudience: env.HKS_JWT_AUDIENCE || undefined,
    namespacePrefix,
    logLimitBytes,
    recorder: recorder === 'on',
    functionGateway,
    readyTimeoutSeconds,
    janitorIntervalSeconds,
    ephemeralGraceSeconds,
    python: env.HKS_PYTHON || 'python3',
  };
}
