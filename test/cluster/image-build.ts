import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Log, formatSeconds } from './log';
import { removeTree } from './mounts';
import { logTail } from './processes';

/** How often a running image build reports that it is still alive. */
const progressIntervalMs = 30_000;

/**
 * Folder of built test images: `HKS_IMAGES_CACHE`, else `$XDG_CACHE_HOME/hks/images`,
 * else `~/.cache/hks/images`.
 */
export function imagesCacheDir(): string {
  const xdgCache = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return resolve(process.env.HKS_IMAGES_CACHE ?? join(xdgCache, 'hks', 'images'));
}

/** Content key of a recipe: the first 16 hex digits of the sha256 of its parts. */
export function cacheKey(parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/** sha256 (hex) of a file's content, streamed. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/**
 * Fails with the Debian package to install when a build tool is missing.
 *
 * @param what what needs the tool, for the message, e.g. `docker.io/library/python:3.12-slim`
 */
export function requireTool(tool: string, debianPackage: string, what: string): void {
  const found = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' });
  if (found.status !== 0) {
    throw new Error(
      `${tool} is needed to build ${what} but is not on PATH: install the Debian package ` +
        `${debianPackage} (apt-get install ${debianPackage})`,
    );
  }
}

/** Options of one command a build runs. */
export interface RunOptions {
  readonly cwd?: string;
  /** Environment of the command. @default this process's */
  readonly env?: NodeJS.ProcessEnv;
  /** Return stdout (it is written to the build log too). @default false */
  readonly capture?: boolean;
  /** Kill the command (SIGKILL) after this long. @default no limit */
  readonly timeoutMs?: number;
}

/** What a recipe builds with: a scratch folder, the folder that is cached, a build log. */
export interface BuildStep {
  /** Folder whose content becomes the cache entry (the `.partial` folder until it is complete). */
  readonly outDir: string;
  /** Scratch folder inside `outDir`, removed (mounts and all) before the entry is complete. */
  readonly workDir: string;
  /** `build.log` in `outDir`: every command and its output. */
  readonly logFile: string;
  /** Writes a line to the build log. */
  note(message: string): void;
  /**
   * Runs a command with its output appended to the build log.
   *
   * @returns stdout when `capture` is set, else `''`
   * @throws with the command, its exit status and the last lines of the log when it fails
   */
  run(command: string, args: readonly string[], options?: RunOptions): Promise<string>;
}

function appendLine(logFile: string, line: string): void {
  const fd = openSync(logFile, 'a');
  writeSync(fd, `${line}\n`);
  closeSync(fd);
}

function buildStep(outDir: string): BuildStep {
  const logFile = join(outDir, 'build.log');
  const workDir = join(outDir, 'work');
  mkdirSync(workDir, { recursive: true });
  const note = (message: string): void => appendLine(logFile, message);
  const run = async (
    command: string,
    args: readonly string[],
    options: RunOptions = {},
  ): Promise<string> => {
    note(`$ ${[command, ...args].join(' ')}`);
    const fd = openSync(logFile, 'a');
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', options.capture ? 'pipe' : fd, fd],
    });
    closeSync(fd);
    const chunks: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    const code = await new Promise<number | string>((resolvePromise, reject) => {
      child.on('error', reject);
      child.on('close', (exit, signal) => resolvePromise(exit ?? signal ?? 'unknown'));
    }).finally(() => clearTimeout(timer));
    const stdout = Buffer.concat(chunks).toString('utf8');
    if (options.capture && stdout !== '') {
      note(stdout.trimEnd());
    }
    if (code !== 0) {
      throw new Error(
        `${command} ${args.join(' ')} ended with ${code}; last lines of ${logFile}:\n${logTail(logFile, 30)}`,
      );
    }
    return stdout;
  };
  return { outDir, workDir, logFile, note, run };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `.partial-<pid>` folders of `entry` whose builder is gone (killed mid-build). */
function removeStalePartials(cacheDir: string, entry: string): void {
  if (!existsSync(cacheDir)) {
    return;
  }
  for (const name of readdirSync(cacheDir)) {
    const match = new RegExp(`^${entry.replace(/\./g, '\\.')}\\.partial-(\\d+)$`).exec(name);
    if (match && !isAlive(Number(match[1]))) {
      removeTree(join(cacheDir, name));
    }
  }
}

/** One content-keyed entry of the image cache. */
export interface CacheEntry {
  /** Shown in progress lines, e.g. `docker.io/library/busybox:1.36`. */
  readonly label: string;
  /** Folder name in the cache, e.g. `busybox-1.36-0123456789abcdef`. */
  readonly folder: string;
  /** File in the folder whose presence means the entry is complete, e.g. `image.tar`. */
  readonly product: string;
}

/** Result of {@link cached}. */
export interface CachedEntry {
  /** The entry's folder in the cache. */
  readonly dir: string;
  /** Whether this call built it (false: reused). */
  readonly built: boolean;
}

/**
 * Returns the cache folder of `entry`, building it with `produce` first when it is missing.
 * The build goes to `<folder>.partial-<pid>` (with its `build.log`) and is renamed in place
 * only when `produce` succeeded, so an interrupted build never looks finished; the scratch
 * folder is removed first. A progress line is printed every 30 s.
 */
export async function cached(
  entry: CacheEntry,
  produce: (step: BuildStep) => Promise<void>,
  log: Log,
): Promise<CachedEntry> {
  const cacheDir = imagesCacheDir();
  const target = join(cacheDir, entry.folder);
  if (existsSync(join(target, entry.product))) {
    return { dir: target, built: false };
  }
  removeStalePartials(cacheDir, entry.folder);
  const partial = `${target}.partial-${process.pid}`;
  removeTree(partial);
  const step = buildStep(partial);
  const started = Date.now();
  log(`building ${entry.label} (log: ${step.logFile})`);
  const timer = setInterval(
    () => log(`  still building ${entry.label}: ${formatSeconds(Date.now() - started)} elapsed`),
    progressIntervalMs,
  );
  try {
    await produce(step);
  } catch (error) {
    // Keep the log of the failed build, not its scratch file systems.
    try {
      removeTree(step.workDir);
    } catch (cleanup) {
      log(`  could not remove ${step.workDir}: ${(cleanup as Error).message}`);
    }
    throw error;
  } finally {
    clearInterval(timer);
  }
  removeTree(step.workDir);
  if (existsSync(join(target, entry.product))) {
    removeTree(partial); // another process finished the same entry meanwhile
  } else {
    removeTree(target);
    renameSync(partial, target);
  }
  log(`built ${entry.label} in ${formatSeconds(Date.now() - started)}`);
  return { dir: target, built: true };
}
