import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { ActionFields, ActionLog } from './action-log';

/** Options of {@link startKnativeStandIn}. */
export interface StartKnativeStandInOptions {
  /**
   * Path of the kubeconfig file of the cluster.
   * @default - `KUBECONFIG` of this process
   */
  readonly kubeconfig?: string;
  /**
   * Folder for revisions' files and logs.
   * @default - `.hks/knative` in the repository
   */
  readonly stateDir?: string;
  /**
   * Only Services in namespaces starting with this prefix are handled.
   * @default - every namespace
   */
  readonly namespacePrefix?: string;
  /**
   * Receives one call per action the stand-in logs.
   * @default - actions are dropped
   */
  readonly log?: ActionLog;
  /**
   * How long a revision's process may take to answer `GET /healthz` with 200.
   * @default 30000
   */
  readonly readyTimeoutMs?: number;
  /**
   * First install the Knative Serving CRDs (`--install-crds`).
   * @default false
   */
  readonly installCrds?: boolean;
  /**
   * Knative release folder the CRDs are read from.
   * @default - `HKS_KNATIVE_DIR`, else `../shared/knative/v1.13.0` next to the repository
   */
  readonly knativeDir?: string;
  /**
   * The uid function processes run as when the stand-in runs as root (`--run-as-uid`).
   * @default 65534 (nobody)
   */
  readonly runAsUser?: number;
  /**
   * The gid function processes run as when the stand-in runs as root (`--run-as-gid`).
   * @default 65534 (nogroup)
   */
  readonly runAsGroup?: number;
  /**
   * Idle time after which a revision with min-scale 0 stops until its next request
   * (`--scale-to-zero-after`, whole seconds or fractions).
   * @default - never
   */
  readonly scaleToZeroAfterMs?: number;
  /**
   * How long a revision no longer routed is kept before it is deleted (`--retain-non-active`).
   * @default - until its Service is deleted
   */
  readonly retainNonActiveMs?: number;
  /**
   * Runs revisions as pods on the test cluster's real node (`--real-pods`).
   * @default false
   */
  readonly realPods?: boolean;
}

/** A stand-in running as a child process. */
export interface StartedKnativeStandIn {
  /** The child process's id. */
  readonly pid: number | undefined;
  /** SIGTERM: the stand-in stops its function processes and deletes its pods, then exits. */
  stop(): Promise<void>;
}

/** Stand-ins still running: each is asked to stop (SIGTERM) when this process exits. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

/** How long the stand-in may take to start (tsx compiles it first). */
const START_TIMEOUT_MS = 60_000;
/** How long it may take to stop before it is killed. */
const STOP_TIMEOUT_MS = 15_000;

/**
 * Starts the Knative controller stand-in (`npm run dev:knative`, development and tests only)
 * as a child process — one node process with tsx's loader — and resolves once it has listed
 * the Services already there and watches for more. Its JSON action lines go to `log`.
 */
export function startKnativeStandIn(
  options: StartKnativeStandInOptions = {},
): Promise<StartedKnativeStandIn> {
  const args = ['--import', 'tsx', join(__dirname, 'main.ts'), '--log-format', 'json'];
  if (options.stateDir !== undefined) args.push('--state-dir', options.stateDir);
  if (options.namespacePrefix !== undefined)
    args.push('--namespace-prefix', options.namespacePrefix);
  if (options.readyTimeoutMs !== undefined)
    args.push('--ready-timeout', String(options.readyTimeoutMs / 1000));
  if (options.installCrds) args.push('--install-crds');
  if (options.knativeDir !== undefined) args.push('--knative-dir', options.knativeDir);
  if (options.runAsUser !== undefined) args.push('--run-as-uid', String(options.runAsUser));
  if (options.runAsGroup !== undefined) args.push('--run-as-gid', String(options.runAsGroup));
  if (options.scaleToZeroAfterMs !== undefined)
    args.push('--scale-to-zero-after', String(options.scaleToZeroAfterMs / 1000));
  if (options.retainNonActiveMs !== undefined)
    args.push('--retain-non-active', String(options.retainNonActiveMs / 1000));
  if (options.realPods) args.push('--real-pods');
  const env = { ...process.env };
  if (options.kubeconfig !== undefined) env.KUBECONFIG = options.kubeconfig;
  // The option decides, not the environment the tests run in.
  delete env.HKS_KNATIVE_REAL_PODS;
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  void exited.then(() => running.delete(child));
  let stderr = '';
  let pending = '';
  let onStarted: () => void = () => undefined;
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      let parsed: { action?: string } & Record<string, string | number | boolean>;
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        continue;
      }
      const { action, time: _time, ...fields } = parsed;
      if (action === undefined) continue;
      options.log?.(action, fields as ActionFields);
      if (action === 'started') onStarted();
    }
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(
        new Error(`the Knative stand-in did not start within ${START_TIMEOUT_MS} ms: ${stderr}`),
      );
    }, START_TIMEOUT_MS);
    onStarted = () => {
      clearTimeout(timer);
      resolve({ pid: child.pid, stop });
    };
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the Knative stand-in exited with code ${code}: ${stderr}`));
    });
  });
}
