import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { KubeRequestError, KubeRest } from '../../api/kube-rest';
import type { KwokLogs } from './pod-manifest';
import { SERVICE_LABEL } from './revision-manifest';
import type { KnativeRevision, ServiceStatus } from './types';

const SERVING = '/apis/serving.knative.dev/v1';
const KWOK = '/apis/kwok.x-k8s.io/v1alpha1';

/** Path of Knative Services in all namespaces. */
export const SERVICES_PATH = `${SERVING}/services`;
/** Path of ConfigMaps in all namespaces. */
export const CONFIG_MAPS_PATH = '/api/v1/configmaps';

/** Whether an error is the API server's answer with this HTTP status. */
export function isStatus(error: unknown, code: number): boolean {
  return error instanceof KubeRequestError && error.code === code;
}

const enc = encodeURIComponent;

function decode(data: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}

/** JSON patch replacing an object's whole status (through the status subresource). */
function statusPatch(status: object): object[] {
  return [{ op: 'add', path: '/status', value: status }];
}

async function orUndefined<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}

/** The Kubernetes calls the stand-in makes, typed to the objects it handles. */
export class KubeAccess {
  /** The client of every call (and of the stand-in's informers). */
  public readonly rest: KubeRest;

  constructor(config: KubeConfig) {
    this.rest = new KubeRest(config);
  }

