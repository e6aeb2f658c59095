/**
 * The identity test API processes run as: a ServiceAccount with exactly the access the stack
 * gives the API (`apiAccessObjects` of api/rbac.ts: cluster roles, binding, admission policy),
 * in a namespace of its own, so that every API suite shows the API works with no more than that.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ApiIdentity, apiAccessObjects } from '../../api/rbac';
import { kubectlOk } from '../cluster/kubectl';

/** The test APIs' ServiceAccount (not the stack's `hks-system/hks-api`, which a suite deletes). */
export const TEST_API_IDENTITY: ApiIdentity = {
  namespace: 'hks-test-api',
  serviceAccount: 'hks-api',
};

/** Applies the ServiceAccount and its access objects (idempotent: server-side apply). */
export async function installApiIdentity(identity = TEST_API_IDENTITY): Promise<void> {
  const items = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: identity.namespace } },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: identity.serviceAccount, namespace: identity.namespace },
    },
    ...apiAccessObjects(identity),
  ];
  await kubectlOk(
    ['apply', '--server-side', '--force-conflicts', '--field-manager=hks-test', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
  );
}

/** A kubeconfig holding a fresh token of `identity`'s ServiceAccount (TokenRequest). */
export async function serviceAccountKubeconfig(
  identity: ApiIdentity,
  duration = '2h',
): Promise<string> {
  const token = (
    await kubectlOk([
      'create',
      'token',
      identity.serviceAccount,
      '-n',
      identity.namespace,
      `--duration=${duration}`,
    ])
  ).trim();
  const admin = JSON.parse(
    await kubectlOk(['config', 'view', '--raw', '--minify', '-o', 'json']),
  ) as { clusters: { cluster: Record<string, string> }[] };
  const path = join(mkdtempSync(join(tmpdir(), 'hks-api-sa-')), 'kubeconfig');
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: admin.clusters[0].cluster }],
      users: [{ name: identity.serviceAccount, user: { token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: identity.serviceAccount } }],
      'current-context': 'c',
    }),
    { mode: 0o600 },
  );
  return path;
}

let installed: Promise<void> | undefined;

/** The kubeconfig of the test API identity, installing it once per test file. */
export async function testApiKubeconfig(): Promise<string> {
  installed ??= installApiIdentity();
  await installed;
  return serviceAccountKubeconfig(TEST_API_IDENTITY);
}
