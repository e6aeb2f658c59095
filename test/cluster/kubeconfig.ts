import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { CertPair } from './certs';
import { clusterConfig } from './config';

const base64 = (path: string): string => readFileSync(path).toString('base64');

/**
 * Writes a self-contained kubeconfig (certificates embedded) for one client identity.
 *
 * @param path where to write it (mode 0600)
 * @param server the API server URL, e.g. `https://127.0.0.1:26443`
 * @param caCert the CA certificate file the server's certificate chains to
 * @param client the client certificate and key
 * @param user the name of the user entry
 */
export function writeKubeconfig(
  path: string,
  server: string,
  caCert: string,
  client: CertPair,
  user: string,
): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'hks-test', cluster: { server, 'certificate-authority-data': base64(caCert) } },
    ],
    users: [
      {
        name: user,
        user: {
          'client-certificate-data': base64(client.cert),
          'client-key-data': base64(client.key),
        },
      },
    ],
    contexts: [{ name: 'hks-test', context: { cluster: 'hks-test', user } }],
    'current-context': 'hks-test',
    preferences: {},
  };
  writeFileSync(path, stringify(config), { mode: 0o600 });
}

/**
 * Path of the kubeconfig integration tests must use.
 *
 * `KUBECONFIG` when set (an existing cluster, or the one the jest global set-up started),
 * else the admin kubeconfig `npm run cluster:up` writes to `.hks/cluster/kubeconfig`.
 */
export function kubeconfigPath(): string {
  const fromEnv = process.env.KUBECONFIG;
  if (fromEnv) {
    return fromEnv;
  }
  const local = clusterConfig().kubeconfig;
  if (!existsSync(local)) {
    throw new Error(
      `No cluster: KUBECONFIG is not set and ${local} does not exist. ` +
        'Run the tests with `jest --selectProjects integration` (it starts one) or `npm run cluster:up`.',
    );
  }
  return local;
}
