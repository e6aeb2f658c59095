import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiClient, apiRequest } from './api';
import { binaryPath, buildComponent } from './build';
import type { Pki } from './certs';
import { nodeAgents } from './components';
import type { ClusterConfig } from './config';
import { type BuiltImage, buildTestImages, importImages } from './images';
import { writeKubeconfig } from './kubeconfig';
import { type Log, formatSeconds } from './log';
import type { ProcessSpec } from './processes';
import {
  type RealNodeFiles,
  cniBinDir,
  cniConfig,
  containerdConfig,
  kubeProxyConfig,
  kubeletConfig,
  podCgroupRoot,
  realNodeFiles,
  realNodeName,
} from './real-node-config';
import { netnsPath, nodeNetwork, setUpNodeNetwork } from './real-node-network';

/** Whether `cluster:up` adds the real node (`HKS_CLUSTER_REAL_NODE=1`). */
export function realNodeWanted(): boolean {
  const raw = process.env.HKS_CLUSTER_REAL_NODE;
  if (raw === undefined || raw === '' || raw === '0') return false;
  if (raw === '1') return true;
  throw new Error(`HKS_CLUSTER_REAL_NODE must be 1 (add the real node) or 0/unset, got "${raw}"`);
}

/** Process names of the real node, in start order. */
export const realNodeProcessNames = ['containerd', 'kubelet', 'kube-proxy'] as const;

/** Host programs the real node runs or calls, and the Debian package of each. */
const hostPrograms: readonly { readonly path: string; readonly pkg: string }[] = [
  { path: '/usr/bin/containerd', pkg: 'containerd' },
  { path: '/usr/bin/ctr', pkg: 'containerd' },
  { path: '/usr/sbin/runc', pkg: 'runc' },
  { path: join(cniBinDir, 'bridge'), pkg: 'containernetworking-plugins' },
  { path: join(cniBinDir, 'host-local'), pkg: 'containernetworking-plugins' },
  { path: join(cniBinDir, 'portmap'), pkg: 'containernetworking-plugins' },
  { path: join(cniBinDir, 'loopback'), pkg: 'containernetworking-plugins' },
  { path: '/usr/sbin/iptables', pkg: 'iptables' },
  { path: '/usr/sbin/conntrack', pkg: 'conntrack' },
  { path: '/usr/bin/nsenter', pkg: 'util-linux' },
  { path: '/usr/sbin/ip', pkg: 'iproute2' },
];

function findOnPath(path: string): boolean {
  if (existsSync(path)) return true;
  const name = path.split('/').pop() ?? path;
  return (process.env.PATH ?? '').split(':').some((dir) => existsSync(join(dir, name)));
}

/**
 * Throws, naming the Debian packages to install, when a program the real node needs is
 * missing, when not running as root, or when the cgroup v1 hierarchies are not mounted.
 */
export function checkRealNodePrerequisites(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('HKS_CLUSTER_REAL_NODE=1 needs root (network namespaces, cgroups, mounts)');
  }
  const missing = hostPrograms.filter(({ path }) => !findOnPath(path));
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map(({ pkg }) => pkg))].join(' ');
    throw new Error(
      `HKS_CLUSTER_REAL_NODE=1 needs ${missing.map(({ path }) => path).join(', ')}; ` +
        `install them with: apt-get install -y ${pkgs}`,
    );
  }
  if (cgroupHierarchies().length === 0) {
    throw new Error('HKS_CLUSTER_REAL_NODE=1 needs the cgroup v1 hierarchies under /sys/fs/cgroup');
  }
}

/** The mounted cgroup v1 hierarchies (`/sys/fs/cgroup/<name>`). */
export function cgroupHierarchies(): string[] {
  return cgroupMounts(['cgroup']);
}

/**
 * Every cgroup mount under /sys/fs/cgroup, v1 hierarchies and the hybrid layout's cgroup2
 * `unified` one: runc also makes each container's cgroup there, so cleaning up covers it.
 */
export function allCgroupMounts(): string[] {
  return cgroupMounts(['cgroup', 'cgroup2']);
}

function cgroupMounts(types: readonly string[]): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => {
      // The file system type follows the " - " separator.
      const type = fields[fields.indexOf('-') + 1];
      return types.includes(type) && fields[4]?.startsWith('/sys/fs/cgroup/');
    })
    .map((fields) => fields[4]);
}

/** The kubelet refuses a `cgroupRoot` that is missing in any hierarchy; cpuset needs values. */
function createPodCgroups(): void {
  for (const hierarchy of cgroupHierarchies()) {
    const dir = join(hierarchy, podCgroupRoot);
    mkdirSync(dir, { recursive: true });
    if (hierarchy.endsWith('/cpuset')) {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        writeFileSync(join(dir, file), readFileSync(join(hierarchy, file)));
      }
    }
  }
}

