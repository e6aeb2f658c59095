import { kubectlJson, kubectlOk } from './kubectl';
import { realNodeKey, realNodeName } from './real-node-config';

/**
 * Namespace annotations read by the API server's PodNodeSelector and PodTolerationRestriction
 * admission plugins: every pod created in the namespace afterwards lands on the real node.
 * Lets a test put the pods of objects the platform makes (CronJobs, functions) on the real
 * node without changing what the platform makes.
 */
export const realNodeNamespaceAnnotations: Readonly<Record<string, string>> = {
  'scheduler.alpha.kubernetes.io/node-selector': `${realNodeKey}=true`,
  'scheduler.alpha.kubernetes.io/defaultTolerations': JSON.stringify([
    { key: realNodeKey, operator: 'Exists', effect: 'NoSchedule' },
  ]),
};

/** Annotates a namespace so that its new pods run on the real node. */
export async function placeOnRealNode(namespace: string): Promise<void> {
  const pairs = Object.entries(realNodeNamespaceAnnotations).map(([k, v]) => `${k}=${v}`);
  await kubectlOk(['annotate', 'namespace', namespace, '--overwrite', ...pairs]);
}

/**
 * Whether this test run must use the real node: `HKS_CLUSTER_REAL_NODE=1` (as `.ci/run` sets
 * it). Tests that need the node skip without it and fail when it is set but the node is
 * missing or not Ready.
 */
export function realNodeRequested(): boolean {
  return process.env.HKS_CLUSTER_REAL_NODE === '1';
}

/** Throws unless the real node is registered and Ready. */
export async function expectRealNodeReady(): Promise<void> {
  const node = await kubectlJson<{
    status?: { conditions?: { type: string; status: string }[] };
  }>(['get', 'node', realNodeName, '-o', 'json']).catch((error: unknown) => {
    throw new Error(
      `HKS_CLUSTER_REAL_NODE=1 but node ${realNodeName} is not there (${String(error)}); ` +
        'start the cluster with HKS_CLUSTER_REAL_NODE=1 npm run cluster:up',
    );
  });
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') {
    throw new Error(`node ${realNodeName} is not Ready: ${JSON.stringify(ready)}`);
  }
}

/** `describe` when the real node is requested, else `describe.skip` (with the reason logged). */
export function describeOnRealNode(name: string, body: () => void): void {
  if (realNodeRequested()) {
    describe(name, body);
    return;
  }
  describe.skip(`${name} (needs HKS_CLUSTER_REAL_NODE=1 and the real node)`, body);
}
