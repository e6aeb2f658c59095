import { existsSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Log } from './log';
import { unmountUnder } from './mounts';
import { processFiles, runningPid } from './processes';
import { podCgroupRoot, realNodeFiles } from './real-node-config';
import { allCgroupMounts, realNodeProcessNames } from './real-node';
import { nodeNetworkOwner, ownsNodeNetwork, tearDownNodeNetwork } from './real-node-network';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every cgroup folder under `dir`, deepest first. */
function cgroupsDeepestFirst(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const children = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => cgroupsDeepestFirst(join(dir, entry.name)));
  return [...children, dir];
}

function pidsIn(cgroup: string): number[] {
  try {
    return readFileSync(join(cgroup, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map(Number);
  } catch {
    return [];
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/**
 * Kills every process in the pods' cgroups (containers and their sandboxes), whatever
 * containerd still knows about them, then removes the cgroups.
 */
async function killPods(): Promise<void> {
  const hierarchies = allCgroupMounts();
  const pidsHierarchy = hierarchies.find((h) => h.endsWith('/pids')) ?? hierarchies[0];
  if (pidsHierarchy === undefined) return;
  const root = join(pidsHierarchy, podCgroupRoot);
  for (let round = 0; round < 100; round += 1) {
    const pids = cgroupsDeepestFirst(root).flatMap(pidsIn);
    if (pids.length === 0) break;
    pids.forEach(kill);
    await sleep(50);
  }
  // A cgroup stays busy for a moment after its last process died: retry for up to 5 s.
  for (let round = 0; round < 50; round += 1) {
    const left = hierarchies.flatMap((h) => cgroupsDeepestFirst(join(h, podCgroupRoot)));
    if (left.length === 0) return;
    for (const cgroup of left) {
      try {
        rmdirSync(cgroup);
      } catch {
        // busy, or its children are not gone yet: the next round
      }
    }
    await sleep(100);
  }
  const left = hierarchies.flatMap((h) => cgroupsDeepestFirst(join(h, podCgroupRoot)));
  if (left.length > 0) throw new Error(`could not remove the cgroups ${left.join(', ')}`);
}

/**
 * Processes whose command line names a file of the node: containerd's runc shims (`-address
 * <socket>`), and a containerd, kubelet or kube-proxy whose pid file was lost (e.g. an
 * interrupted start).
 */
function nodeProcessPids(nodeDir: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return cmdline.some((arg) => arg.includes(`${nodeDir}/`));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * Removes what the real node leaves once its processes are stopped: pods' processes and
 * cgroups, containerd's shims, the mounts under the node's folder, and the network namespace
 * (with its veth, route, bridge and iptables rules). Safe to call when there is no node, and
 * leaves alone a node that another cluster (another `HKS_CLUSTER_DIR`) started.
 *
 * @param stateDir the cluster's state folder
 * @param stopProcesses stops the node's own processes (kubelet first, containerd last)
 */
export async function removeRealNode(
  stateDir: string,
  stopProcesses: () => Promise<void>,
  log: Log,
): Promise<void> {
  const files = realNodeFiles(stateDir);
  const hadNode = existsSync(files.dir);
  await stopProcesses();
  // The pods' cgroup and the network namespace are machine-wide names: a cluster in another
  // state folder (other ports, no real node) must not take down the node of this one.
  const ours = ownsNodeNetwork(stateDir, hadNode);
  if (ours) await killPods();
  nodeProcessPids(files.dir).forEach(kill);
  unmountUnder(files.dir);
  if (ours) tearDownNodeNetwork();
  if (hadNode) log('removed the real node (containers, mounts, network namespace)');
}

/**
 * Removes the real node another cluster left when none of its processes runs any more (its
 * run was killed before `cluster:down`): its pods, mounts and network namespace would
 * otherwise block every later real node on the machine. A node whose containerd, kubelet or
 * kube-proxy still runs is left alone.
 *
 * @param stateDir the state folder of the cluster about to start
 * @returns whether a node was reclaimed
 */
export async function reclaimAbandonedNode(stateDir: string, log: Log): Promise<boolean> {
  const owner = nodeNetworkOwner();
  if (owner === undefined || owner === resolve(stateDir)) return false;
  const running = realNodeProcessNames.filter(
    (name) => runningPid(processFiles(owner, name).pidFile) !== undefined,
  );
  if (running.length > 0) return false;
  await removeRealNode(owner, async () => undefined, log);
  // removeRealNode logs only when the node folder is still there.
  if (nodeNetworkOwner() === undefined) {
    log(`reclaimed the real node left by the stopped cluster in ${owner}`);
  }
  return true;
}
