import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { type ApiClient, apiRequest, certClient } from './api';
import { buildAll } from './build';
import { ensurePki } from './certs';
import { type ClusterConfig, clusterConfig } from './config';
import {
  type ControlPlaneFiles,
  apiserverProcess,
  apiserverUrl,
  controlPlaneFiles,
  controllerManagerProcess,
  etcdProcess,
  kwokProcess,
  schedulerProcess,
} from './control-plane';
import { writeKubeconfig } from './kubeconfig';
import { writeKwokConfig } from './kwok-config';
import { installKwokLogsCrd } from './kwok-logs-crd';
import { type Log, formatSeconds } from './log';
import { createFakeNodes, unreadyNodes } from './nodes';
import { buildRealNode, realNodeProcessNames, realNodeWanted, startRealNode } from './real-node';
import { reclaimAbandonedNode, removeRealNode } from './real-node-cleanup';
import { realNodeName } from './real-node-config';
import { nodeAddresses } from './real-node-network';
import {
  type ProcessSpec,
  logTail,
  processFiles,
  runningPid,
  startProcess,
  stopProcess,
} from './processes';
import { waitFor } from './wait';

/** Process names of the control plane, in start order. */
const processNames = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
];

/** Every process a healthy cluster runs: the control plane, and the real node when wanted. */
function expectedProcesses(): string[] {
  return realNodeWanted() ? [...processNames, ...realNodeProcessNames] : processNames;
}

/** What `clusterUp` did. */
export interface UpResult {
  /** False when a healthy cluster was already running and nothing was started. */
  readonly started: boolean;
  /** Admin kubeconfig. */
  readonly kubeconfig: string;
  /** Time from the call to a ready cluster, without building. */
  readonly startMs: number;
}

/** An admin client from the certificates of a running cluster, if they exist. */
function existingAdminClient(config: ClusterConfig): ApiClient | undefined {
  const pkiDir = join(config.stateDir, 'pki');
  const ca = join(pkiDir, 'ca.crt');
  const admin = { cert: join(pkiDir, 'admin.crt'), key: join(pkiDir, 'admin.key') };
  const present = [ca, admin.cert, admin.key].every((file) => existsSync(file));
  return present ? certClient(apiserverUrl(config), ca, admin) : undefined;
}

async function apiserverReady(client: ApiClient): Promise<boolean> {
  const res = await apiRequest(client, 'GET', '/readyz', undefined, 2_000);
  return res.status === 200;
}

/**
 * Whether the cluster this harness started is running: every process alive, the API
 * server ready and the admin kubeconfig written.
 */
