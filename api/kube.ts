import type {
  KubeConfig,
  KubernetesObject,
  V1CronJob,
  V1Job,
  V1Pod,
} from '@kubernetes/client-node';
import type { Writable } from 'node:stream';
import type { JsonPatchOperation } from './job-finalizer';
import { TailBuffer, type UnmarkedTail } from './log-tail';
import {
  ClientGoneError,
  DEFAULT_KUBE_TIMEOUT_MS,
  KubeRequestError,
  KubeRest,
  KubeTimeoutError,
} from './kube-rest';
import { Problem } from './problem';
import { type ObjectList, SharedInformer, type SharedInformerOptions } from './shared-informer';

/** The field manager of every server-side apply the API makes. */
export const FIELD_MANAGER = 'hks-api';

/** Kinds the constructs produce per application (what pruning looks for). */
export const APPLICATION_KINDS: readonly { apiVersion: string; kind: string }[] = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'batch/v1', kind: 'CronJob' },
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'serving.knative.dev/v1', kind: 'Service' },
];

/** Which part of a container log to read. */
export interface LogLimits {
  /** Only lines newer than this many seconds. @default - all */
  readonly sinceSeconds?: number;
  /** Only the last lines. @default - all */
  readonly tailLines?: number;
  /** At most this many bytes. @default - no limit */
  readonly limitBytes?: number;
}

/** A Kubernetes object with the fields the API relies on. */
export type KubeObject = KubernetesObject & { metadata: { name: string; namespace?: string } };

/**
 * The API's Kubernetes access: server-side apply, pruning, Jobs, pods and logs. Every
 * Kubernetes error becomes a {@link Problem} carrying the server's own message. Every call
 * goes through one {@link KubeRest} (one keep-alive pool), shared with the API's other
 * Kubernetes callers (Knative, revision sources, leader election).
 */
export class Kube {
  /** The client of every call; other modules of the API use it too. */
  public readonly rest: KubeRest;

  /**
   * @param timeoutMs deadline of every call (`HKS_KUBE_TIMEOUT_SECONDS`); watches (a
   *   connection deadline, see {@link SharedInformer}) and log follows have their own idle
   *   handling @default DEFAULT_KUBE_TIMEOUT_MS
   */
  constructor(
    public readonly config: KubeConfig,
    public readonly timeoutMs: number = DEFAULT_KUBE_TIMEOUT_MS,
  ) {
    this.rest = new KubeRest(config, timeoutMs);
  }

  /**
   * Server-side apply of one object (or a server dry run of it), over pooled connections.
   * @param fieldManager who owns the fields set. @default "hks-api"
   */
  public async apply(
    object: KubeObject,
    dryRun = false,
    fieldManager = FIELD_MANAGER,
  ): Promise<KubeObject> {
    const query = new URLSearchParams({ fieldManager, force: 'true' });
    if (dryRun) query.set('dryRun', 'All');
    return call(`apply ${describe(object)}`, () =>
      this.rest.request<KubeObject>(
        'PATCH',
        `${objectPath(object)}?${query}`,
        object,
        'application/apply-patch+yaml',
      ),
    );
  }

  /** Objects of the application kinds (or of `kinds`) in a namespace matching a label selector. */
  public async listManaged(
    namespace: string,
    labelSelector: string,
    kinds: readonly { apiVersion: string; kind: string }[] = APPLICATION_KINDS,
  ): Promise<KubeObject[]> {
    const query = new URLSearchParams({ labelSelector });
    const lists = await Promise.all(
      kinds.map(({ apiVersion, kind }) =>
        this.rest
          .request<{ items: KubeObject[] }>(
            'GET',
            `${collectionPath(apiVersion, kind, namespace)}?${query}`,
          )
          .then((list) => list.items.map((item) => ({ ...item, apiVersion, kind })))
          .catch((error: unknown) => {
            // Knative may not be installed: a kind the server does not know has no objects.
            if (error instanceof KubeRequestError && error.code === 404) return [];
            throw toProblem(`list ${kind}`, error);
          }),
      ),
    );
    return lists.flat();
  }

