import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from './errors';

/** What the CLI needs to reach the API; every field optional in each source. */
export interface HksCliConfig {
  readonly apiUrl?: string;
  readonly token?: string;
  readonly project?: string;
}

/** A configuration key, and how each source names it. */
const KEYS = {
  apiUrl: { flag: '--api-url', env: 'HKS_API_URL', what: 'API URL' },
  token: { flag: '--token', env: 'HKS_TOKEN', what: 'API token' },
  project: { flag: '--project', env: 'HKS_PROJECT', what: 'project' },
} as const;

/** A configuration key. */
export type ConfigKey = keyof typeof KEYS;

/** The configuration file: `$HKS_CONFIG`, else `~/.config/hks/config.json`. */
export function configFilePath(env: NodeJS.ProcessEnv): string {
  return env.HKS_CONFIG || join(homedir(), '.config', 'hks', 'config.json');
}

/**
 * Reads the configuration file; a missing file is an empty configuration.
 * @throws CliError (usage) when it is not a JSON object of strings
 */
export function readConfigFile(path: string): HksCliConfig {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw CliError.usage(
      `${path}: given a file that is not JSON (${(error as Error).message}), expected {"apiUrl", "token", "project"}; run "hks-func login" to rewrite it`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw CliError.usage(`${path}: given ${typeof parsed}, expected a JSON object`);
  }
  const config: Record<string, string> = {};
  for (const key of Object.keys(KEYS) as ConfigKey[]) {
    const value = (parsed as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (typeof value !== 'string')
      throw CliError.usage(`${path}: ${key}: given ${JSON.stringify(value)}, expected a string`);
    config[key] = value;
  }
  return config;
}

/** Writes the configuration file, readable by its owner only (mode 0600). */
export function writeConfigFile(path: string, config: HksCliConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // an existing file keeps its mode on write
}

/**
 * The configuration in effect: flags over environment variables over the file, key by key.
 * Empty strings count as unset.
 */
export function resolveConfig(
  flags: HksCliConfig,
  env: NodeJS.ProcessEnv,
  file: HksCliConfig,
): HksCliConfig {
  const pick = (key: ConfigKey) => flags[key] || env[KEYS[key].env] || file[key] || undefined;
  const resolved: { -readonly [K in ConfigKey]?: string } = {};
  for (const key of Object.keys(KEYS) as ConfigKey[]) {
    const value = pick(key);
    if (value !== undefined) resolved[key] = value;
  }
  return resolved;
}

/**
 * The values of the given keys.
 * @throws CliError (usage) naming, for every missing key, the flag, the variable and the file
 */
export function requireConfig<K extends ConfigKey>(
  config: HksCliConfig,
  keys: readonly K[],
  configFile: string,
): { readonly [P in K]: string } {
  const missing = keys.filter((key) => !config[key]);
  if (missing.length > 0) {
    throw CliError.usage(
      missing
        .map(
          (key) =>
            `missing the ${KEYS[key].what}: expected ${KEYS[key].flag}, the environment variable ${KEYS[key].env}, or "${key}" in ${configFile} (written by "hks-func login")`,
        )
        .join('\n'),
    );
  }
  return Object.fromEntries(keys.map((key) => [key, config[key]])) as { [P in K]: string };
}
