import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Repository root (two levels above this folder). */
export const repoRoot = resolve(__dirname, '..', '..');

/** Kubernetes release the control plane is built from. */
export const kubernetesVersion = 'v1.34.4';

/** Ports the local control plane listens on (127.0.0.1 only). */
export interface ClusterPorts {
  /** etcd client port. @default 23790 (env HKS_CLUSTER_ETCD_PORT) */
  readonly etcdClient: number;
  /** etcd peer port. @default 23800 (env HKS_CLUSTER_ETCD_PEER_PORT) */
  readonly etcdPeer: number;
  /** kube-apiserver secure port. @default 26443 (env HKS_CLUSTER_APISERVER_PORT) */
  readonly apiserver: number;
  /** kwok's kubelet API (logs) port, shared by every fake node. @default 20250 (env HKS_CLUSTER_KWOK_PORT) */
  readonly kwok: number;
}

/** Everything the harness needs to know about where things live. */
export interface ClusterConfig {
  /** Folder holding state, certificates, logs and pid files. */
  readonly stateDir: string;
  /** Folder holding built binaries, one sub-folder per component and version. */
  readonly cacheDir: string;
  /** Admin kubeconfig written by `cluster:up`. */
  readonly kubeconfig: string;
  readonly ports: ClusterPorts;
  /** Names of the fake nodes kwok manages. */
  readonly nodeNames: readonly string[];
}

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${name} must be a TCP port between 1 and 65535, got "${raw}"`);
  }
  return port;
}

/**
 * Reads the cluster configuration from the environment.
 *
 * `HKS_CLUSTER_DIR` (default `.hks/cluster` in the repository) holds state;
 * `HKS_CLUSTER_CACHE` (default `$XDG_CACHE_HOME/hks/cluster` or `~/.cache/hks/cluster`)
 * holds built binaries; the `HKS_CLUSTER_*_PORT` variables override ports.
 */
export function clusterConfig(): ClusterConfig {
  const stateDir = resolve(process.env.HKS_CLUSTER_DIR ?? join(repoRoot, '.hks', 'cluster'));
  const xdgCache = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  const cacheDir = resolve(process.env.HKS_CLUSTER_CACHE ?? join(xdgCache, 'hks', 'cluster'));
  return {
    stateDir,
    cacheDir,
    kubeconfig: join(stateDir, 'kubeconfig'),
    ports: {
      etcdClient: portFromEnv('HKS_CLUSTER_ETCD_PORT', 23790),
      etcdPeer: portFromEnv('HKS_CLUSTER_ETCD_PEER_PORT', 23800),
      apiserver: portFromEnv('HKS_CLUSTER_APISERVER_PORT', 26443),
      kwok: portFromEnv('HKS_CLUSTER_KWOK_PORT', 20250),
    },
    nodeNames: ['kwok-node-0', 'kwok-node-1'],
  };
}
