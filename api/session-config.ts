import { ConfigError } from './config';

/** Default idle timeout of an agent session, in seconds. */
export const DEFAULT_SESSION_IDLE_SECONDS = 300;
/** Default of `HKS_SESSION_MAX_IDLE_SECONDS`. */
export const DEFAULT_SESSION_MAX_IDLE_SECONDS = 3600;

/** Longest idle timeout `HKS_SESSION_MAX_IDLE_SECONDS` may allow: one day. */
export const MAX_IDLE_LIMIT_SECONDS = 86_400;

/**
 * `HKS_SESSION_MAX_IDLE_SECONDS`: the longest idle timeout an agent session may ask for.
 * @default 3600
 * @throws ConfigError naming the variable, the value given and what is expected
 */
export function readSessionMaxIdleSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.HKS_SESSION_MAX_IDLE_SECONDS;
  if (raw === undefined || raw === '') return DEFAULT_SESSION_MAX_IDLE_SECONDS;
  const value = Number(raw);
  if (/^\d+$/.test(raw) && value >= 1 && value <= MAX_IDLE_LIMIT_SECONDS) return value;
  throw new ConfigError([
    `HKS_SESSION_MAX_IDLE_SECONDS: given ${JSON.stringify(raw)}, expected a whole number of seconds from 1 to ${MAX_IDLE_LIMIT_SECONDS}`,
  ]);
}

/** Default of `HKS_SESSION_SWEEP_SECONDS`. */
export const DEFAULT_SESSION_SWEEP_SECONDS = 5;

/** Longest interval `HKS_SESSION_SWEEP_SECONDS` may set: an hour. */
const MAX_SWEEP_SECONDS = 3600;

/**
 * `HKS_SESSION_SWEEP_SECONDS`: how often this replica ends the sessions idle past their expiry
 * that no call has come for (any replica may, one ends each); 0 leaves them to the next call
 * and the janitor.
 * @default 5
 * @throws ConfigError naming the variable, the value given and what is expected
 */
export function readSessionSweepSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.HKS_SESSION_SWEEP_SECONDS;
  if (raw === undefined || raw === '') return DEFAULT_SESSION_SWEEP_SECONDS;
  const value = Number(raw);
  if (/^\d+$/.test(raw) && value <= MAX_SWEEP_SECONDS) return value;
  throw new ConfigError([
    `HKS_SESSION_SWEEP_SECONDS: given ${JSON.stringify(raw)}, expected a whole number of seconds from 0 (no sweep) to ${MAX_SWEEP_SECONDS}`,
  ]);
}
