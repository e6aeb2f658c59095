import { LABELS, MANAGER } from '../constructs';
import { Kube, KubeObject } from './kube';
import { KubeRequestError, KubeRest } from './kube-rest';

/** Revisions (and ConfigMaps) of the platform's Functions. */
export const FUNCTION_SELECTOR = `${LABELS.managedBy}=${MANAGER},${LABELS.kind}=Function`;

/** The field manager of the owner references this module adds. */
export const REVISION_SOURCES_FIELD_MANAGER = 'hks-api-revision-sources';

const REVISIONS_PATH = '/apis/serving.knative.dev/v1/revisions';

/** An owner reference, as Kubernetes stores it. */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

/** The fields of a Knative Revision this module reads. */
export interface SourceRevision {
  readonly apiVersion?: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly uid?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly spec?: {
    readonly volumes?: readonly {
      readonly configMap?: { readonly name?: string };
      readonly projected?: {
        readonly sources?: readonly { readonly configMap?: { readonly name?: string } }[];
      };
    }[];
  };
}

/** The fields of a ConfigMap this module reads. */
interface SourceConfigMap {
  readonly metadata: {
    readonly name: string;
    readonly resourceVersion?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly ownerReferences?: readonly OwnerReference[];
  };
}

/** Names of the ConfigMaps a revision mounts (plain and projected volumes). */
export function configMapsOf(revision: SourceRevision): string[] {
  const names = (revision.spec?.volumes ?? []).flatMap((v) => [
    v.configMap?.name,
    ...(v.projected?.sources ?? []).map((s) => s.configMap?.name),
  ]);
  return [...new Set(names.filter((n): n is string => n !== undefined && n !== ''))];
}

/**
 * The owner reference of a ConfigMap to a Revision that mounts it: neither `controller` (the
 * ConfigMap stays the definition's) nor `blockOwnerDeletion` (which would need rights on the
 * Revision's finalizers, and Knative's deletion of a revision must not wait for it).
 */
export function ownerReferenceTo(revision: SourceRevision): OwnerReference | undefined {
  const uid = revision.metadata.uid;
  if (uid === undefined) return undefined;
  return {
    apiVersion: revision.apiVersion ?? 'serving.knative.dev/v1',
    kind: 'Revision',
    name: revision.metadata.name,
    uid,
  };
}

/** Whether an object is owned by a Knative Revision (a source some revision may still run). */
export function isRevisionSource(object: KubeObject): boolean {
  return (
    object.kind === 'ConfigMap' &&
    (object.metadata.ownerReferences ?? []).some(
      (o) => o.kind === 'Revision' && o.apiVersion.startsWith('serving.knative.dev/'),
    )
  );
}

/**
 * A ConfigMap a Revision may own: a Function's source ConfigMap of the same application (never
 * one of another application, nor one the platform did not make).
 */
function isSourceOf(map: SourceConfigMap, revision: SourceRevision): boolean {
  const labels = map.metadata.labels ?? {};
  const app = revision.metadata.labels?.[LABELS.app];
  return (
    labels[LABELS.managedBy] === MANAGER &&
    labels[LABELS.kind] === 'Function' &&
    app !== undefined &&
    labels[LABELS.app] === app
  );
}

const clients = new WeakMap<Kube, KubeRest>();

/** One pooled REST client per {@link Kube}. */
function restOf(kube: Kube): KubeRest {
  let rest = clients.get(kube);
  if (rest === undefined) {
    rest = new KubeRest(kube.config);
    clients.set(kube, rest);
  }
  return rest;
}

const enc = encodeURIComponent;

/**
 * Adds an owner reference to `revision` on each source ConfigMap it mounts (optimistic
 * concurrency: the patch carries the resourceVersion read; a conflict reads again).
 * @returns the ConfigMaps that now have it, and those not there (yet)
 */
export async function adoptSources(
  kube: Kube,
  revision: SourceRevision,
): Promise<{ adopted: string[]; missing: string[] }> {
  const owner = ownerReferenceTo(revision);
  if (owner === undefined) return { adopted: [], missing: [] };
  const rest = restOf(kube);
  const { namespace } = revision.metadata;
  const names = configMapsOf(revision);
  const outcomes = await Promise.all(
    names.map(async (name): Promise<'adopted' | 'missing' | 'foreign'> => {
      const path = `/api/v1/namespaces/${enc(namespace)}/configmaps/${enc(name)}`;
      for (let attempt = 0; attempt < 5; attempt++) {
        let map: SourceConfigMap;
        try {
          map = await rest.request<SourceConfigMap>('GET', path);
        } catch (error) {
          if (error instanceof KubeRequestError && error.code === 404) return 'missing';
          throw error;
        }
        if (!isSourceOf(map, revision)) return 'foreign';
        const owners = map.metadata.ownerReferences ?? [];
        if (owners.some((o) => o.uid === owner.uid)) return 'adopted';
        const patch = {
          metadata: {
            resourceVersion: map.metadata.resourceVersion,
            ownerReferences: [...owners, owner],
          },
        };
        try {
          await rest.request(
            'PATCH',
            `${path}?fieldManager=${REVISION_SOURCES_FIELD_MANAGER}`,
            patch,
            'application/merge-patch+json',
          );
          return 'adopted';
        } catch (error) {
          if (error instanceof KubeRequestError && error.code === 404) return 'missing';
          if (!(error instanceof KubeRequestError && error.code === 409)) throw error;
        }
      }
      throw new Error(`ConfigMap ${namespace}/${name} kept changing; its owner is added later`);
    }),
  );
  return {
    adopted: names.filter((_, i) => outcomes[i] === 'adopted'),
    missing: names.filter((_, i) => outcomes[i] === 'missing'),
  };
}