/** Builds kubelet and kube-proxy and the test images (each once, then cached). */
export async function buildRealNode(log: Log): Promise<BuiltImage[]> {
  checkRealNodePrerequisites();
  await buildComponent(nodeAgents, log);
  return buildTestImages(log);
}

/** Writes the node's configuration files and kubeconfigs. */
function writeNodeFiles(files: RealNodeFiles, pki: Pki, apiserverPort: number): void {
  for (const dir of [files.dir, files.cniConfigDir, files.cniIpamDir, files.kubeletDir]) {
    mkdirSync(dir, { recursive: true });
  }
  mkdirSync(files.podNetns, { recursive: true });
  mkdirSync(files.podLogsDir, { recursive: true });
  mkdirSync(join(files.dir, 'containerd'), { recursive: true });
  writeFileSync(files.containerdConfig, containerdConfig(files));
  writeFileSync(join(files.cniConfigDir, '10-hks-pods.conflist'), cniConfig(files));
  writeFileSync(files.kubeletConfig, JSON.stringify(kubeletConfig(files, pki), null, 2));
  writeFileSync(files.kubeProxyConfig, JSON.stringify(kubeProxyConfig(files), null, 2));
  // The node reaches the API server at the host's end of its link.
  const server = `https://${nodeNetwork.hostIp}:${apiserverPort}`;
  writeKubeconfig(files.kubeletKubeconfig, server, pki.ca.cert, pki.kubelet, 'kubelet');
  writeKubeconfig(files.kubeProxyKubeconfig, server, pki.ca.cert, pki.kubeProxy, 'kube-proxy');
}

function containerdProcess(files: RealNodeFiles): ProcessSpec {
  return {
    name: 'containerd',
    binary: '/usr/bin/containerd',
    args: ['--config', files.containerdConfig],
    netns: netnsPath(),
  };
}

function kubeletProcess(files: RealNodeFiles): ProcessSpec {
  return {
    name: 'kubelet',
    binary: binaryPath(nodeAgents, 'kubelet'),
    args: [
      `--config=${files.kubeletConfig}`,
      `--kubeconfig=${files.kubeletKubeconfig}`,
      `--root-dir=${files.kubeletDir}`,
      `--hostname-override=${realNodeName}`,
      `--node-ip=${nodeNetwork.nodeIp}`,
      '--node-labels=hks.dev/real-node=true,type=real',
      '--v=1',
    ],
    netns: netnsPath(),
  };
}

function kubeProxyProcess(files: RealNodeFiles): ProcessSpec {
  return {
    name: 'kube-proxy',
    binary: binaryPath(nodeAgents, 'kube-proxy'),
    args: [`--config=${files.kubeProxyConfig}`],
    netns: netnsPath(),
  };
}

/** What {@link startRealNode} needs from the cluster start-up. */
export interface RealNodeStart {
  readonly config: ClusterConfig;
  readonly pki: Pki;
  readonly client: ApiClient;
  readonly images: readonly BuiltImage[];
  /** Starts a process the cluster owns (pid file, log file, stopped by `cluster:down`). */
  readonly start: (spec: ProcessSpec) => void;
  /** Waits for a condition, failing early when a started process died. */
  readonly waitFor: (
    what: string,
    timeoutMs: number,
    ready: () => Promise<boolean>,
  ) => Promise<void>;
  readonly log: Log;
}

async function nodeReady(client: ApiClient): Promise<boolean> {
  const res = await apiRequest(client, 'GET', `/api/v1/nodes/${realNodeName}`);
  if (res.status !== 200) return false;
  const node = JSON.parse(res.body) as {
    status?: { conditions?: { type: string; status: string }[] };
  };
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

function containerdUp(files: RealNodeFiles): boolean {
  try {
    execFileSync('ctr', ['--address', files.containerdSocket, 'version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts the real node: its network namespace, containerd (images imported), the kubelet and
 * kube-proxy; resolves when the node is Ready. The node registers with the taint and label
 * `hks.dev/real-node=true`.
 */
export async function startRealNode(s: RealNodeStart): Promise<void> {
  const started = Date.now();
  const files = realNodeFiles(s.config.stateDir);
  writeNodeFiles(files, s.pki, s.config.ports.apiserver);
  setUpNodeNetwork(s.config.stateDir);
  createPodCgroups();
  s.start(containerdProcess(files));
  await s.waitFor('containerd', 30_000, async () => containerdUp(files));
  // The kubelet registers while the images are imported; no pod can start before both.
  const imported = importImages(files.containerdSocket, s.images, s.log);
  s.start(kubeletProcess(files));
  s.start(kubeProxyProcess(files));
  await Promise.all([
    imported,
    s.waitFor(`node ${realNodeName} Ready`, 60_000, () => nodeReady(s.client)),
  ]);
  s.log(`real node ${realNodeName} Ready after ${formatSeconds(Date.now() - started)}`);
}