  /**
   * Creates a Secret (an agent session's): a POST, not an apply, as the API may create Secrets
   * but not read, patch, list or delete them; one owned by another object goes with it.
   */
  public async createSecret(secret: KubeObject): Promise<void> {
    const namespace = secret.metadata.namespace ?? '';
    try {
      await this.rest.request('POST', `/api/v1/namespaces/${namespace}/secrets`, secret);
    } catch (error) {
      throw toProblem(`create Secret ${namespace}/${secret.metadata.name}`, error);
    }
  }

  /** Deletes an object; its Jobs and pods are removed by the garbage collector. */
  public async delete(object: KubeObject): Promise<void> {
    try {
      await this.rest.request('DELETE', `${objectPath(object)}?propagationPolicy=Background`);
    } catch (error) {
      if (error instanceof KubeRequestError && error.code === 404) return;
      throw toProblem(`delete ${describe(object)}`, error);
    }
  }

  public async getCronJob(namespace: string, name: string): Promise<V1CronJob | undefined> {
    try {
      return await this.rest.request<V1CronJob>(
        'GET',
        `/apis/batch/v1/namespaces/${namespace}/cronjobs/${encodeURIComponent(name)}`,
      );
    } catch (error) {
      if (error instanceof KubeRequestError && error.code === 404) return undefined;
      throw toProblem(`read CronJob ${namespace}/${name}`, error);
    }
  }

  public async createJob(namespace: string, job: V1Job): Promise<V1Job> {
    return call(`create Job in ${namespace}`, () =>
      this.rest.request<V1Job>('POST', `/apis/batch/v1/namespaces/${namespace}/jobs`, job),
    );
  }

  /** A Job, or undefined when there is none of that name. */
  public async getJob(namespace: string, name: string): Promise<V1Job | undefined> {
    try {
      return await this.rest.request<V1Job>(
        'GET',
        `/apis/batch/v1/namespaces/${namespace}/jobs/${encodeURIComponent(name)}`,
      );
    } catch (error) {
      if (error instanceof KubeRequestError && error.code === 404) return undefined;
      throw toProblem(`read Job ${namespace}/${name}`, error);
    }
  }

  /**
   * Applies a JSON patch to a Job; undefined when the Job is gone.
   * @throws Problem 422 when a `test` operation fails (the Job changed meanwhile)
   */
  public async patchJob(
    namespace: string,
    name: string,
    operations: readonly JsonPatchOperation[],
  ): Promise<V1Job | undefined> {
    try {
      return await this.rest.request<V1Job>(
        'PATCH',
        `/apis/batch/v1/namespaces/${namespace}/jobs/${encodeURIComponent(name)}`,
        operations,
        'application/json-patch+json',
      );
    } catch (error) {
      if (error instanceof KubeRequestError && error.code === 404) return undefined;
      throw toProblem(`patch Job ${namespace}/${name}`, error);
    }
  }

  /**
   * An informer over the Jobs of all namespaces that match a label selector (see
   * {@link SharedInformer}: watches resumed from the last resourceVersion, reconnected with
   * backoff). Not started.
   */
  public jobInformer(
    labelSelector: string,
    options: Pick<
      SharedInformerOptions<V1Job>,
      'log' | 'restarted' | 'retryDelayMs' | 'maxRetryDelayMs'
    > = {},
  ): SharedInformer<V1Job> {
    const query = new URLSearchParams({ labelSelector });
    return new SharedInformer<V1Job>(this.rest, {
      ...options,
      what: 'job',
      path: '/apis/batch/v1/jobs',
      labelSelector,
      list: () => this.rest.request<ObjectList<V1Job>>('GET', `/apis/batch/v1/jobs?${query}`),
      connectTimeoutMs: this.timeoutMs,
    });
  }

