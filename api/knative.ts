import { KubeConfig, Watch } from '@kubernetes/client-node';
import { Kube, KubeObject, toProblem } from './kube';
import { KubeRequestError, KubeRest } from './kube-rest';
import { Problem } from './problem';

const GROUP = 'serving.knative.dev';
const VERSION = 'v1';
const BASE = `/apis/${GROUP}/${VERSION}`;

/** The field manager of traffic splits, apart from `hks-api` so re-applying a definition keeps them. */
export const TRAFFIC_FIELD_MANAGER = 'hks-api-traffic';

/** Label Knative puts on revisions and pods: the Service they belong to. */
export const SERVICE_LABEL = 'serving.knative.dev/service';

/** A Knative condition. */
export interface KnativeCondition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
}

/** One traffic target, in spec or status. */
export interface KnativeTrafficTarget {
  readonly revisionName?: string;
  readonly latestRevision?: boolean;
  readonly tag?: string;
  readonly percent?: number;
  readonly url?: string;
}

/** The fields of a Knative Service the API reads. */
export interface KnativeService {
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly generation?: number;
    readonly resourceVersion?: string;
    readonly creationTimestamp?: string;
    readonly labels?: Record<string, string>;
  };
  readonly spec?: {
    readonly template?: {
      readonly spec?: {
        readonly timeoutSeconds?: number;
        readonly containers?: readonly { readonly command?: readonly string[] }[];
      };
    };
    readonly traffic?: readonly KnativeTrafficTarget[];
  };
  readonly status?: {
    readonly observedGeneration?: number;
    readonly url?: string;
    readonly address?: { readonly url?: string };
    readonly latestCreatedRevisionName?: string;
    readonly latestReadyRevisionName?: string;
    readonly traffic?: readonly KnativeTrafficTarget[];
    readonly conditions?: readonly KnativeCondition[];
  };
}

/** The fields of a Knative Revision the API reads. */
export interface KnativeRevision {
  readonly metadata: {
    readonly name: string;
    readonly creationTimestamp?: string;
    readonly labels?: Record<string, string>;
  };
  readonly status?: { readonly conditions?: readonly KnativeCondition[] };
}

/** The Ready condition of a Service or Revision. */
export function readyCondition(object: {
  status?: { conditions?: readonly KnativeCondition[] };
}): KnativeCondition | undefined {
  return object.status?.conditions?.find((c) => c.type === 'Ready');
}

/** Ready for the current generation: the controller has seen the latest spec and serves it. */
export function isReady(service: KnativeService): boolean {
  return (
    readyCondition(service)?.status === 'True' &&
    service.status?.observedGeneration === service.metadata.generation
  );
}

/** Failed for the current generation (Ready False), with the controller's reason. */
export function hasFailed(service: KnativeService): boolean {
  return (
    readyCondition(service)?.status === 'False' &&
    service.status?.observedGeneration === service.metadata.generation
  );
}

/** Knative Services and Revisions: read, wait for readiness, split traffic. */
export class KnativeApi {
  private readonly rest: KubeRest;

  constructor(
    private readonly config: KubeConfig,
    private readonly kube: Kube,
  ) {
    this.rest = new KubeRest(config, kube.timeoutMs);
  }

  /** A Service, or undefined when there is none (or Knative is not installed). */
  public async getService(namespace: string, name: string): Promise<KnativeService | undefined> {
    try {
      return await this.rest.request<KnativeService>(
        'GET',
        `${BASE}/namespaces/${namespace}/services/${encodeURIComponent(name)}`,
      );
    } catch (error) {
      if (error instanceof KubeRequestError && error.code === 404) return undefined;
      throw toProblem(`read Knative Service ${namespace}/${name}`, error);
    }
  }

