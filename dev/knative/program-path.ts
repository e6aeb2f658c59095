import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { EXECUTE, type ProcessUser, blockedFor } from './process-user';

/** Where a program was found, or why it was not (each candidate and what stopped it). */
export type ProgramLocation =
  | { readonly found: true; readonly path: string; readonly skipped: readonly string[] }
  | { readonly found: false; readonly message: string };

/** How long `<program> --version` may take. */
const PROBE_TIMEOUT_MS = 10_000;

/** Runs `path --version` as `user`; resolves with why it failed, or undefined. */
function probe(
  path: string,
  user: ProcessUser,
  env: Readonly<Record<string, string>>,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(path, ['--version'], {
      uid: user.uid,
      gid: user.gid,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: PROBE_TIMEOUT_MS,
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-300)));
    child.once('error', (error) => resolve(error.message));
    child.once('close', (code, signal) =>
      resolve(
        code === 0
          ? undefined
          : `--version ended with ${code ?? signal}${stderr ? `: ${stderr.trim()}` : ''}`,
      ),
    );
  });
}

/** The folders of a `PATH` that `user` can search. */
export function searchableFolders(searchPath: string, user: ProcessUser): string[] {
  return searchPath
    .split(delimiter)
    .filter((dir) => isAbsolute(dir) && existsSync(dir) && !blockedFor(dir, user, EXECUTE));
}

/**
 * Finds the first `name` on `searchPath` that `user` can run: every folder to it searchable,
 * the file executable, and `<it> --version` exiting 0 when run as `user` (a pyenv shim under
 * a `/root` of mode 0700, say, is skipped for `/usr/bin/python3`).
 *
 * @param name a program name (`python3`) or absolute path
 * @param searchPath the stand-in's `PATH`
 * @param user who runs it
 * @param env the environment of the `--version` run
 */
export async function locateProgram(
  name: string,
  searchPath: string,
  user: ProcessUser,
  env: Readonly<Record<string, string>>,
): Promise<ProgramLocation> {
  const candidates = isAbsolute(name)
    ? [name]
    : [
        ...new Set(
          searchPath
            .split(delimiter)
            .filter((dir) => isAbsolute(dir))
            .map((dir) => join(dir, name)),
        ),
      ].filter((path) => existsSync(path));
  const skipped: string[] = [];
  for (const path of candidates) {
    const why = blockedFor(path, user, EXECUTE) ?? (await probe(path, user, env));
    if (why === undefined) return { found: true, path, skipped };
    skipped.push(`${path} (${why})`);
  }
  return {
    found: false,
    message: `${name} cannot be run as uid ${user.uid}: ${
      skipped.length > 0 ? `tried ${skipped.join('; ')}` : 'not found on PATH'
    }. Install it where that user can run it (e.g. /usr/bin), or start the stand-in with --run-as-uid <another uid>.`,
  };
}
