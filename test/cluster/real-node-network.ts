import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NodeAddresses } from './certs';

/**
 * The real node's network, all of it inside one network namespace the harness creates:
 *
 * ```
 * host (API server on 0.0.0.0:26443)            netns hks-node (containerd, kubelet, kube-proxy)
 *   hks-node0 10.200.0.1/30  <── veth ──>  eth0 10.200.0.2/30
 *   route 10.245.0.0/24 via 10.200.0.2          bridge hks-pods0 10.245.0.1/24 ── pod netns ...
 * ```
 *
 * Pods reach the host (the API server, through the `kubernetes` Service that kube-proxy maps in
 * the node's namespace) and each other; a rule in the node's namespace rejects anything else
 * they send out, and the host does not forward. Every rule kube-proxy and the CNI plugins add
 * lives in the node's namespace, so deleting it removes them with the veth and the route.
 */
export const nodeNetwork = {
  /** Network namespace of the node (`/run/netns/<name>`). */
  namespace: 'hks-node',
  /** Host end of the veth pair. */
  hostInterface: 'hks-node0',
  hostIp: '10.200.0.1',
  nodeIp: '10.200.0.2',
  linkPrefix: 30,
  /** Pod addresses (CNI bridge, host-local IPAM); apart from kwok's fake 10.244.0.0/16. */
  podCidr: '10.245.0.0/24',
  /** Service addresses; must match kube-apiserver's `--service-cluster-ip-range`. */
  serviceCidr: '10.96.0.0/16',
  /** Name of the CNI bridge in the node's namespace. */
  bridge: 'hks-pods0',
} as const;

/** Node name and addresses the certificates are issued for. */
export function nodeAddresses(nodeName: string): NodeAddresses {
  return { hostIp: nodeNetwork.hostIp, nodeIp: nodeNetwork.nodeIp, nodeName };
}

/**
 * Names the state folder of the cluster whose node holds the machine-wide names (the network
 * namespace, the link addresses, the pods' cgroup): another cluster started with another
 * `HKS_CLUSTER_DIR` and ports must neither reuse nor remove them.
 */
const ownerFile = '/run/hks-node.owner';

/** State folder of the cluster that made the node's network, if any. */
export function nodeNetworkOwner(): string | undefined {
  try {
    return readFileSync(ownerFile, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the machine-wide parts of a real node belong to the cluster in `stateDir`: it is
 * named as their owner, or nobody is and that cluster has a node folder (`hadNode`).
 */
export function ownsNodeNetwork(stateDir: string, hadNode: boolean): boolean {
  const owner = nodeNetworkOwner();
  return owner === undefined ? hadNode : owner === resolve(stateDir);
}

/** Path of the node's network namespace, for `nsenter --net=`. */
export function netnsPath(): string {
  return `/run/netns/${nodeNetwork.namespace}`;
}

function run(command: string, args: readonly string[]): void {
  try {
    execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr || String(error)}`);
  }
}

/** Runs a command inside the node's network namespace (and only its network namespace). */
function inNode(command: string, args: readonly string[]): void {
  run('nsenter', [`--net=${netnsPath()}`, '--', command, ...args]);
}

/**
 * Creates the node's namespace, its veth link to the host, the host's route to the pods and the
 * rule that keeps pod traffic inside, owned by the cluster in `stateDir`.
 *
 * @throws when another cluster's real node holds them (one real node per machine)
 */
export function setUpNodeNetwork(stateDir: string): void {
  const n = nodeNetwork;
  const owner = nodeNetworkOwner();
  const ownerAlive = owner !== undefined && existsSync(join(owner, 'node'));
  if (nodeNetworkExists() && ownerAlive && owner !== resolve(stateDir)) {
    throw new Error(
      `the real node of the cluster in ${owner} holds the network namespace ${n.namespace}; ` +
        `stop it first (HKS_CLUSTER_DIR=${owner} npm run cluster:down): one real node per machine`,
    );
  }
  // Left by a cluster whose state folder is gone (killed, or removed by hand).
  tearDownNodeNetwork();
  writeFileSync(ownerFile, `${resolve(stateDir)}\n`);
  run('ip', ['netns', 'add', n.namespace]);
  run('ip', ['link', 'add', n.hostInterface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n.namespace]); // prettier-ignore
  run('ip', ['addr', 'add', `${n.hostIp}/${n.linkPrefix}`, 'dev', n.hostInterface]);
  run('ip', ['link', 'set', n.hostInterface, 'up']);
  inNode('ip', ['link', 'set', 'lo', 'up']);
  inNode('ip', ['addr', 'add', `${n.nodeIp}/${n.linkPrefix}`, 'dev', 'eth0']);
  inNode('ip', ['link', 'set', 'eth0', 'up']);
  inNode('ip', ['route', 'add', 'default', 'via', n.hostIp]);
  // Per-namespace settings: routing between the link and the bridge, and bridged pod traffic
  // through iptables, which kube-proxy's Service rules need.
  inNode('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  inNode('sysctl', ['-qw', 'net.bridge.bridge-nf-call-iptables=1']);
  // Pods may talk to the host's end of the link (after kube-proxy's DNAT, that is where the
  // `kubernetes` Service leads) and nowhere else outside the node.
  inNode('iptables', ['-I', 'FORWARD', '-s', n.podCidr, '-o', 'eth0', '!', '-d', n.hostIp, '-j', 'REJECT']); // prettier-ignore
  run('ip', ['route', 'add', n.podCidr, 'via', n.nodeIp, 'dev', n.hostInterface]);
}

/** Whether the node's namespace exists. */
export function nodeNetworkExists(): boolean {
  return existsSync(netnsPath());
}

/**
 * Deletes the node's namespace: with it go its veth pair (and so the host's end and route),
 * the bridge and every iptables rule made inside it. Pods' own namespaces are removed by the
 * caller (they are mounts under the node's state folder). Only for the owner (see
 * {@link ownsNodeNetwork}).
 */
export function tearDownNodeNetwork(): void {
  if (nodeNetworkExists()) {
    run('ip', ['netns', 'del', nodeNetwork.namespace]);
  }
  rmSync(ownerFile, { force: true });
  // A veth whose peer namespace is gone disappears on its own; this covers a half-made set-up.
  try {
    execFileSync('ip', ['link', 'del', nodeNetwork.hostInterface], { stdio: 'ignore' });
  } catch {
    // not there: fine
  }
}
