import { join } from 'node:path';
import type { Pki } from './certs';
import { nodeNetwork } from './real-node-network';

/** The real node's label and taint key: only pods that tolerate it land there. */
export const realNodeKey = 'hks.dev/real-node';

/** Name of the real node. */
export const realNodeName = 'hks-node-0';

/** Image of the pod sandbox (built by images.ts, imported into containerd). */
export const pauseImage = 'registry.k8s.io/pause:3.10';

/** cgroup (in every v1 hierarchy) under which the kubelet puts all pods. */
export const podCgroupRoot = 'hks-node';

/** Files and folders of the real node, all under `<state>/node`. */
export interface RealNodeFiles {
  readonly dir: string;
  readonly containerdConfig: string;
  readonly containerdRoot: string;
  readonly containerdState: string;
  readonly containerdSocket: string;
  /** runc's state (`--root`), so the harness can find every container it ran. */
  readonly runcRoot: string;
  /** Where containerd mounts the pods' network namespaces. */
  readonly podNetns: string;
  readonly cniConfigDir: string;
  readonly cniIpamDir: string;
  readonly kubeletDir: string;
  readonly kubeletConfig: string;
  readonly kubeletKubeconfig: string;
  readonly podLogsDir: string;
  readonly kubeProxyConfig: string;
  readonly kubeProxyKubeconfig: string;
}

/** Layout of the real node's files in the state folder. */
export function realNodeFiles(stateDir: string): RealNodeFiles {
  const dir = join(stateDir, 'node');
  const containerd = join(dir, 'containerd');
  return {
    dir,
    containerdConfig: join(containerd, 'config.toml'),
    containerdRoot: join(containerd, 'root'),
    containerdState: join(containerd, 'state'),
    containerdSocket: join(containerd, 'containerd.sock'),
    runcRoot: join(containerd, 'runc'),
    podNetns: join(dir, 'netns'),
    cniConfigDir: join(dir, 'cni', 'net.d'),
    cniIpamDir: join(dir, 'cni', 'ipam'),
    kubeletDir: join(dir, 'kubelet'),
    kubeletConfig: join(dir, 'kubelet.json'),
    kubeletKubeconfig: join(dir, 'kubelet.kubeconfig'),
    podLogsDir: join(dir, 'pod-logs'),
    kubeProxyConfig: join(dir, 'kube-proxy.json'),
    kubeProxyKubeconfig: join(dir, 'kube-proxy.kubeconfig'),
  };
}

/** Folder of Debian's CNI plugins (package containernetworking-plugins). */
export const cniBinDir = '/usr/lib/cni';

/**
 * containerd 1.6 with its CRI plugin: every path under the node's state folder (nothing in
 * /var/lib/containerd or /run/containerd), cgroupfs (the VM has cgroup v1 and no systemd),
 * overlayfs, images only from what the harness imported (no registry is reachable).
 */
export function containerdConfig(files: RealNodeFiles): string {
  const q = JSON.stringify;
  return `version = 2
root = ${q(files.containerdRoot)}
state = ${q(files.containerdState)}
disabled_plugins = ["io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = ${q(files.containerdSocket)}

[ttrpc]
  address = ${q(`${files.containerdSocket}.ttrpc`)}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(pauseImage)}
  netns_mounts_under = ${q(files.podNetns)}
  enable_selinux = false
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = ${q(files.runcRoot)}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(cniBinDir)}
    conf_dir = ${q(files.cniConfigDir)}

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(join(files.dir, 'containerd', 'opt'))}
`;
}

/** CNI: a bridge in the node's namespace, addresses from host-local IPAM, no masquerading. */
export function cniConfig(files: RealNodeFiles): string {
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'hks-pods',
      plugins: [
        {
          type: 'bridge',
          bridge: nodeNetwork.bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: nodeNetwork.podCidr }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: files.cniIpamDir,
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

/**
 * The kubelet: registers tainted and labelled, serves its API (logs, exec) on the node's
 * address with the cluster CA, authorizes callers through the API server, keeps every pod
 * under {@link podCgroupRoot} and its logs under the node's state folder, never garbage
 * collects the imported images.
 */
export function kubeletConfig(files: RealNodeFiles, pki: Pki): object {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: nodeNetwork.nodeIp,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: pki.ca.cert },
    },
    authorization: { mode: 'Webhook' },
    tlsCertFile: pki.kubelet.cert,
    tlsPrivateKeyFile: pki.kubelet.key,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: `/${podCgroupRoot}`,
    cgroupsPerQOS: true,
    // The VM has cgroup v1 only; kubelet 1.34 still runs on it when told to.
    failCgroupV1: false,
    failSwapOn: false,
    containerRuntimeEndpoint: `unix://${files.containerdSocket}`,
    podLogsDir: files.podLogsDir,
    registerNode: true,
    registerWithTaints: [{ key: realNodeKey, value: 'true', effect: 'NoSchedule' }],
    resolvConf: '/etc/resolv.conf',
    // The state folder shares the host's disk: no evictions for disk the tests don't use.
    evictionHard: {
      'memory.available': '100Mi',
      'nodefs.available': '1%',
      'imagefs.available': '1%',
      'nodefs.inodesFree': '1%',
    },
    // Imported images cannot be pulled again: never remove them.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    protectKernelDefaults: false,
    makeIPTablesUtilChains: false,
    // Status changes reach the API server promptly (the tests wait on them).
    nodeStatusUpdateFrequency: '4s',
    syncFrequency: '10s',
    fileCheckFrequency: '20s',
    shutdownGracePeriod: '0s',
  };
}

/**
 * kube-proxy in iptables mode inside the node's namespace: Services' cluster IPs reach their
 * endpoints from pods and from the node. Leaves the kernel's conntrack limits alone (they are
 * not per namespace).
 */
export function kubeProxyConfig(files: RealNodeFiles): object {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: files.kubeProxyKubeconfig },
    hostnameOverride: realNodeName,
    bindAddress: nodeNetwork.nodeIp,
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    mode: 'iptables',
    clusterCIDR: nodeNetwork.podCidr,
    conntrack: {
      maxPerCore: 0,
      min: 0,
      tcpEstablishedTimeout: '0s',
      tcpCloseWaitTimeout: '0s',
    },
    iptables: { syncPeriod: '5s', minSyncPeriod: '0s' },
  };
}
