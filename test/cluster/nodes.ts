import { type ApiClient, apiRequest } from './api';
import { fakeNodeAnnotation } from './control-plane';

interface NodeStatus {
  readonly metadata: { readonly name: string };
  readonly spec?: { readonly taints?: readonly { readonly key: string }[] };
  readonly status?: {
    readonly conditions?: readonly { readonly type: string; readonly status: string }[];
  };
}

function fakeNode(name: string): object {
  const resources = { cpu: '16', memory: '64Gi', pods: '110', 'ephemeral-storage': '100Gi' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [fakeNodeAnnotation]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    status: { allocatable: resources, capacity: resources },
  };
}

/**
 * Creates the fake nodes kwok manages; nodes that already exist are left alone.
 *
 * @param client an admin client
 * @param names node names
 */
export async function createFakeNodes(client: ApiClient, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const res = await apiRequest(client, 'POST', '/api/v1/nodes', fakeNode(name));
    if (res.status !== 201 && res.status !== 409) {
      throw new Error(`creating node ${name} failed: HTTP ${res.status} ${res.body}`);
    }
  }
}

/** Whether a node is Ready and carries no not-ready/unreachable taint any more. */
function isSchedulable(node: NodeStatus): boolean {
  const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const tainted = node.spec?.taints?.some((t) => t.key.startsWith('node.kubernetes.io/'));
  return ready === true && tainted !== true;
}

/**
 * Names of the given nodes that are not yet Ready and untainted.
 *
 * @param client an admin client
 * @param names node names
 */
export async function unreadyNodes(client: ApiClient, names: readonly string[]): Promise<string[]> {
  const res = await apiRequest(client, 'GET', '/api/v1/nodes');
  if (res.status !== 200) {
    return [...names];
  }
  const nodes = (JSON.parse(res.body) as { items: NodeStatus[] }).items;
  return names.filter((name) => {
    const node = nodes.find((n) => n.metadata.name === name);
    return node === undefined || !isSchedulable(node);
  });
}
