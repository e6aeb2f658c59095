/**
 * The rules of the platform's settings, shared by both doors they come through: the stack's
 * Pulumi config (stack-config.ts, whose errors name `hks-platform:<key>`) and the components'
 * arguments (component-args.ts, whose errors name the component and the argument). Each rule
 * returns what is expected of a value that breaks it, or undefined when the value is fine.
 */
import { ConfigError, loadConfig } from '../api/config';
import { API_NAMES } from '../api/rbac';
import { MIN_WARM_POOL_KEY_LENGTH, readWarmPoolSettings } from '../api/warm-pool-config';
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

/** The Knative Serving and net-kourier release installed unless another is asked for (the one tested). */
export const KNATIVE_VERSION = '1.13.0';

/** What is expected of a value that breaks a rule, or undefined. */
export type Expected = string | undefined;

/** "field: given "a", expected b" (or "given "a", expected b") → "b". */
export function expectedPart(problem: string): string {
  return problem.replace(/^.*?expected /, '');
}

/** Runs a check that throws `<field>: given ..., expected ...` and returns the expected part. */
function thrown(check: () => unknown): Expected {
  try {
    check();
    return undefined;
  } catch (error) {
    return error instanceof Error ? expectedPart(error.message) : String(error);
  }
}

const fromProblem = (problem: string | undefined): Expected =>
  problem === undefined ? undefined : expectedPart(problem);

/** A Knative release, `x.y.z` (a leading `v` is accepted). */
export const expectKnativeVersion = (version: string): Expected =>
  thrown(() => checkKnativeVersion(version, 'x'));

/** The domain of function URLs, a lower-case DNS name. */
export const expectDomain = (domain: string): Expected => thrown(() => checkDomain(domain, 'x'));

/** The domain together with magic DNS, which writes a domain of its own. */
export const DOMAIN_WITH_MAGIC_DNS =
  'no domain when magicDns is true (magic DNS writes its own <ip>.sslip.io domain)';

/** How the Kourier gateway Service is exposed. */
export function expectKourierServiceType(type: string): Expected {
  return KOURIER_SERVICE_TYPES.includes(type as KourierServiceType)
    ? undefined
    : `one of ${KOURIER_SERVICE_TYPES.join(', ')} (NodePort or ClusterIP on clusters without a load balancer)`;
}

/** The platform's namespace: hks-system, or any namespace a project could not have. */
export function expectPlatformNamespace(namespace: string): Expected {
  // hks-system is reserved for projects because it is the platform's; any other is checked as one.
  return namespace === API_NAMES.namespace ? undefined : fromProblem(checkNamespaceName(namespace));
}

/** The prefix of a project's namespace. */
export const expectNamespacePrefix = (prefix: string): Expected =>
  fromProblem(checkNamespacePrefix(prefix));

/** A container image reference for the API. */
export function expectApiImage(image: string): Expected {
  return /^[a-z0-9][a-z0-9._\-/:@]*$/.test(image)
    ? undefined
    : `an image reference such as ghcr.io/acme/hks-api:0.1.0 (unset: ${apiImageReference()}, which npm run image:api builds)`;
}

/**
 * The API's replicas: 1 to 20, and 1 only on the embedded SQLite store.
 *
 * @param databaseUrl how the caller names the database URL setting, in the message
 */
export function expectApiReplicas(
  replicas: number,
  hasDatabaseUrl: boolean,
  databaseUrl: string,
): Expected {
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 20) {
    return 'a whole number from 1 to 20';
  }
  return replicas > 1 && !hasDatabaseUrl
    ? `1 without ${databaseUrl} (the embedded SQLite store is per pod); set ${databaseUrl} to a PostgreSQL URL for more`
    : undefined;
}

/** The size of the SQLite store's claim. */
export const expectStorageSize = (size: string): Expected =>
  typeof parseMemory(size) === 'string' ? 'a volume size such as 1Gi or 500Mi' : undefined;

/** The StorageClass of the SQLite store's claim. */
export const expectStorageClass = (name: string): Expected => fromProblem(checkObjectName(name));

/** A claim for the SQLite store together with a database URL, which makes SQLite unused. */
export const claimWithDatabaseUrl = (databaseUrl: string): string =>
  `emptyDir (or nothing) with ${databaseUrl}: the execution store is then PostgreSQL`;

/** Stands in for the JWT secret, whose plain text is never read here, while the API's rules check the rest. */
const CHECK_JWT_SECRET = 'a-stand-in-for-the-secret-of-32-bytes';

/** Stands in for a given warm pool key, likewise: only whether one was given is known here. */
const CHECK_WARM_POOL_KEY = 'k'.repeat(MIN_WARM_POOL_KEY_LENGTH);

/** The API's first problem with an environment variable. */
export interface ApiEnvironmentProblem {
  readonly variable: string;
  readonly expected: string;
}

/** Which of the API's secrets that its rules need were given (their values are never read). */
export interface GivenApiSecrets {
  /** `HKS_WARM_POOL_KEY`, required with `HKS_WARM_POOL_MODE=deployment` and a pooled project. */
  readonly warmPoolKey?: boolean;
}

/**
 * Checks the API's environment with the API's own rules (api/config.ts `loadConfig`, then
 * api/warm-pool-config.ts `readWarmPoolSettings`, which its start-up applies to the cap
 * `loadConfig` read), so that what the API would refuse at start-up (a pod in a crash loop)
 * is refused before anything is applied.
 *
 * @param secrets which secrets the API will get: each given one is checked as present only
 * @returns the first problem, or undefined
 * @throws Error for a problem the API names no variable of
 */
export function apiEnvironmentProblem(
  environment: Readonly<Record<string, string>>,
  secrets: GivenApiSecrets = {},
): ApiEnvironmentProblem | undefined {
  const env: Record<string, string> = {
    ...environment,
    HKS_JWT_SECRET: CHECK_JWT_SECRET,
    ...(secrets.warmPoolKey ? { HKS_WARM_POOL_KEY: CHECK_WARM_POOL_KEY } : {}),
  };
  try {
    const config = loadConfig(env, '/', '/nonexistent');
    readWarmPoolSettings(config.ephemeralMaxPerProject, env);
    return undefined;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const [problem] = error.problems;
    const variable = /^[A-Z_]+/.exec(problem)?.[0];
    if (variable === undefined) throw new Error(`the API refuses its settings: ${problem}`);
    return { variable, expected: expectedPart(problem) };
  }
}
