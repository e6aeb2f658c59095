import { type ApiClient, apiRequest } from './api';
import { waitFor } from './wait';

/** Name of the CRD kwok watches for per-pod log files (`--enable-crds=Logs`). */
export const kwokLogsCrdName = 'logs.kwok.x-k8s.io';

/**
 * A minimal CustomResourceDefinition for kwok's namespaced `Logs` kind
 * (`kwok.x-k8s.io/v1alpha1`), written for this harness: just the fields kwok v0.7.0 reads.
 * A `Logs` object named like a pod maps that pod's containers to CRI-format log files, which
 * the kubelet API (pod logs, `kubectl logs`) then serves; pods without one fall back to the
 * static ClusterLogs of `kwok.yaml`.
 */
export function kwokLogsCrd(): object {
  const log = {
    type: 'object',
    properties: {
      containers: { type: 'array', items: { type: 'string' } },
      logsFile: { type: 'string' },
      previousLogsFile: { type: 'string' },
      follow: { type: 'boolean' },
    },
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: kwokLogsCrdName },
    spec: {
      group: 'kwok.x-k8s.io',
      names: { kind: 'Logs', listKind: 'LogsList', plural: 'logs', singular: 'logs' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1alpha1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['spec'],
              properties: {
                spec: {
                  type: 'object',
                  required: ['logs'],
                  properties: { logs: { type: 'array', items: log } },
                },
                status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
          },
        },
      ],
    },
  };
}

/**
 * Creates the `Logs` CRD (left alone when it exists) and waits until it is Established,
 * so kwok started with `--enable-crds=Logs` finds it at once.
 *
 * @param client an admin client
 */
export async function installKwokLogsCrd(client: ApiClient): Promise<void> {
  const path = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  const res = await apiRequest(client, 'POST', path, kwokLogsCrd());
  if (res.status !== 201 && res.status !== 409) {
    throw new Error(`creating CRD ${kwokLogsCrdName} failed: HTTP ${res.status} ${res.body}`);
  }
  await waitFor(`CRD ${kwokLogsCrdName} Established`, 30_000, async () => {
    const got = await apiRequest(client, 'GET', `${path}/${kwokLogsCrdName}`);
    if (got.status !== 200) return false;
    const crd = JSON.parse(got.body) as {
      status?: { conditions?: { type: string; status: string }[] };
    };
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')
      ? true
      : false;
  });
}