  /** The objects of a collection, and the list's resource version to watch from. */
  public async list<T>(
    path: string,
    labelSelector?: string,
  ): Promise<{ items: T[]; resourceVersion: string }> {
    const query = labelSelector === undefined ? '' : `?labelSelector=${enc(labelSelector)}`;
    const list = await this.rest.request<{
      items: T[];
      metadata?: { resourceVersion?: string };
    }>('GET', `${path}${query}`);
    return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  /** Every Revision, for the Services of all namespaces. */
  public async listAllRevisions(): Promise<KnativeRevision[]> {
    return (await this.rest.request<{ items: KnativeRevision[] }>('GET', `${SERVING}/revisions`))
      .items;
  }

  /** The Revisions of a Service (by Knative's service label). */
  public async listRevisions(namespace: string, service: string): Promise<KnativeRevision[]> {
    const selector = enc(`${SERVICE_LABEL}=${service}`);
    const path = `${SERVING}/namespaces/${enc(namespace)}/revisions?labelSelector=${selector}`;
    return (await this.rest.request<{ items: KnativeRevision[] }>('GET', path)).items;
  }

  /** Creates a Revision; resolves with it as stored (with its uid). */
  public createRevision(revision: KnativeRevision): Promise<KnativeRevision> {
    const path = `${SERVING}/namespaces/${enc(revision.metadata.namespace)}/revisions`;
    return this.rest.request('POST', path, revision);
  }

  /** Deletes a Revision; a missing one is fine. */
  public async deleteRevision(namespace: string, name: string): Promise<void> {
    await orUndefined(
      this.rest.request('DELETE', `${SERVING}/namespaces/${enc(namespace)}/revisions/${enc(name)}`),
    );
  }

  /** Replaces a Revision's status (status subresource). */
  public async writeRevisionStatus(
    revision: KnativeRevision,
    status: NonNullable<KnativeRevision['status']>,
  ): Promise<void> {
    const { namespace, name } = revision.metadata;
    const path = `${SERVING}/namespaces/${enc(namespace)}/revisions/${enc(name)}/status`;
    await this.rest.request('PATCH', path, statusPatch(status), 'application/json-patch+json');
  }

  /** Replaces a Knative Service's status (status subresource). */
  public async writeServiceStatus(
    namespace: string,
    name: string,
    status: ServiceStatus,
  ): Promise<void> {
    const path = `${SERVING}/namespaces/${enc(namespace)}/services/${enc(name)}/status`;
    await this.rest.request('PATCH', path, statusPatch(status), 'application/json-patch+json');
  }

  /** A ConfigMap's data, undefined when it does not exist. */
  public async configMap(
    namespace: string,
    name: string,
  ): Promise<Record<string, string> | undefined> {
    const path = `/api/v1/namespaces/${enc(namespace)}/configmaps/${enc(name)}`;
    const map = await orUndefined(
      this.rest.request<{ data?: Record<string, string> }>('GET', path),
    );
    return map === undefined ? undefined : { ...map.data };
  }

  /** A Secret's data, decoded; undefined when it does not exist. */
  public async secret(
    namespace: string,
    name: string,
  ): Promise<Record<string, string> | undefined> {
    const path = `/api/v1/namespaces/${enc(namespace)}/secrets/${enc(name)}`;
    const secret = await orUndefined(
      this.rest.request<{ data?: Record<string, string> }>('GET', path),
    );
    return secret === undefined ? undefined : decode(secret.data);
  }

  /** Creates a pod; resolves with it as stored (with its uid). */
  public createPod(pod: V1Pod): Promise<V1Pod> {
    const path = `/api/v1/namespaces/${enc(pod.metadata?.namespace ?? '')}/pods`;
    return this.rest.request('POST', path, pod);
  }

  /** Names of the pods matching a label selector. */
  public async podNames(namespace: string, labelSelector: string): Promise<string[]> {
    const path = `/api/v1/namespaces/${enc(namespace)}/pods?labelSelector=${enc(labelSelector)}`;
    const list = await this.rest.request<{ items: V1Pod[] }>('GET', path);
    return list.items.map((pod) => pod.metadata?.name ?? '').filter((name) => name !== '');
  }

  /** Adds annotations to a pod (merge patch); a missing pod is fine. */
  public async annotatePod(
    namespace: string,
    name: string,
    annotations: Readonly<Record<string, string>>,
  ): Promise<void> {
    const path = `/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}`;
    await orUndefined(
      this.rest.request(
        'PATCH',
        path,
        { metadata: { annotations } },
        'application/merge-patch+json',
      ),
    );
  }

  /**
   * Deletes a pod, at once unless given a grace period (a pod on a real node then goes once its
   * kubelet has stopped its containers); a missing pod is fine.
   */
  public async deletePod(namespace: string, name: string, gracePeriodSeconds = 0): Promise<void> {
    const path = `/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}?gracePeriodSeconds=${gracePeriodSeconds}`;
    await orUndefined(this.rest.request('DELETE', path));
  }

  /** The last lines of a container's log (from its kubelet); empty when there is none. */
  public async podLogTail(
    namespace: string,
    pod: string,
    container: string,
    tailLines: number,
  ): Promise<string> {
    const query = new URLSearchParams({ container, tailLines: String(tailLines) });
    const path = `/api/v1/namespaces/${enc(namespace)}/pods/${enc(pod)}/log?${query}`;
    return (await orUndefined(this.rest.text('GET', path))) ?? '';
  }

  /**
   * The Warning events about a pod (e.g. a volume it cannot mount) as `<reason>: <message>`,
   * the latest of each reason, latest first.
   */
  public async podWarnings(namespace: string, pod: string): Promise<string[]> {
    const fieldSelector = `involvedObject.kind=Pod,involvedObject.name=${pod},type=Warning`;
    const path = `/api/v1/namespaces/${enc(namespace)}/events?fieldSelector=${enc(fieldSelector)}`;
    const list = await this.rest.request<{
      items: { reason?: string; message?: string; lastTimestamp?: string; eventTime?: string }[];
    }>('GET', path);
    const at = (e: (typeof list.items)[number]) => e.lastTimestamp ?? e.eventTime ?? '';
    const latest = new Map<string, string>();
    for (const event of list.items.sort((a, b) => at(b).localeCompare(at(a)))) {
      const reason = event.reason ?? 'Warning';
      if (!latest.has(reason)) latest.set(reason, `${reason}: ${event.message ?? ''}`);
    }
    return [...latest.values()];
  }

  /** Creates a kwok Logs object. */
  public async createLogs(logs: KwokLogs): Promise<void> {
    const path = `${KWOK}/namespaces/${enc(logs.metadata.namespace)}/logs`;
    await this.rest.request('POST', path, logs);
  }

  /** Deletes a kwok Logs object; a missing one is fine. */
  public async deleteLogs(namespace: string, name: string): Promise<void> {
    await orUndefined(
      this.rest.request('DELETE', `${KWOK}/namespaces/${enc(namespace)}/logs/${enc(name)}`),
    );
  }

  /** Whether the cluster serves kwok's Logs kind (kwok with `--enable-crds=Logs`). */
  public async hasKwokLogs(): Promise<boolean> {
    return (await orUndefined(this.rest.request('GET', `${KWOK}/logs?limit=1`))) !== undefined;
  }

  /**
   * Opens a few pooled connections ahead of time, so that the first reaction's concurrent
   * calls (Revision, status, pod) need no TLS handshake.
   */
  public async warmUp(connections = 4): Promise<void> {
    await Promise.all(
      Array.from({ length: connections }, () => this.rest.request('GET', '/version')),
    );
  }

  /** How many requests so far needed a new connection. */
  public get newConnections(): number {
    return this.rest.newConnections;
  }

  /** Closes pooled connections. */
  public close(): void {
    this.rest.close();
  }
}