  /**
   * An informer over the pods of one namespace that match a label selector (a warm pool's), as
   * {@link jobInformer}. Not started.
   */
  public podInformer(
    namespace: string,
    labelSelector: string,
    options: Pick<SharedInformerOptions<RawPod>, 'log'> = {},
  ): SharedInformer<RawPod> {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;
    const query = new URLSearchParams({ labelSelector });
    return new SharedInformer<RawPod>(this.rest, {
      ...options,
      what: 'pod',
      path,
      labelSelector,
      list: () => this.rest.request<ObjectList<RawPod>>('GET', `${path}?${query}`),
      connectTimeoutMs: this.timeoutMs,
    });
  }

  /**
   * The end of one container's log (a run before the last restart with `previous`), read as
   * a stream of which only the last `limitBytes` are kept, with no truncation marker: the
   * caller joins the runs' logs and marks the whole (`keepEnd` with the dropped bytes).
   * @param timeoutMs the whole read's time limit. @default 60000
   */
  public async containerLogTail(
    namespace: string,
    pod: string,
    container: string,
    options: { limitBytes: number; previous?: boolean; timeoutMs?: number },
  ): Promise<UnmarkedTail> {
    const sink = new TailBuffer(options.limitBytes);
    const finished = new Promise<void>((resolve) => sink.once('finish', resolve));
    const what = `read log of pod ${namespace}/${pod}`;
    const query = new URLSearchParams({ container, previous: String(options.previous ?? false) });
    const log = await call(what, () =>
      this.rest.stream(`/api/v1/namespaces/${namespace}/pods/${pod}/log?${query}`),
    );
    log.pipe(sink);
    const limitMs = options.timeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      log.once('error', (error) => reject(toProblem(what, error)));
      timer = setTimeout(() => {
        log.destroy();
        reject(toProblem(what, new Error(`no end of the log within ${limitMs} ms`)));
      }, limitMs);
    });
    try {
      await Promise.race([finished, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return sink.unmarkedTail();
  }

  public async listJobs(
    namespace: string | undefined,
    labelSelector: string,
  ): Promise<{ items: V1Job[]; resourceVersion?: string }> {
    const scope = namespace ? `/namespaces/${namespace}` : '';
    const list = await call('list Jobs', () =>
      this.rest.request<ObjectList<V1Job>>(
        'GET',
        `/apis/batch/v1${scope}/jobs?${new URLSearchParams({ labelSelector })}`,
      ),
    );
    return { items: list.items, resourceVersion: list.metadata?.resourceVersion };
  }

  public async listPods(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    const list = await call('list Pods', () =>
      this.rest.request<{ items: RawPod[] }>(
        'GET',
        `/api/v1/namespaces/${namespace}/pods?${new URLSearchParams({ labelSelector })}`,
      ),
    );
    // client-node's V1Pod model has Dates where the wire format has strings.
    return list.items.map((pod) => ({
      ...pod,
      metadata: {
        ...pod.metadata,
        creationTimestamp: pod.metadata?.creationTimestamp
          ? new Date(pod.metadata.creationTimestamp)
          : undefined,
      },
    })) as V1Pod[];
  }

  /** One pod, as the server has it; undefined when it is gone. */
  public async getPod(namespace: string, name: string): Promise<RawPod | undefined> {
    try {
      return await this.rest.request<RawPod>('GET', podPath(namespace, name));
    } catch (error) {
      if (error instanceof KubeRequestError && error.code === 404) return undefined;
      throw toProblem(`get Pod ${namespace}/${name}`, error);
    }
  }

  /**
   * Applies a JSON patch to a pod (a warm pool's claim: a `test` of a label, then its change);
   * undefined when the pod is gone.
   * @throws Problem 422 when a `test` operation fails (the pod changed meanwhile)
   */
  public async patchPod(
    namespace: string,
    name: string,
    operations: readonly JsonPatchOperation[],
  ): Promise<RawPod | undefined> {
    try {
      return await this.rest.request<RawPod>(
        'PATCH',
        podPath(namespace, name),
        operations,
        'application/json-patch+json',
      );
    } catch (error) {
      if (error instanceof KubeRequestError && error.code === 404) return undefined;
      throw toProblem(`patch Pod ${namespace}/${name}`, error);
    }
  }

  /**
   * Deletes a pod; gone already is fine.
   * @param graceSeconds the grace period of its containers (0: stopped at once)
   */
  public async deletePod(namespace: string, name: string, graceSeconds: number): Promise<void> {
    try {
      await this.rest.request(
        'DELETE',
        `${podPath(namespace, name)}?gracePeriodSeconds=${graceSeconds}`,
      );
    } catch (error) {
      if (error instanceof KubeRequestError && error.code === 404) return;
      throw toProblem(`delete Pod ${namespace}/${name}`, error);
    }
  }

  /** The log of a pod's first container, at most `limitBytes`. */
  public async podLog(namespace: string, name: string, limitBytes: number): Promise<string> {
    const query = new URLSearchParams({ limitBytes: String(limitBytes) });
    return call(`read log of pod ${namespace}/${name}`, () =>
      this.rest.text('GET', `/api/v1/namespaces/${namespace}/pods/${name}/log?${query}`),
    );
  }

  /** The log of one container of a pod, limited by time, lines and bytes. */
  public async containerLog(
    namespace: string,
    pod: string,
    container: string,
    limits: LogLimits,
  ): Promise<string> {
    const query = new URLSearchParams({ container });
    for (const [key, value] of Object.entries(limits))
      if (value !== undefined) query.set(key, String(value));
    return call(`read log of pod ${namespace}/${pod}`, () =>
      this.rest.text('GET', `/api/v1/namespaces/${namespace}/pods/${pod}/log?${query}`),
    );
  }

  /**
   * Streams a pod's log into `stream` (which is ended with the log) until the container ends
   * or `signal` aborts.
   */
  public async followLog(
    namespace: string,
    pod: string,
    container: string,
    stream: Writable,
    limits: Omit<LogLimits, 'limitBytes'> = {},
    signal?: AbortSignal,
  ): Promise<void> {
    // The response is piped into the stream; its end is the end of the log.
    const ended = new Promise<void>((resolve) => {
      stream.once('finish', resolve);
      stream.once('close', resolve);
    });
    const query = new URLSearchParams({ container, follow: 'true' });
    for (const [key, value] of Object.entries(limits))
      if (value !== undefined) query.set(key, String(value));
    // Connecting has the call deadline (and ends with the client); the log then streams as
    // long as the client stays.
    const log = await call(`follow log of pod ${namespace}/${pod}`, () =>
      this.rest.stream(`/api/v1/namespaces/${namespace}/pods/${pod}/log?${query}`, { signal }),
    );
    log.pipe(stream);
    // A broken connection ends the log where it broke.
    log.once('error', () => stream.end());
    const abort = () => {
      log.destroy();
      stream.end();
    };
    if (signal?.aborted) abort();
    signal?.addEventListener('abort', abort, { once: true });
    await ended;
    signal?.removeEventListener('abort', abort);
  }

  /** The Kubernetes user name this process acts as (a SelfSubjectReview). */
  public async username(): Promise<string> {
    const review = await call('ask the API server who this process is', () =>
      this.rest.request<{ status?: { userInfo?: { username?: string } } }>(
        'POST',
        '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      ),
    );
    return review.status?.userInfo?.username ?? '';
  }

  /** Whether this process may `verb` the `resource` of `group` in `namespace` (an access review). */
  public async allowed(
    namespace: string,
    verb: string,
    resource: string,
    group = '',
  ): Promise<boolean> {
    const review = await call(`check access to ${resource} in ${namespace}`, () =>
      this.rest.request<{ status?: { allowed?: boolean } }>(
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { namespace, verb, resource, group } },
        },
      ),
    );
    return review.status?.allowed === true;
  }

  /** Names of the namespaces with the given labels. */
  public async listNamespaces(labelSelector: string): Promise<string[]> {
    const list = await call('list namespaces', () =>
      this.rest.request<{ items: { metadata?: { name?: string } }[] }>(
        'GET',
        `/api/v1/namespaces?${new URLSearchParams({ labelSelector })}`,
      ),
    );
    return list.items.flatMap((n) => (n.metadata?.name ? [n.metadata.name] : []));
  }

  /** Whether the API server answers within `timeoutMs`. @default - the call deadline */
  public async ping(timeoutMs = this.timeoutMs): Promise<void> {
    await call('reach the API server', () =>
      this.rest.request('GET', '/api/v1/namespaces?limit=1', undefined, 'application/json', {
        timeoutMs,
      }),
    );
  }
}