  /** Services matching a label selector, in one namespace or (undefined) all of them. */
  public async listServices(
    namespace: string | undefined,
    labelSelector: string,
  ): Promise<KnativeService[]> {
    const scope = namespace ? `/namespaces/${namespace}` : '';
    try {
      const list = await this.rest.request<{ items: KnativeService[] }>(
        'GET',
        `${BASE}${scope}/services?${new URLSearchParams({ labelSelector })}`,
      );
      return list.items;
    } catch (error) {
      if (error instanceof KubeRequestError && error.code === 404) return [];
      throw toProblem('list Knative Services', error);
    }
  }

  /** The revisions of a Service, oldest first. */
  public async listRevisions(namespace: string, service: string): Promise<KnativeRevision[]> {
    try {
      const list = await this.rest.request<{ items: KnativeRevision[] }>(
        'GET',
        `${BASE}/namespaces/${namespace}/revisions?${new URLSearchParams({ labelSelector: `${SERVICE_LABEL}=${service}` })}`,
      );
      return list.items.sort((a, b) =>
        a.metadata.name.localeCompare(b.metadata.name, 'en', { numeric: true }),
      );
    } catch (error) {
      if (error instanceof KubeRequestError && error.code === 404) return [];
      throw toProblem(`list revisions of ${namespace}/${service}`, error);
    }
  }

  /** Sets `spec.traffic` with its own field manager (server-side apply). */
  public async applyTraffic(
    namespace: string,
    name: string,
    traffic: readonly KnativeTrafficTarget[],
  ): Promise<KnativeService> {
    const applied = await this.kube.apply(
      {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Service',
        metadata: { name, namespace },
        spec: { traffic },
      } as KubeObject,
      false,
      TRAFFIC_FIELD_MANAGER,
    );
    return applied as unknown as KnativeService;
  }

  /**
   * Resolves once the Service is Ready (or has failed) for its current generation, watching
   * from `resourceVersion` so no update is missed.
   * @throws Problem 504 after `timeoutMs`, with the last condition seen
   */
  public async waitForReadiness(
    namespace: string,
    name: string,
    resourceVersion: string | undefined,
    timeoutMs: number,
  ): Promise<KnativeService> {
    let last = await this.getService(namespace, name);
    if (last && (isReady(last) || hasFailed(last))) return last;
    return new Promise<KnativeService>((resolve, reject) => {
      let settled = false;
      let abort: AbortController | undefined;
      const finish = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        abort?.abort();
        outcome();
      };
      const timer = setTimeout(() => {
        const condition = last && readyCondition(last);
        finish(() =>
          reject(
            new Problem(
              504,
              'Function not ready',
              `Knative Service ${namespace}/${name} was not Ready within ${timeoutMs / 1000} s${condition ? ` (Ready ${condition.status}${condition.reason ? `: ${condition.reason}` : ''}${condition.message ? ` — ${condition.message}` : ''})` : ' (no status yet: is the Knative controller running?)'}`,
            ),
          ),
        );
      }, timeoutMs);
      const watchFrom = (version: string | undefined) => {
        new Watch(this.config)
          .watch(
            `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/services`,
            {
              fieldSelector: `metadata.name=${name}`,
              ...(version ? { resourceVersion: version } : {}),
            },
            (type: string, object: KnativeService) => {
              if (type !== 'ADDED' && type !== 'MODIFIED') return;
              last = object;
              if (isReady(object) || hasFailed(object)) finish(() => resolve(object));
            },
            () => {
              // The watch ended early (timeout or 410): go on from the latest state.
              if (!settled) {
                this.getService(namespace, name).then(
                  (current) => {
                    if (current) last = current;
                    if (current && (isReady(current) || hasFailed(current)))
                      finish(() => resolve(current));
                    else if (!settled) watchFrom(current?.metadata.resourceVersion);
                  },
                  (error: unknown) => finish(() => reject(error)),
                );
              }
            },
          )
          .then(
            (controller) => {
              abort = controller;
              if (settled) controller.abort();
            },
            (error: unknown) =>
              finish(() => reject(toProblem(`watch ${namespace}/${name}`, error))),
          );
      };
      watchFrom(resourceVersion ?? last?.metadata.resourceVersion);
    });
  }
}
