import { LABELS, MANAGER } from '../constructs';
import { Kube, KubeObject, toProblem } from './kube';
import { KubeRequestError, type KubeRest } from './kube-rest';
import { Problem } from './problem';
import { type InformerLog, type ObjectList, SharedInformer } from './shared-informer';

const GROUP = 'serving.knative.dev';
const VERSION = 'v1';
const BASE = `/apis/${GROUP}/${VERSION}`;

/** The platform's Knative Services (whichever door applied them): what the informer caches. */
const MANAGED = `${LABELS.managedBy}=${MANAGER}`;

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
    readonly uid?: string;
    readonly generation?: number;
    readonly resourceVersion?: string;
    readonly creationTimestamp?: string;
    readonly labels?: Record<string, string>;
  };
  readonly spec?: {
    readonly template?: {
      readonly spec?: {
        readonly timeoutSeconds?: number;
        readonly containers?: readonly {
          readonly command?: readonly string[];
          /** Read by usage: what the function's pods request. */
          readonly resources?: {
            readonly requests?: Readonly<Record<string, string>>;
            readonly limits?: Readonly<Record<string, string>>;
          };
        }[];
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
  /** The platform's Knative Services of all namespaces, for readiness waits. */
  private readonly services: SharedInformer<KnativeService>;
  /** Checks of the waits in progress, by `namespace/name`. */
  private readonly waiters = new Map<string, Set<() => void>>();

  /** @param log receives the informer's restarts @default - nothing is logged */
  constructor(
    private readonly kube: Kube,
    log?: InformerLog,
  ) {
    this.rest = kube.rest;
    const list = `${BASE}/services?${new URLSearchParams({ labelSelector: MANAGED })}`;
    this.services = new SharedInformer(this.rest, {
      what: 'Knative Service',
      path: `${BASE}/services`,
      labelSelector: MANAGED,
      list: () => this.rest.request<ObjectList<KnativeService>>('GET', list),
      connectTimeoutMs: kube.timeoutMs,
      log,
    });
    const wake = (service: KnativeService) => {
      const key = `${service.metadata.namespace}/${service.metadata.name}`;
      for (const check of [...(this.waiters.get(key) ?? [])]) check();
    };
    this.services.on('add', wake);
    this.services.on('update', wake);
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
   * Resolves once the Service is Ready (or has failed) for its current generation, no older
   * than `applied` (same uid, a generation at least the applied one): a Ready status of the
   * previous generation, still in the cache, does not count. Waits on the one shared informer
   * of Knative Services (started by the first wait), not a watch of its own.
   * @param applied the Service as the apply returned it @default - as it is now (one GET)
   * @throws Problem 504 after `timeoutMs`, with the last condition seen
   */
  public async waitForReadiness(
    namespace: string,
    name: string,
    applied: AppliedVersion | undefined,
    timeoutMs: number,
  ): Promise<KnativeService> {
    const floor = applied ?? (await this.getService(namespace, name));
    void this.services.start().catch(() => undefined);
    const key = `${namespace}/${name}`;
    return new Promise<KnativeService>((resolve, reject) => {
      let settled = false;
      let last: KnativeService | undefined;
      const waiters = this.waiters.get(key) ?? new Set<() => void>();
      this.waiters.set(key, waiters);
      const finish = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        waiters.delete(check);
        if (waiters.size === 0 && this.waiters.get(key) === waiters) this.waiters.delete(key);
        outcome();
      };
      const check = () => {
        const cached = this.services.get(name, namespace);
        if (cached === undefined || !atLeast(cached, floor)) return;
        last = cached;
        if (isReady(cached) || hasFailed(cached)) finish(() => resolve(cached));
      };
      const timer = setTimeout(() => {
        const condition = last && readyCondition(last);
        const failing = this.services.lastError;
        finish(() =>
          reject(
            new Problem(
              504,
              'Function not ready',
              `Knative Service ${namespace}/${name} was not Ready within ${timeoutMs / 1000} s${condition ? ` (Ready ${condition.status}${condition.reason ? `: ${condition.reason}` : ''}${condition.message ? ` — ${condition.message}` : ''})` : failing !== undefined && last === undefined ? ` (no status seen: the watch of Knative Services is failing: ${(failing as Error)?.message ?? String(failing)})` : ' (no status yet: is the Knative controller running?)'}`,
            ),
          ),
        );
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  }

  /** Stops the informer of Knative Services (API shutdown). */
  public async stop(): Promise<void> {
    await this.services.stop();
  }
}

/** What {@link KnativeApi.waitForReadiness} needs of the applied Service. */
export interface AppliedVersion {
  readonly metadata?: { readonly uid?: string; readonly generation?: number };
}

/** Whether a Service is the applied one (same uid) at its applied generation or later. */
function atLeast(service: KnativeService, applied: AppliedVersion | undefined): boolean {
  const uid = applied?.metadata?.uid;
  if (uid !== undefined && service.metadata.uid !== uid) return false;
  return (service.metadata.generation ?? 0) >= (applied?.metadata?.generation ?? 0);
}
