import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** Unescapes a mount point as /proc/self/mountinfo writes it (`\040` for a space, ...). */
function unescapeMountPoint(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_match, octal: string) =>
    String.fromCharCode(parseInt(octal, 8)),
  );
}

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const root = resolve(dir);
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => unescapeMountPoint(line.split(' ')[4]))
    .filter((point) => point === root || point.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Unmounts everything mounted at or below `dir` (deepest first; lazily if a plain
 * umount is refused), e.g. what a killed mmdebstrap or containerd left behind.
 *
 * @throws when something is still mounted there afterwards
 */
export function unmountUnder(dir: string): void {
  for (const point of mountsUnder(dir)) {
    if (spawnSync('umount', [point], { stdio: 'ignore' }).status !== 0) {
      spawnSync('umount', ['--lazy', point], { stdio: 'ignore' });
    }
  }
  const left = mountsUnder(dir);
  if (left.length > 0) {
    throw new Error(`could not unmount ${left.join(', ')}`);
  }
}

/**
 * Removes a folder tree that may hold a root file system: unmounts what is mounted in it
 * first and never crosses into another file system (`rm --one-file-system`), so a bind
 * mount of /dev or /proc left in a chroot can not take the host's files with it.
 */
export function removeTree(dir: string): void {
  if (!existsSync(dir)) {
    return;
  }
  unmountUnder(dir);
  const rm = spawnSync('rm', ['-rf', '--one-file-system', '--', dir], { encoding: 'utf8' });
  if (rm.status !== 0 || existsSync(dir)) {
    throw new Error(`could not remove ${dir}: ${rm.stderr.trim() || `rm exited ${rm.status}`}`);
  }
}
