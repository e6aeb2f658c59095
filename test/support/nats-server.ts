/**
 * The NATS server with JetStream for the event trigger tests: built from its Go module
 * (test/cluster/go/nats-server) into the test cluster's cache like the control plane's
 * binaries, then started on a free port with its storage in a temporary folder.
 * `tsx test/support/nats-server.ts build` builds it ahead (.ci/run does, in the background).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Component } from '../cluster/components';
import { type Log, stderrLog } from '../cluster/log';
import { buildFromCommandLine, ensureGoTool, stopChild, waitUntilReady } from './go-tool';
import { freePorts } from './own-cluster';

/** nats-server, a release github.com/nats-io/nats-server/v2 the Go module proxy serves. */
export const natsServer: Component = {
  name: 'nats-server',
  wrapper: 'nats-server',
  version: 'v2.14.9',
  module: 'github.com/nats-io/nats-server/v2',
  packages: [{ pkg: 'github.com/nats-io/nats-server/v2', binary: 'nats-server' }],
  linkerVariables: {},
};

/**
 * Builds nats-server unless cached (about 2 min cold on 2 busy cores). One build at a time on
 * the machine: a test started while .ci/run's background build runs waits for it.
 * @returns the binary's path
 */
export async function ensureNatsServer(log: Log = stderrLog): Promise<string> {
  return ensureGoTool(natsServer, 'nats-server', 'nats-server-build', log);
}

/** A running nats-server of a test. */
export interface RunningNatsServer {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** Its log (stderr and stdout). */
  readonly logFile: string;
  /** Stops it (SIGTERM, then SIGKILL after 5 s) and removes its storage. */
  stop(): Promise<void>;
}

/** Starts nats-server with JetStream on a free loopback port; resolves once it accepts connections. */
export async function startNatsServer(): Promise<RunningNatsServer> {
  const binary = await ensureNatsServer();
  const dir = mkdtempSync(join(tmpdir(), 'hks-nats-'));
  const [port] = await freePorts(1);
  const logFile = join(dir, 'nats-server.log');
  const out = openSync(logFile, 'a');
  const child = spawn(
    binary,
    ['-js', '-sd', join(dir, 'store'), '-a', '127.0.0.1', '-p', String(port), '-n', 'hks-test'],
    { stdio: ['ignore', out, out] },
  );
  const url = `nats://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady('nats-server', () => accepts(port), child, logFile);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, logFile, stop };
}

/** Whether a TCP connection to the loopback port is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

if (require.main === module && process.argv[2] === 'build') buildFromCommandLine(ensureNatsServer);
