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

function checkWrapperVersion(component: Component): void {
  const goMod = readFileSync(join(moduleDir(component), 'go.mod'), 'utf8');
  const pinned = new RegExp(
    `^\\s*(?:require\\s+)?${component.module.replace(/\./g, '\\.')}\\s+(\\S+)`,
    'm',
  );
  const found = pinned.exec(goMod)?.[1];
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

function runGo(args: readonly string[], cwd: string, logFile: string): Promise<number> {
  const out = openSync(logFile, 'a');
  const child = spawn(findGo(), args, {
    cwd,
    stdio: ['ignore', out, out],
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
  });
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      closeSync(out);
      resolvePromise(code ?? 1);
    });
  });
}

/**
 * Builds one component into its cache folder unless it is already there.
 * The binaries land in a `.partial` folder first and are moved in place only when
 * every package built, so an interrupted build never looks finished.
 */
export async function buildComponent(component: Component, log: Log): Promise<void> {
  if (isBuilt(component)) {
    return;
  }
  checkWrapperVersion(component);
  const target = componentCacheDir(component);
  const partial = `${target}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(join(partial, 'bin'), { recursive: true });
  const logFile = join(partial, 'build.log');
  const started = Date.now();
  const label = `${component.name} ${component.version}`;
  log(`building ${label} from Go modules (first run on this machine; log: ${logFile})`);
  const timer = setInterval(
    () => log(`  still building ${label}: ${formatSeconds(Date.now() - started)} elapsed`),
    progressIntervalMs,
  );
  try {
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
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
      throw new Error(
        `go build of ${label} failed (exit ${code}); last lines of ${logFile}:\n${tail}`,
      );
    }
  } finally {
    clearInterval(timer);
  }
  rmSync(target, { recursive: true, force: true });
  renameSync(partial, target);
  log(`built ${label} in ${formatSeconds(Date.now() - started)}`);
}

/** Builds every component that is not cached yet; a warm cache costs a few `stat` calls. */
export async function buildAll(log: Log): Promise<void> {
  for (const component of components) {
    await buildComponent(component, log);
  }
}
