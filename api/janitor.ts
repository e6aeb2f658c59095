import { LABELS, MANAGER, ProjectNamespaces } from '../constructs';
import { EPHEMERAL_LABEL, EXPIRES_LABEL } from './functions';
import { KnativeApi } from './knative';
import { Kube, KubeObject } from './kube';
import { FunctionMetrics } from './metrics';
import { removeFunction } from './operations';

/** What a temporary function leaves besides its Knative Service. */
const LEFTOVER_KINDS = [
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
];

/** What the janitor reads of a Knative Service or another object. */
interface Labelled {
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
}

const EPHEMERAL_SELECTOR = `${LABELS.managedBy}=${MANAGER},${EPHEMERAL_LABEL}=true`;

/**
 * Removes ephemeral functions past their expiry, so an API that dies between deploying and
 * deleting one leaks nothing: their Knative Services with all that belongs to them, and the
 * ConfigMaps and ServiceAccounts of those whose Service is gone already (or was never
 * applied: a deploy that failed half way and could not clean up). Any API replica may run it:
 * deletes are idempotent.
 */
export class Janitor {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly namespaces: ProjectNamespaces;

  constructor(
    private readonly knative: KnativeApi,
    private readonly kube: Kube,
    namespacePrefix: string,
    private readonly metrics: FunctionMetrics,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void,
  ) {
    this.namespaces = new ProjectNamespaces(namespacePrefix);
  }

  /** Sweeps now and then every `intervalMs`. */
  public start(intervalMs: number): void {
    const tick = () => {
      this.running ??= this.sweep()
        .then(
          (removed) => {
            if (removed.length) this.log('removed expired ephemeral functions', { removed });
          },
          (error: unknown) =>
            this.log('janitor sweep failed; retrying at the next interval', {
              err: error,
            }),
        )
        .finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  public stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Deletes every ephemeral function of this installation whose expiry has passed.
   * @returns `namespace/name` of each function removed (whole, or only its leftovers)
   */
  public async sweep(now = Date.now()): Promise<string[]> {
    const services = (await this.knative.listServices(undefined, EPHEMERAL_SELECTOR)).filter((s) =>
      this.isOurs(s),
    );
    const expired = services.filter((s) => isExpired(s, now));
    const leftovers = await this.leftovers(new Set(services.map(key)), now);
    await Promise.all([
      ...expired.map((s) => removeFunction(this.kube, s)),
      ...leftovers.map((o) => this.kube.delete(o)),
    ]);
    const removed = [...new Set([...expired, ...leftovers].map(key))];
    if (removed.length) this.metrics.expired(removed.length);
    return removed;
  }

  /**
   * Expired ConfigMaps and ServiceAccounts of temporary functions without a Knative Service,
   * in the installation's project namespaces (listed per namespace: the API may read those
   * kinds only there).
   */
  private async leftovers(withService: ReadonlySet<string>, now: number): Promise<KubeObject[]> {
    const namespaces = (await this.kube.listNamespaces(`${LABELS.managedBy}=${MANAGER}`)).filter(
      (n) => this.namespaces.mayHoldProject(n),
    );
    // A managed namespace the API has no RoleBinding in (applied by GitOps, or by another
    // installation) is skipped, not a reason to leave every other namespace unswept.
    const found = await Promise.all(
      namespaces.map((n) =>
        this.kube.listManaged(n, EPHEMERAL_SELECTOR, LEFTOVER_KINDS).catch((error: unknown) => {
          this.log('janitor cannot list a namespace; skipped', {
            namespace: n,
            err: error,
          });
          return [];
        }),
      ),
    );
    return found
      .flat()
      .filter((o) => this.isOurs(o) && isExpired(o, now) && !withService.has(key(o)));
  }

  /** In a namespace of this installation's project (namespace = prefix + project). */
  private isOurs(o: Labelled): boolean {
    const project = o.metadata.labels?.[LABELS.project];
    return this.namespaces.isOf(o.metadata.namespace, project);
  }
}

function isExpired(o: Labelled, now: number): boolean {
  const expiresAt = Number(o.metadata.labels?.[EXPIRES_LABEL]);
  return Number.isFinite(expiresAt) && expiresAt * 1000 <= now;
}

/** `namespace/function`: the function an object belongs to. */
function key(o: Labelled): string {
  return `${o.metadata.namespace}/${o.metadata.labels?.[LABELS.app] ?? o.metadata.name}`;
}
