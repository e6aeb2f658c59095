import { type Stats, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The uid and gid a function process runs as. */
export interface ProcessUser {
  readonly uid: number;
  readonly gid: number;
}

/** Permission bits: read, write, execute (search, for a folder). */
export const READ = 4;
export const EXECUTE = 1;

/** The owner and mode of a file, as {@link Stats} has them. */
export type Ownership = Pick<Stats, 'uid' | 'gid' | 'mode'>;

/**
 * The permission bits (`rwx` as 0-7) `user` has on a file: the owner's when it owns it, else
 * the group's when it is of its group, else the others'. Supplementary groups do not count:
 * node's `spawn` with `uid`/`gid` drops them. ACLs are not looked at.
 */
export function permissionBits(file: Ownership, user: ProcessUser): number {
  if (user.uid === 0) return 7;
  const shift = file.uid === user.uid ? 6 : file.gid === user.gid ? 3 : 0;
  return (file.mode >> shift) & 7;
}

function describe(path: string, file: Ownership): string {
  const mode = (file.mode & 0o7777).toString(8).padStart(4, '0');
  return `${path} is mode ${mode} (owner ${file.uid}:${file.gid})`;
}

function chainBlocked(
  path: string,
  user: ProcessUser,
  want: number,
  statOf: (path: string) => Ownership,
): string | undefined {
  const folders: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    folders.unshift(dir);
    if (dir === dirname(dir)) break;
  }
  for (const dir of folders) {
    const stat = statOf(dir);
    if ((permissionBits(stat, user) & EXECUTE) === 0) return describe(dir, stat);
  }
  const stat = statOf(path);
  return (permissionBits(stat, user) & want) === want ? undefined : describe(path, stat);
}

/**
 * Why `user` cannot open `path` with the `want` bits (e.g. {@link READ}), through every
 * folder above it and above its real path (a symbolic link's target): the first folder it
 * cannot search or the file itself, with its mode; undefined when it can.
 *
 * @param statOf reads a file's owner and mode (following links)
 * @default statOf - `statSync`
 */
export function blockedFor(
  path: string,
  user: ProcessUser,
  want: number,
  statOf: (path: string) => Ownership = statSync,
  realpathOf: (path: string) => string = realpathSync,
): string | undefined {
  const absolute = resolve(path);
  try {
    return (
      chainBlocked(absolute, user, want, statOf) ??
      chainBlocked(realpathOf(absolute), user, want, statOf)
    );
  } catch (error) {
    return `${absolute}: ${error instanceof Error ? error.message : String(error)}`;
  }
}
