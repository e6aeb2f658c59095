import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/** No cluster to talk to: no kubeconfig file and not inside a pod. */
export class NoClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoClusterError';
  }
}

const HOW_TO =
  'Set KUBECONFIG to a kubeconfig file (for the test cluster: npm run cluster:up && export KUBECONFIG=$PWD/.hks/cluster/kubeconfig)';

/**
 * Loads the cluster connection: `file` when given, else the files in `KUBECONFIG`, else
 * `~/.kube/config`, else the in-cluster service account.
 * @throws NoClusterError naming what is missing — where client-node would quietly fall back to
 *   `http://localhost:8080` and fail later with an unrelated message
 */
export function loadKubeConfig(
  file?: string,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): KubeConfig {
  const config = new KubeConfig();
  const files =
    file !== undefined ? [file] : (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (files.length > 0) {
    const missing = files.filter((f) => !existsSync(f));
    if (missing.length > 0) {
      const source = file !== undefined ? 'kubeconfig' : 'KUBECONFIG';
      throw new NoClusterError(
        `${source}: given ${JSON.stringify(file ?? env.KUBECONFIG)}, but ${missing.join(', ')} does not exist. ${HOW_TO}`,
      );
    }
    if (file !== undefined) config.loadFromFile(file);
    else config.loadFromDefault();
    return config;
  }
  if (existsSync(join(home, '.kube', 'config')) || env.KUBERNETES_SERVICE_HOST !== undefined) {
    config.loadFromDefault();
    return config;
  }
  throw new NoClusterError(
    `no cluster configured: KUBECONFIG is not set, ${join(home, '.kube', 'config')} does not exist and this is not a pod in a cluster. ${HOW_TO}`,
  );
}