/** Resource names of the kinds the constructs produce (and the API applies or deletes). */
const RESOURCES: Readonly<Record<string, string>> = {
  ConfigMap: 'configmaps',
  CronJob: 'cronjobs',
  Deployment: 'deployments',
  Job: 'jobs',
  LimitRange: 'limitranges',
  Namespace: 'namespaces',
  NetworkPolicy: 'networkpolicies',
  ResourceQuota: 'resourcequotas',
  RoleBinding: 'rolebindings',
  Service: 'services',
  ServiceAccount: 'serviceaccounts',
};

/** A pod as it comes over the wire (timestamps as strings). */
export type RawPod = Omit<V1Pod, 'metadata'> & {
  metadata?: Omit<NonNullable<V1Pod['metadata']>, 'creationTimestamp'> & {
    creationTimestamp?: string;
  };
};

/** The REST path of an object, e.g. `/apis/apps/v1/namespaces/shop/deployments/api`. */
function objectPath(object: KubeObject): string {
  const collection = collectionPath(
    object.apiVersion ?? 'v1',
    object.kind ?? '',
    object.metadata.namespace,
  );
  return `${collection}/${encodeURIComponent(object.metadata.name)}`;
}

/** The REST path of a kind's objects in a namespace, e.g. `/api/v1/namespaces/shop/services`. */
function collectionPath(apiVersion: string, kind: string, namespace: string | undefined): string {
  const resource = RESOURCES[kind];
  if (!resource) throw new Error(`no resource name known for kind ${kind}`);
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${base}${namespace ? `/namespaces/${namespace}` : ''}/${resource}`;
}

function describe(object: KubeObject): string {
  return `${object.kind} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`;
}

/** Runs one Kubernetes call; every error becomes a Problem. */
async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toProblem(what, error);
  }
}

/** A Kubernetes rejection keeps the server's message; an unreachable server is a 502. */
export function toProblem(what: string, error: unknown): Problem {
  if (error instanceof Problem) return error;
  if (error instanceof KubeTimeoutError)
    return new Problem(
      503,
      'Kubernetes unavailable',
      `Could not ${what}: the API server did not answer within ${error.timeoutMs / 1000} s (HKS_KUBE_TIMEOUT_SECONDS)`,
      [],
      { 'retry-after': '5' },
    );
  if (error instanceof ClientGoneError)
    return new Problem(499, 'Client gone', `Could not ${what}: the client has gone`);
  if (error instanceof KubeRequestError) {
    const message = error.serverMessage;
    const status =
      error.code >= 400 && error.code < 500
        ? error.code === 404
          ? 404
          : error.code === 409
            ? 409
            : 422
        : 502;
    return new Problem(status, 'Kubernetes rejected the request', `Could not ${what}: ${message}`);
  }
  return new Problem(
    502,
    'Kubernetes unavailable',
    `Could not ${what}: ${(error as Error)?.message ?? String(error)}`,
  );
}

function podPath(namespace: string, name: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
}
