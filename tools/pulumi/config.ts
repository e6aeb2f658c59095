import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Repository root (two levels above this folder). */
export const repoRoot = resolve(__dirname, '..', '..');

/** Where the Pulumi toolchain is built from and kept. */
export interface PulumiToolchainConfig {
  /** Built binaries (one folder per version) and the toolchain's `PULUMI_HOME`. */
  readonly cacheDir: string;
  /** Folder holding the language host's sources, `language-nodejs-v<version>/`. */
  readonly sourcesDir: string;
  /** State folder of the local file backend used when `PULUMI_BACKEND_URL` is unset. */
  readonly backendDir: string;
}

/**
 * Reads the toolchain configuration from the environment.
 *
 * `HKS_PULUMI_CACHE` (default `$XDG_CACHE_HOME/hks/pulumi` or `~/.cache/hks/pulumi`) holds the
 * builds; `HKS_PULUMI_SOURCES` (default `../shared/pulumi` beside the repository) the language
 * host's sources; the file backend's state lives in `.hks/pulumi` of the repository.
 */
export function toolchainConfig(env: NodeJS.ProcessEnv = process.env): PulumiToolchainConfig {
  const xdgCache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return {
    cacheDir: resolve(env.HKS_PULUMI_CACHE || join(xdgCache, 'hks', 'pulumi')),
    sourcesDir: resolve(env.HKS_PULUMI_SOURCES || join(repoRoot, '..', 'shared', 'pulumi')),
    backendDir: join(repoRoot, '.hks', 'pulumi'),
  };
}