/**
 * Gives the source ConfigMaps of one application's Revisions their owner references now (the
 * prune of a new version calls it, so that it never races the watch of {@link RevisionSources}).
 */
export async function adoptApplicationSources(
  kube: Kube,
  namespace: string,
  app: string,
): Promise<void> {
  const selector = `${FUNCTION_SELECTOR},${LABELS.app}=${app}`;
  let revisions: SourceRevision[];
  try {
    revisions = (
      await restOf(kube).request<{ items: SourceRevision[] }>(
        'GET',
        `/apis/serving.knative.dev/v1/namespaces/${enc(namespace)}/revisions?labelSelector=${enc(selector)}`,
      )
    ).items;
  } catch (error) {
    // Knative not installed: no revision needs anything.
    if (error instanceof KubeRequestError && error.code === 404) return;
    throw error;
  }
  await Promise.all(revisions.map((r) => adoptSources(kube, r)));
}

/**
 * Keeps every Function's source ConfigMaps owned by the Knative Revisions that mount them,
 * whichever door (API or GitOps) applied them: list, then watch from the list's
 * resourceVersion, relisting after any end of the watch. Kubernetes' garbage collector then
 * deletes a ConfigMap with the last Revision that mounts it (Knative's GC deletes revisions
 * that no longer route). Patches are idempotent, so any API replica may run it.
 */
export class RevisionSources {
  private abort?: AbortController;
  private generation = 0;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;
  /** `uid` of the revisions whose sources have their owner reference. */
  private readonly done = new Set<string>();

  constructor(
    private readonly kube: Kube,
    private readonly namespacePrefix: string,
    private readonly log: (message: string, fields?: Record<string, unknown>) => void,
  ) {}

  /** Lists, adopts and starts watching; a failure is logged and retried. */
  public start(): void {
    this.listAndWatch().catch((error: unknown) => this.restart(error, this.generation));
  }

  public stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.abort?.abort();
  }

  private async listAndWatch(): Promise<void> {
    const list = await restOf(this.kube).request<{
      items: SourceRevision[];
      metadata?: { resourceVersion?: string };
    }>('GET', `${REVISIONS_PATH}?labelSelector=${enc(FUNCTION_SELECTOR)}`);
    // What was deleted while no watch ran is forgotten: the list has all there is.
    this.done.clear();
    await Promise.all(list.items.map((r) => this.adopt(r)));
    if (this.stopped) return;
    const generation = ++this.generation;
    this.abort = await this.kube.watch(
      REVISIONS_PATH,
      {
        labelSelector: FUNCTION_SELECTOR,
        resourceVersion: list.metadata?.resourceVersion ?? '',
        allowWatchBookmarks: true,
      },
      (type, object) => {
        const revision = object as unknown as SourceRevision;
        if (type === 'ADDED' || type === 'MODIFIED') void this.adopt(revision);
        if (type === 'DELETED' && revision.metadata.uid) this.done.delete(revision.metadata.uid);
        if (type === 'ERROR') this.restart(object, generation);
      },
      (error) => this.restart(error, generation),
    );
  }

  private restart(error: unknown, generation: number): void {
    if (this.stopped || generation !== this.generation) return;
    this.generation++;
    this.abort?.abort();
    if (error) this.log('revision watch ended; relisting', { error: String(error) });
    this.retryTimer = setTimeout(
      () => this.listAndWatch().catch((e: unknown) => this.restart(e, this.generation)),
      error ? 1000 : 0,
    );
  }

  private async adopt(revision: SourceRevision): Promise<void> {
    const { uid, namespace } = revision.metadata;
    const project = revision.metadata.labels?.[LABELS.project];
    // Another installation (another namespace prefix) on the same cluster keeps its own.
    if (
      uid === undefined ||
      this.done.has(uid) ||
      namespace !== `${this.namespacePrefix}${project}`
    )
      return;
    try {
      const { adopted, missing } = await adoptSources(this.kube, revision);
      // A ConfigMap applied after its Service is adopted at a later event of the revision.
      if (missing.length === 0) this.done.add(uid);
      if (adopted.length)
        this.log('source ConfigMaps owned by their revision', {
          namespace,
          revision: revision.metadata.name,
          configMaps: adopted,
        });
    } catch (error) {
      this.log('could not add a revision owner to its ConfigMaps; retried at its next event', {
        namespace,
        revision: revision.metadata.name,
        error: String(error),
      });
    }
  }
}
