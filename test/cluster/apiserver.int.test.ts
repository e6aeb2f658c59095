import { resolve } from 'node:path';
import { clusterConfig, kubernetesVersion } from './config';
import { kubeconfigPath } from './kubeconfig';
import { realNodeName } from './real-node-config';
import { realNodeRequested } from './real-node-placement';
import { kubectlJson, kubectlOk } from './kubectl';

interface VersionInfo {
  readonly serverVersion: {
    readonly gitVersion: string;
    readonly major: string;
    readonly minor: string;
  };
}

interface NodeList {
  readonly items: readonly {
    readonly metadata: { readonly name: string };
    readonly status: {
      readonly conditions: readonly { readonly type: string; readonly status: string }[];
    };
  }[];
}

/** True when the tests run against the control plane this harness starts. */
const ownCluster = (): boolean => resolve(kubeconfigPath()) === clusterConfig().kubeconfig;

describe('the test control plane', () => {
  test('serves the Kubernetes version it was built from', async () => {
    const { serverVersion } = await kubectlJson<VersionInfo>(['version']);
    expect(serverVersion.gitVersion).toMatch(/^v\d+\.\d+\.\d+/);
    if (ownCluster()) {
      expect(serverVersion.gitVersion).toBe(kubernetesVersion);
      expect(`v${serverVersion.major}.${serverVersion.minor}`).toBe(
        kubernetesVersion.replace(/\.\d+$/, ''),
      );
    }
  });

  test('is ready and answers kubectl', async () => {
    expect((await kubectlOk(['get', '--raw', '/readyz'])).trim()).toBe('ok');
    const namespaces = await kubectlOk(['get', 'namespaces', '-o', 'name']);
    expect(namespaces.split('\n')).toEqual(
      expect.arrayContaining(['namespace/default', 'namespace/kube-system']),
    );
  });

  test('has Ready fake nodes', async () => {
    const nodes = await kubectlJson<NodeList>(['get', 'nodes']);
    const ready = nodes.items.filter((n) =>
      n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    if (ownCluster()) {
      // The fake nodes, and the real node when this run asked for it (real-node.int.test.ts).
      const expected = [
        ...clusterConfig().nodeNames,
        ...(realNodeRequested() ? [realNodeName] : []),
      ];
      expect(ready.map((n) => n.metadata.name).sort()).toEqual(expected.sort());
    } else {
      expect(ready.length).toBeGreaterThan(0);
    }
  });
});
