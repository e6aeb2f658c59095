import { LABELS, MANAGER, ProjectNamespaces } from '../constructs';
import { Kube, KubeObject } from './kube';
import { KubeRequestError, type KubeRest } from './kube-rest';
import { type EventSource, type ObjectList, SharedInformer } from './shared-informer';

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

/** The process's one client, {@link Kube}'s. */
function restOf(kube: Kube): KubeRest {
  return kube.rest;
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
 * whichever door (API or GitOps) applied them: an informer ({@link SharedInformer}) lists the
 * Functions' Revisions and watches them, resuming from the last resourceVersion (a relist only
 * after `410 Gone`; failures retried with backoff). Every Revision of each (re)list and each
 * one the watch sees change is adopted (a revision whose ConfigMap was missing is tried again
 * then). Kubernetes'
 * garbage collector then deletes a ConfigMap with the last Revision that mounts it (Knative's
 * GC deletes revisions that no longer route). Patches are idempotent, so any API replica may
 * run it.
 */
export class RevisionSources {
  private readonly informer: SharedInformer<SourceRevision>;
  /** `uid` of the revisions whose sources have their owner reference. */
  private readonly done = new Set<string>();
  private readonly namespaces: ProjectNamespaces;

  constructor(
    private readonly kube: Kube,
    namespacePrefix: string,
    private readonly log: (message: string, fields?: Record<string, unknown>) => void,
  ) {
    this.namespaces = new ProjectNamespaces(namespacePrefix);
    const path = `${REVISIONS_PATH}?labelSelector=${enc(FUNCTION_SELECTOR)}`;
    this.informer = new SharedInformer(kube.rest, {
      what: 'revision',
      path: REVISIONS_PATH,
      labelSelector: FUNCTION_SELECTOR,
      list: () => restOf(kube).request<ObjectList<SourceRevision>>('GET', path),
      connectTimeoutMs: kube.timeoutMs,
      log,
    });
    // What a list brings is adopted once it is in the cache (below); the watch's changes at once.
    const changed = (revision: SourceRevision, source: EventSource) => {
      if (source === 'watch') void this.adopt(revision);
    };
    this.informer.on('add', changed);
    this.informer.on('update', changed);
    this.informer.on('delete', (revision) => {
      if (revision.metadata.uid) this.done.delete(revision.metadata.uid);
    });
    // Every (re)list: all revisions, so that one whose ConfigMap was missing is tried again.
    this.informer.onListed((revisions) => {
      for (const revision of revisions) void this.adopt(revision);
    });
  }

  /** Lists, adopts and starts watching; failures are logged and retried. */
  public start(): void {
    this.informer.start().catch(() => undefined);
  }

  public async stop(): Promise<void> {
    await this.informer.stop();
  }

  private async adopt(revision: SourceRevision): Promise<void> {
    const { uid, namespace } = revision.metadata;
    const project = revision.metadata.labels?.[LABELS.project];
    // Another installation (another namespace prefix) on the same cluster keeps its own.
    if (uid === undefined || this.done.has(uid) || !this.namespaces.isOf(namespace, project))
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
        err: error,
      });
    }
  }
}
