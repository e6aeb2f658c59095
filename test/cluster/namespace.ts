import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { kubectl, kubectlOk } from './kubectl';
import { waitFor } from './wait';

/** Labels that make Pod Security admission enforce the `restricted` profile. */
export const restrictedPodSecurity: Readonly<Record<string, string>> = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
};

/**
 * Creates a namespace with a unique name and waits until its `default` service account
 * exists (the ServiceAccount admission plugin rejects pods before that).
 *
 * @param prefix start of the name, e.g. `cronjob`
 * @param labels namespace labels, e.g. {@link restrictedPodSecurity}
 * @returns the namespace name
 */
export async function createTestNamespace(
  prefix: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<string> {
  const name = `hks-${prefix}-${randomBytes(3).toString('hex')}`;
  const manifest = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
  await kubectlOk(['create', '-f', '-'], stringify(manifest));
  await waitFor(`service account default in ${name}`, 30_000, async () => {
    const res = await kubectl(['get', 'serviceaccount', 'default', '-n', name]);
    return res.code === 0;
  });
  return name;
}

/**
 * Deletes a namespace without waiting for its contents to go.
 *
 * @param name the namespace
 */
export async function deleteTestNamespace(name: string): Promise<void> {
  await kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found']);
}