export async function isClusterHealthy(config: ClusterConfig = clusterConfig()): Promise<boolean> {
  const allRunning = expectedProcesses().every(
    (name) => runningPid(processFiles(config.stateDir, name).pidFile) !== undefined,
  );
  const client = existingAdminClient(config);
  if (!allRunning || client === undefined || !existsSync(config.kubeconfig)) {
    return false;
  }
  return apiserverReady(client).catch(() => false);
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

async function checkPortsFree(config: ClusterConfig): Promise<void> {
  const env: Record<string, number> = {
    HKS_CLUSTER_ETCD_PORT: config.ports.etcdClient,
    HKS_CLUSTER_ETCD_PEER_PORT: config.ports.etcdPeer,
    HKS_CLUSTER_APISERVER_PORT: config.ports.apiserver,
    HKS_CLUSTER_KWOK_PORT: config.ports.kwok,
  };
  for (const [name, port] of Object.entries(env)) {
    if (await portInUse(port)) {
      throw new Error(`port ${port} on 127.0.0.1 is already in use; choose another with ${name}`);
    }
  }
}

function prepareFiles(config: ClusterConfig): ControlPlaneFiles {
  mkdirSync(config.stateDir, { recursive: true });
  const pki = ensurePki(join(config.stateDir, 'pki'), nodeAddresses(realNodeName));
  const files = controlPlaneFiles(config, pki);
  const server = apiserverUrl(config);
  writeKubeconfig(
    files.controllerManagerKubeconfig,
    server,
    pki.ca.cert,
    pki.controllerManager,
    'kube-controller-manager',
  );
  writeKubeconfig(files.schedulerKubeconfig, server, pki.ca.cert, pki.scheduler, 'kube-scheduler');
  writeKubeconfig(files.kwokKubeconfig, server, pki.ca.cert, pki.kwok, 'kwok');
  writeKwokConfig(files.kwokConfig);
  return files;
}

/** Throws with the log tail of any started process that has exited. */
function guardAlive(config: ClusterConfig, specs: readonly ProcessSpec[]): () => void {
  return () => {
    for (const spec of specs) {
      const files = processFiles(config.stateDir, spec.name);
      if (runningPid(files.pidFile) === undefined) {
        throw new Error(
          `${spec.name} exited; last lines of ${files.logFile}:\n${logTail(files.logFile)}`,
        );
      }
    }
  };
}

/**
 * Builds the binaries if needed and starts etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler and kwok with two fake nodes; resolves when the API server is ready, the
 * nodes are Ready and schedulable and the admin kubeconfig is written.
 * Returns at once when a healthy cluster is already running.
 *
 * @param log progress output
 */
export async function clusterUp(log: Log): Promise<UpResult> {
  const config = clusterConfig();
  if (await isClusterHealthy(config)) {
    log(`cluster already running; kubeconfig: ${config.kubeconfig}`);
    return { started: false, kubeconfig: config.kubeconfig, startMs: 0 };
  }
  await clusterDown(() => undefined);
  await checkPortsFree(config);
  await buildAll(log);
  const realNode = realNodeWanted();
  if (realNode) await reclaimAbandonedNode(config.stateDir, log);
  const images = realNode ? await buildRealNode(log) : [];
  const started = Date.now();
  const files = prepareFiles(config);
  const client = certClient(apiserverUrl(config), files.pki.ca.cert, files.pki.admin);
  const specs: ProcessSpec[] = [];
  const start = (spec: ProcessSpec): void => {
    startProcess(config.stateDir, spec);
    specs.push(spec);
  };
  const alive = guardAlive(config, specs);
  try {
    start(etcdProcess(config, files));
    const etcdHealth = `http://127.0.0.1:${config.ports.etcdClient}/health`;
    await waitFor('etcd', 30_000, async () => (await fetch(etcdHealth)).ok, alive);
    start(apiserverProcess(config, files, realNode));
    await waitFor('kube-apiserver /readyz', 60_000, () => apiserverReady(client), alive);
    log(`kube-apiserver ready after ${formatSeconds(Date.now() - started)}`);
    start(controllerManagerProcess(files));
    start(schedulerProcess(files));
    // kwok watches Logs objects (per-pod log files); its CRD must exist before kwok starts.
    await installKwokLogsCrd(client);
    start(kwokProcess(config, files));
    await createFakeNodes(client, config.nodeNames);
    await waitFor(
      `nodes ${config.nodeNames.join(', ')} Ready`,
      60_000,
      async () => (await unreadyNodes(client, config.nodeNames)).length === 0,
      alive,
      250,
    );
    log(`nodes Ready after ${formatSeconds(Date.now() - started)}`);
    if (realNode) {
      await startRealNode({
        config,
        pki: files.pki,
        client,
        images,
        start,
        waitFor: (what, timeoutMs, ready) => waitFor(what, timeoutMs, ready, alive, 250),
        log,
      });
    }
    await waitFor(
      'the default service account',
      30_000,
      async () =>
        (await apiRequest(client, 'GET', '/api/v1/namespaces/default/serviceaccounts/default'))
          .status === 200,
      alive,
    );
  } catch (error) {
    await clusterDown(() => undefined, { keepLogs: true });
    throw error;
  }
  const admin = `${config.kubeconfig}.tmp`;
  writeKubeconfig(admin, apiserverUrl(config), files.pki.ca.cert, files.pki.admin, 'hks-admin');
  renameSync(admin, config.kubeconfig);
  const startMs = Date.now() - started;
  log(`cluster ready in ${formatSeconds(startMs)}; kubeconfig: ${config.kubeconfig}`);
  return { started: true, kubeconfig: config.kubeconfig, startMs };
}

/**
 * Stops the processes named by the pid files in the state folder (nothing else) and
 * removes the cluster's data.
 *
 * @param log progress output
 * @param options `keepLogs` leaves the logs folder for diagnosis
 */
export async function clusterDown(log: Log, options: { keepLogs?: boolean } = {}): Promise<void> {
  const config = clusterConfig();
  const stop = async (names: readonly string[]): Promise<void> => {
    for (const name of [...names].reverse()) {
      const { pidFile } = processFiles(config.stateDir, name);
      if (runningPid(pidFile) !== undefined) {
        log(`stopping ${name}`);
      }
      await stopProcess(pidFile);
    }
  };
  // The node goes first, whether or not this run asked for it: a node left by an earlier
  // `HKS_CLUSTER_REAL_NODE=1 cluster:up` is removed too.
  await removeRealNode(config.stateDir, () => stop(realNodeProcessNames), log);
  await stop(processNames);
  if (!existsSync(config.stateDir)) {
    return;
  }
  if (options.keepLogs) {
    for (const entry of ['etcd', 'pki', 'run', 'kwok', 'node', 'kubeconfig']) {
      rmSync(join(config.stateDir, entry), { recursive: true, force: true });
    }
    return;
  }
  rmSync(config.stateDir, { recursive: true, force: true });
  log(`removed ${config.stateDir}`);
}
