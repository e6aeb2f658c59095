import { clusterUp } from './cluster';
import { stderrLog } from './log';

/** Set when this test run started the cluster, so the teardown stops only what it started. */
export const startedByJestEnv = 'HKS_CLUSTER_STARTED_BY_JEST';

/**
 * jest global set-up of the `integration` project: with `KUBECONFIG` set, the tests use
 * that cluster and nothing is started; otherwise the local control plane is started
 * (or reused when `npm run cluster:up` already runs it) and `KUBECONFIG` points at it.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.KUBECONFIG) {
    stderrLog(`using the cluster from KUBECONFIG=${process.env.KUBECONFIG}`);
    return;
  }
  const result = await clusterUp(stderrLog);
  process.env.KUBECONFIG = result.kubeconfig;
  if (result.started) {
    process.env[startedByJestEnv] = '1';
  }
}
