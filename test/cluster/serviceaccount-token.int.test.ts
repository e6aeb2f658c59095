import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { kubectl, kubectlOk } from './kubectl';
import { createTestNamespace, deleteTestNamespace } from './namespace';

interface KubeconfigCluster {
  readonly name: string;
  readonly cluster: Record<string, unknown>;
}

/** A kubeconfig for the same cluster that authenticates with `token` only. */
async function tokenKubeconfig(dir: string, token: string): Promise<string> {
  const current = parse(await kubectlOk(['config', 'view', '--raw', '--minify', '--flatten'])) as {
    clusters: KubeconfigCluster[];
  };
  const path = join(dir, 'token.kubeconfig');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: current.clusters,
    users: [{ name: 'token', user: { token } }],
    contexts: [{ name: 'token', context: { cluster: current.clusters[0].name, user: 'token' } }],
    'current-context': 'token',
  };
  writeFileSync(path, stringify(config), { mode: 0o600 });
  return path;
}

describe('service account tokens and RBAC', () => {
  let namespace = '';
  let dir = '';
  let kubeconfig = '';

  beforeAll(async () => {
    namespace = await createTestNamespace('rbac');
    dir = mkdtempSync(join(tmpdir(), 'hks-rbac-'));
    await kubectlOk(['create', 'serviceaccount', 'reader', '-n', namespace]);
    await kubectlOk([
      'create',
      'role',
      'configmap-reader',
      '-n',
      namespace,
      '--verb=get,list',
      '--resource=configmaps',
    ]);
    await kubectlOk([
      'create', 'rolebinding', 'reader', '-n', namespace,
      '--role=configmap-reader', `--serviceaccount=${namespace}:reader`,
    ]); // prettier-ignore
    await kubectlOk([
      'create',
      'configmap',
      'settings',
      '-n',
      namespace,
      '--from-literal=colour=blue',
    ]);
    // `kubectl create token` calls the TokenRequest API.
    const token = (
      await kubectlOk(['create', 'token', 'reader', '-n', namespace, '--duration=10m'])
    ).trim();
    kubeconfig = await tokenKubeconfig(dir, token);
  }, 60_000);

  afterAll(async () => {
    await deleteTestNamespace(namespace);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a TokenRequest token authenticates as the service account', async () => {
    const whoami = await kubectl(['auth', 'whoami', '-o', 'json'], undefined, kubeconfig);
    expect(whoami.code).toBe(0);
    const { status } = JSON.parse(whoami.stdout) as {
      status: { userInfo: { username: string; groups: string[] } };
    };
    expect(status.userInfo.username).toBe(`system:serviceaccount:${namespace}:reader`);
    expect(status.userInfo.groups).toContain('system:serviceaccounts');
  });

  test('RBAC allows what the Role grants', async () => {
    const result = await kubectl(
      ['get', 'configmap', 'settings', '-n', namespace, '-o', 'jsonpath={.data.colour}'],
      undefined,
      kubeconfig,
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('blue');
  });

  test('RBAC denies what the Role does not grant', async () => {
    const canI = await kubectl(
      ['auth', 'can-i', 'list', 'secrets', '-n', namespace],
      undefined,
      kubeconfig,
    );
    expect(canI.stdout.trim()).toBe('no');
    const secrets = await kubectl(
      ['get', '--raw', `/api/v1/namespaces/${namespace}/secrets`],
      undefined,
      kubeconfig,
    );
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toContain('Forbidden');
    const write = await kubectl(
      ['delete', 'configmap', 'settings', '-n', namespace],
      undefined,
      kubeconfig,
    );
    expect(write.stderr).toContain(
      `User "system:serviceaccount:${namespace}:reader" cannot delete resource "configmaps"`,
    );
  });
});
