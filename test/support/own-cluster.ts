/**
 * A control plane of a test's own, started by the project's harness (test/cluster, the same
 * binaries as the shared one) with its own state folder and free ports, and kwok nodes only.
 * For tests that install and destroy cluster-wide objects other tests rely on in the shared
 * cluster: the Knative CRDs, whose deletion removes every Knative Service of every test, and
 * the hks-api ClusterRoles the test APIs are bound to.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../../tools/pulumi/config';
import { kubectl, type KubectlResult } from '../cluster/kubectl';
import { expectOk, run } from './pulumi-cli';

/** Free ports on 127.0.0.1, all open at once so that they differ. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve) => {
          const server = createServer();
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** A running control plane of one test. */
export interface OwnCluster {
  readonly kubeconfig: string;
  /**
   * The environment without the shared cluster's `KUBECONFIG` (and no real node): what the
   * test's child processes get, so that nothing reaches the shared cluster by default.
   */
  readonly env: NodeJS.ProcessEnv;
  /** kubectl against this control plane. */
  kubectl(args: readonly string[]): Promise<KubectlResult>;
  /** Stops it and removes its state (whatever was left in it goes too). */
  down(): Promise<void>;
}

/** Starts a control plane in `<scratch>/cluster`. */
export async function startOwnCluster(scratch: string): Promise<OwnCluster> {
  const [etcd, peer, apiserver, kwok] = await freePorts(4);
  const { KUBECONFIG: _shared, HKS_CLUSTER_REAL_NODE: _node, ...env } = process.env;
  const clusterEnv: NodeJS.ProcessEnv = {
    ...env,
    HKS_CLUSTER_DIR: join(scratch, 'cluster'),
    HKS_CLUSTER_ETCD_PORT: String(etcd),
    HKS_CLUSTER_ETCD_PEER_PORT: String(peer),
    HKS_CLUSTER_APISERVER_PORT: String(apiserver),
    HKS_CLUSTER_KWOK_PORT: String(kwok),
  };
  const cli = (command: 'up' | 'down', echo: boolean) =>
    run('npx', ['tsx', 'test/cluster/cli.ts', command], { cwd: repoRoot, env: clusterEnv, echo });
  const kubeconfig = join(scratch, 'cluster', 'kubeconfig');
  try {
    expectOk(await cli('up', true), 'cluster up');
  } catch (error) {
    await cli('down', false);
    throw error;
  }
  return {
    kubeconfig,
    env,
    kubectl: (args) => kubectl(args, undefined, kubeconfig),
    async down() {
      await cli('down', false);
    },
  };
}
