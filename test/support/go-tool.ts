/**
 * What the tests' own servers built from Go modules share (nats-server, the OpenTelemetry
 * Collector): a build into the test cluster's cache under a machine-wide lock, a readiness
 * wait that reports the server's log, a stop, and the `build` command `.ci/run` calls ahead.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { withBuildLock } from '../../tools/pulumi/build-lock';
import { binaryPath, buildComponent } from '../cluster/build';
import type { Component } from '../cluster/components';
import { clusterConfig } from '../cluster/config';
import { type Log, stderrLog } from '../cluster/log';

/**
 * Builds `component` unless cached. One build at a time on the machine: a test started while
 * .ci/run's background build runs waits for it.
 * @param lockName the lock's folder in the cluster cache
 * @returns the path of `binary`
 */
export async function ensureGoTool(
  component: Component,
  binary: string,
  lockName: string,
  log: Log = stderrLog,
): Promise<string> {
  const lockDir = join(clusterConfig().cacheDir, lockName);
  await withBuildLock(lockDir, log, () => buildComponent(component, log));
  return binaryPath(component, binary);
}

/**
 * Polls `ready` every 100 ms until it holds.
 * @throws Error with the server's log when it exits first or is not ready within `timeoutMs`
 */
export async function waitUntilReady(
  what: string,
  ready: () => Promise<boolean>,
  child: ChildProcess,
  logFile: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${what} exited (${child.exitCode}): ${readFileSync(logFile, 'utf8')}`);
    if (await ready()) return;
    await sleep(100);
  }
  throw new Error(
    `${what} was not ready within ${timeoutMs / 1000} s: ${readFileSync(logFile, 'utf8')}`,
  );
}

/** Stops a server: SIGTERM, then SIGKILL after 5 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(killer);
}

/** `tsx <module> build`: builds ahead and prints the binary's path, or the error and exit 1. */
export function buildFromCommandLine(ensure: () => Promise<string>): void {
  ensure().then(
    (path) => process.stdout.write(`${path}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
