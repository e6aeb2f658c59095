import { readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Interpreters that may be the Python `version` (`major.minor`), in the order they are tried:
 * the configured one (`HKS_PYTHON`), `python<version>` on the PATH, then pyenv's installed
 * `<version>.*` (newest first) under `PYENV_ROOT` (default `~/.pyenv`), which a pyenv shim
 * does not run unless that version is selected. The checker takes the first that runs and
 * reports `version`.
 */
export function pythonCandidates(
  configured: string,
  version: string,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const root = env.PYENV_ROOT || join(homedir(), '.pyenv');
  const installed = safeList(join(root, 'versions'))
    .filter((name) => name.startsWith(`${version}.`) && /^\d+\.\d+\.\d+$/.test(name))
    .sort((a, b) => patchOf(b) - patchOf(a))
    .map((name) => join(root, 'versions', name, 'bin', `python${version}`));
  return [...new Set([configured, `python${version}`, ...installed])];
}

function patchOf(version: string): number {
  return Number(version.split('.')[2]);
}

function safeList(folder: string): string[] {
  try {
    return readdirSync(folder);
  } catch {
    return [];
  }
}
