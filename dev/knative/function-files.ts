import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { type LocalRuntimePlan, planFolders } from './local-runtime';

/** Modes of what is written for a function; undefined: the defaults (umask). */
export interface FileModes {
  /** Folders above a revision's volumes: searchable, not listable. */
  readonly path: number;
  /** A volume's folders. */
  readonly folder: number;
  /** A volume's files. */
  readonly file: number;
}

/** For a function run as another user: it can reach its files, not list its neighbours'. */
export const SHARED_MODES: FileModes = { path: 0o711, folder: 0o755, file: 0o444 };

/**
 * Creates `target` and each folder between `base` and it, giving each `mode` (set after
 * creation, so the umask does not narrow it).
 */
export function makeFolders(base: string, target: string, mode: number | undefined): void {
  mkdirSync(target, { recursive: true });
  if (mode === undefined) return;
  let dir = base;
  for (const part of relative(base, target).split(sep).filter(Boolean)) {
    dir = join(dir, part);
    chmodSync(dir, mode);
  }
}

/** Writes a plan's files (its ConfigMap volumes) in its folder, with `modes` if given. */
export function writePlanFiles(plan: LocalRuntimePlan, modes: FileModes | undefined): void {
  for (const folder of planFolders(plan)) makeFolders(plan.dir, folder, modes?.folder);
  for (const [file, content] of Object.entries(plan.files)) {
    writeFileSync(file, content, modes === undefined ? undefined : { mode: modes.file });
    if (modes !== undefined) chmodSync(file, modes.file);
  }
}
