import { clusterDown } from './cluster';
import { startedByJestEnv } from './global-setup';
import { stderrLog } from './log';

/**
 * jest global teardown of the `integration` project: stops the cluster only if the
 * global set-up of this run started it (set `HKS_CLUSTER_KEEP=1` to leave it running).
 */
export default async function globalTeardown(): Promise<void> {
  if (process.env[startedByJestEnv] !== '1' || process.env.HKS_CLUSTER_KEEP === '1') {
    return;
  }
  delete process.env[startedByJestEnv];
  delete process.env.KUBECONFIG;
  await clusterDown(stderrLog);
}
