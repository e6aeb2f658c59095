import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Log } from '../../test/cluster/log';

const pollMs = 2_000;
const waitingLineEveryMs = 60_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid holding the lock, 0 while its holder is still writing it, undefined when free. */
function holder(lock: string): number | undefined {
  try {
    return Number(readFileSync(lock, 'utf8')) || 0;
  } catch {
    return undefined;
  }
}

/**
 * Runs `fn` holding `<cacheDir>/build.lock`, so that concurrent runs (a test and a user's
 * `npm run pulumi`) build once, one after the other, instead of twice side by side on the same
 * cores. A lock left by a process that died is taken over, and so are the `.partial-<pid>`
 * folders such a process left behind: with the lock held, nobody else is building.
 */
export async function withBuildLock<T>(
  cacheDir: string,
  log: Log,
  fn: () => Promise<T>,
): Promise<T> {
  mkdirSync(cacheDir, { recursive: true });
  const lock = join(cacheDir, 'build.lock');
  let lastLine = 0;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = holder(lock);
    if (pid !== undefined && pid !== 0 && !isAlive(pid)) {
      rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() - lastLine >= waitingLineEveryMs) {
      log(`waiting for process ${pid ?? '?'}, which builds the toolchain (lock ${lock})`);
      lastLine = Date.now();
    }
    await sleep(pollMs);
  }
  try {
    for (const entry of readdirSync(cacheDir)) {
      if (/\.partial-\d+$/.test(entry))
        rmSync(join(cacheDir, entry), { recursive: true, force: true });
    }
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}
