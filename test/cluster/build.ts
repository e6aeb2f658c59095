import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';
import { clusterConfig } from './config';
import { type Component, components, moduleDir } from './components';
import { findGo } from './go';
import { type Log, formatSeconds } from './log';
import { withBuildLock } from '../../tools/pulumi/build-lock';

/** How often a running build reports that it is still alive. */
const progressIntervalMs = 30_000;

/** Folder holding the binaries of one component version, e.g. `~/.cache/hks/cluster/etcd-v3.6.16`. */
export function componentCacheDir(component: Component): string {
  return join(clusterConfig().cacheDir, `${component.name}-${component.version}`);
}

/** Absolute path of a built binary. */
export function binaryPath(component: Component, binary: string): string {
  return join(componentCacheDir(component), 'bin', binary);
}

function isBuilt(component: Component): boolean {
  return component.packages.every(({ binary }) => existsSync(binaryPath(component, binary)));
}

/** The version a go.mod requires `module` at, if it requires it. */
export function pinnedVersion(goMod: string, module: string): string | undefined {
  const pinned = new RegExp(`^\\s*(?:require\\s+)?${module.replace(/\./g, '\\.')}\\s+(\\S+)`, 'm');
  return pinned.exec(goMod)?.[1];
}

function checkWrapperVersion(component: Component): void {
  const goMod = readFileSync(join(moduleDir(component), 'go.mod'), 'utf8');
  const found = pinnedVersion(goMod, component.module);
  if (found !== component.version) {
    throw new Error(
      `test/cluster/go/${component.wrapper}/go.mod requires ${component.module} ${found ?? '(nothing)'}, ` +
        `but components.ts expects ${component.version}; keep them in step`,
    );
  }
}

function linkerFlags(component: Component): string {
  const variables = Object.entries(component.linkerVariables).map(([k, v]) => `-X ${k}=${v}`);
  return ['-s', '-w', ...variables].join(' ');
}

/** How `runGo` runs the Go tool beyond its defaults. */
export interface GoRunOptions {
  /** Variables set over `CGO_ENABLED=0 GOFLAGS=-mod=mod`. @default none */
  readonly env?: Readonly<Record<string, string>>;
  /** Run under `nice -n <niceness>`. @default not niced */
  readonly niceness?: number;
}

/** Runs the Go tool with its output appended to `logFile`; resolves with its exit code. */
export function runGo(
  args: readonly string[],
  cwd: string,
  logFile: string,
  options: GoRunOptions = {},
): Promise<number> {
  const out = openSync(logFile, 'a');
  const command =
    options.niceness === undefined
      ? [findGo(), ...args]
      : ['nice', '-n', String(options.niceness), findGo(), ...args];
  const child = spawn(command[0], command.slice(1), {
    cwd,
    stdio: ['ignore', out, out],
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod', ...options.env },
  });
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      closeSync(out);
      resolvePromise(code ?? 1);
    });
  });
}

/** The error of a failed Go command, with the last lines of its log. */
export function goFailure(label: string, code: number, logFile: string): Error {
  const tail = readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
  return new Error(
    `go build of ${label} failed (exit ${code}); last lines of ${logFile}:\n${tail}`,
  );
}

/**
 * Runs `build` into `<target>.partial-<pid>` (with `bin/` and a `build.log` in it, and a
 * progress line every 30 s) and moves that folder to `target` only when `build` succeeded,
 * so an interrupted build never looks finished.
 */
export async function buildIntoFolder(
  target: string,
  label: string,
  log: Log,
  build: (partial: string, logFile: string) => Promise<void>,
): Promise<void> {
  const partial = `${target}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(join(partial, 'bin'), { recursive: true });
  const logFile = join(partial, 'build.log');
  const started = Date.now();
  log(`building ${label} from Go modules (first run on this machine; log: ${logFile})`);
  const timer = setInterval(
    () => log(`  still building ${label}: ${formatSeconds(Date.now() - started)} elapsed`),
    progressIntervalMs,
  );
  try {
    await build(partial, logFile);
  } finally {
    clearInterval(timer);
  }
  rmSync(target, { recursive: true, force: true });
  renameSync(partial, target);
  log(`built ${label} in ${formatSeconds(Date.now() - started)}`);
}

/** Builds one component into its cache folder unless it is already there. */
export async function buildComponent(component: Component, log: Log): Promise<void> {
  if (isBuilt(component)) {
    return;
  }
  // One build of a component at a time on the machine: a second cluster:up (or a CI run
  // beside a developer's) waits for the first instead of compiling the same modules again.
  await withBuildLock(`${componentCacheDir(component)}.lock`, log, async () => {
    if (!isBuilt(component)) await buildUnlocked(component, log);
  });
}

async function buildUnlocked(component: Component, log: Log): Promise<void> {
  checkWrapperVersion(component);
  const label = `${component.name} ${component.version}`;
  await buildIntoFolder(componentCacheDir(component), label, log, async (partial, logFile) => {
    const single = component.packages.length === 1;
    const output = single
      ? join(partial, 'bin', component.packages[0].binary)
      : join(partial, 'bin') + '/';
    const code = await runGo(
      [
        'build',
        '-trimpath',
        '-ldflags',
        linkerFlags(component),
        '-o',
        output,
        ...component.packages.map((p) => p.pkg),
      ],
      moduleDir(component),
      logFile,
    );
    if (code !== 0) {
      throw goFailure(label, code, logFile);
    }
  });
}

/** Builds every component that is not cached yet; a warm cache costs a few `stat` calls. */
export async function buildAll(log: Log): Promise<void> {
  for (const component of components) {
    await buildComponent(component, log);
  }
}
