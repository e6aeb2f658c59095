import { SourceRuntimeName } from '../constructs';
import { ConfigError } from './config';

/** The runtimes a warm pool can hold: those that load code per request in session mode. */
export const WARM_POOL_RUNTIMES: readonly SourceRuntimeName[] = ['python3.12', 'nodejs20'];

/**
 * What a pool instance is:
 * - `services`: a temporary Knative Service each, started by the API replica that uses it
 *   (wherever Knative or its stand-in runs);
 * - `deployment`: a pod of one Deployment per project and runtime, claimed by any replica by a
 *   label change; the API must reach pod IPs (it runs in the cluster).
 */
export type WarmPoolMode = 'services' | 'deployment';

/** The modes {@link WarmPoolMode} names, as `HKS_WARM_POOL_MODE` accepts them. */
export const WARM_POOL_MODES: readonly WarmPoolMode[] = ['services', 'deployment'];

/** Shortest `HKS_WARM_POOL_KEY`: the pool's session secrets are derived from it. */
export const MIN_WARM_POOL_KEY_LENGTH = 32;

/** Which projects get warm pools, and how large. */
export interface WarmPoolSettings {
  /** `HKS_WARM_POOL_MODE`. @default "services" */
  readonly mode: WarmPoolMode;
  /**
   * `HKS_WARM_POOL_KEY`, required with mode `deployment`: every replica derives a pool's
   * session secret from it, so that any replica can use the pods of any pool.
   * @default - none
   */
  readonly key?: string;
  /** Instances kept ready per runtime, by project; a project not listed has no pool. */
  readonly sizes: ReadonlyMap<string, number>;
  /** Runtimes pooled for each of those projects. @default - {@link WARM_POOL_RUNTIMES} */
  readonly runtimes: readonly SourceRuntimeName[];
}

/** Largest pool per project and runtime: each instance is a running process. */
export const MAX_WARM_POOL_SIZE = 20;

const PROJECT_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * `HKS_WARM_POOL_PROJECTS` (`shop=2,ci=1,lab`: the projects that get a pool, each with its own
 * size or `HKS_WARM_POOL_SIZE`), `HKS_WARM_POOL_SIZE` (default 0: a project listed without a
 * size gets none) and `HKS_WARM_POOL_RUNTIMES` (default `python3.12,nodejs20`). No project
 * gets a pool without being listed: each instance is a process kept running for it.
 * @param maxPerProject the cap of temporary functions (`HKS_EPHEMERAL_MAX_PER_PROJECT`): a
 *   project's pools must leave at least one slot of it to executes that find the pool empty
 * @throws ConfigError naming the variable, the value given and what is expected
 */
export function readWarmPoolSettings(
  maxPerProject: number,
  env: NodeJS.ProcessEnv = process.env,
): WarmPoolSettings {
  const problems: string[] = [];
  const size = (name: string, raw: string): number => {
    const value = Number(raw);
    if (/^\d+$/.test(raw) && value <= MAX_WARM_POOL_SIZE) return value;
    problems.push(
      `${name}: given ${JSON.stringify(raw)}, expected a whole number from 0 to ${MAX_WARM_POOL_SIZE}`,
    );
    return 0;
  };
  const defaultSize = size('HKS_WARM_POOL_SIZE', env.HKS_WARM_POOL_SIZE || '0');
  const runtimes = (env.HKS_WARM_POOL_RUNTIMES || WARM_POOL_RUNTIMES.join(','))
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  for (const runtime of runtimes) {
    if (!(WARM_POOL_RUNTIMES as readonly string[]).includes(runtime)) {
      problems.push(
        `HKS_WARM_POOL_RUNTIMES: given ${JSON.stringify(runtime)}, expected a comma-separated list of ${WARM_POOL_RUNTIMES.join(', ')}`,
      );
    }
  }
  const sizes = new Map<string, number>();
  for (const entry of (env.HKS_WARM_POOL_PROJECTS ?? '').split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    const [project, own, ...rest] = entry.split('=');
    if (!PROJECT_NAME.test(project) || rest.length > 0) {
      problems.push(
        `HKS_WARM_POOL_PROJECTS: given ${JSON.stringify(entry)}, expected project or project=size (a project name: lower-case letters, digits and -)`,
      );
      continue;
    }
    const n = own === undefined ? defaultSize : size(`HKS_WARM_POOL_PROJECTS (${project})`, own);
    const held = n * runtimes.length;
    if (held >= maxPerProject) {
      problems.push(
        `HKS_WARM_POOL_PROJECTS (${project}): ${n} per runtime for ${runtimes.length} runtimes holds ${held} temporary functions, expected fewer than HKS_EPHEMERAL_MAX_PER_PROJECT=${maxPerProject} so that an execute finding the pool empty can still deploy`,
      );
    }
    if (n > 0) sizes.set(project, n);
  }
  const mode = (env.HKS_WARM_POOL_MODE || 'services') as WarmPoolMode;
  if (!WARM_POOL_MODES.includes(mode)) {
    problems.push(
      `HKS_WARM_POOL_MODE: given ${JSON.stringify(env.HKS_WARM_POOL_MODE)}, expected ${WARM_POOL_MODES.join(' or ')}`,
    );
  }
  const key = env.HKS_WARM_POOL_KEY || undefined;
  if (mode === 'deployment' && sizes.size > 0 && (key?.length ?? 0) < MIN_WARM_POOL_KEY_LENGTH) {
    problems.push(
      `HKS_WARM_POOL_KEY: given ${key === undefined ? 'none' : `${key.length} characters`}, expected at least ${MIN_WARM_POOL_KEY_LENGTH} characters with HKS_WARM_POOL_MODE=deployment (the same on every replica: the pools' session secrets are derived from it)`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { mode, ...(key ? { key } : {}), sizes, runtimes: runtimes as SourceRuntimeName[] };
}
