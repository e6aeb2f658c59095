/**
 * Leader election on a `coordination.k8s.io/v1` Lease, with client-go's semantics: the holder
 * renews every retry period; another candidate takes the Lease only after it has seen the same
 * record unchanged for a whole lease duration (its own clock, so clocks need not agree); every
 * write is an update with the resourceVersion read, so of two candidates one wins and the
 * other gets 409; a holder that cannot renew within the renew deadline stops leading before
 * anyone else may start (renew deadline < lease duration).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { KubeRequestError, KubeRest } from './kube-rest';

/** Where the Lease is and how it is held. */
export interface LeaseSettings {
  /** `HKS_LEADER_LEASE_NAMESPACE`. */
  readonly namespace: string;
  /** `HKS_LEADER_LEASE_NAME`. @default "hks-api-recorder" */
  readonly name: string;
  /** `HKS_LEADER_LEASE_DURATION_SECONDS`: how long a Lease not renewed stays its holder's. @default 15 */
  readonly leaseDurationSeconds: number;
  /** `HKS_LEADER_RENEW_DEADLINE_SECONDS`: how long the leader tries to renew before it stops leading. @default 10 */
  readonly renewDeadlineSeconds: number;
  /** `HKS_LEADER_RETRY_PERIOD_SECONDS`: time between renewals and between attempts to acquire. @default 2 */
  readonly retryPeriodSeconds: number;
}

/** client-go's defaults. */
export const DEFAULT_LEASE_TIMINGS = {
  name: 'hks-api-recorder',
  leaseDurationSeconds: 15,
  renewDeadlineSeconds: 10,
  retryPeriodSeconds: 2,
} as const;

/** What the elector does while leading. */
export interface Leadership {
  /** Called when this candidate becomes the leader. */
  started(): void;
  /** Called when it stops leading (lost the Lease, or stopped); awaited before it campaigns again. */
  stopped(): Promise<void>;
}

/** The Lease's spec as the API server stores it (MicroTime as RFC 3339 with microseconds). */
interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** MicroTime: the API server requires six fractional digits. */
const microTime = (date: Date) => date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Campaigns for a Lease and calls `leadership` as it is won and lost. */
export class LeaseElector {
  /** This candidate's holderIdentity: host name (the pod's name) and a random suffix. */
  public readonly identity = `${hostname()}_${randomUUID()}`;
  private readonly rest: KubeRest;
  private readonly path: string;
  private observed?: { record: string; at: number };
  private leading = false;
  private stopping = false;
  private loop?: Promise<void>;

  constructor(
    rest: KubeRest,
    private readonly settings: LeaseSettings,
    private readonly leadership: Leadership,
    private readonly log: (message: string, fields?: Record<string, unknown>) => void,
  ) {
    this.rest = rest;
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(settings.namespace)}/leases`;
  }

  /** Whether this candidate currently leads. */
  public get isLeader(): boolean {
    return this.leading;
  }

  /** Starts campaigning (in the background). */
  public start(): void {
    this.loop ??= this.run();
  }

  /**
   * Stops campaigning; a leader stops leading and then releases the Lease (empty holder,
   * duration 1 s), so another replica takes over at its next attempt instead of after the
   * lease duration.
   */
  public async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    const retryMs = this.settings.retryPeriodSeconds * 1000;
    while (!this.stopping) {
      if (await this.attempt('acquire')) {
        await this.lead(retryMs);
      } else {
        // client-go's jitter: candidates that lost together do not retry together.
        await sleep(retryMs * (1 + Math.random() * 0.2));
      }
    }
  }

  private async lead(retryMs: number): Promise<void> {
    this.leading = true;
    this.log('leading: this replica holds the Lease', this.fields());
    this.leadership.started();
    let renewed = Date.now();
    const deadlineMs = this.settings.renewDeadlineSeconds * 1000;
    while (!this.stopping) {
      await sleep(retryMs);
      if (this.stopping) break;
      const left = renewed + deadlineMs - Date.now();
      if (left > 0 && (await this.attempt('renew', left))) renewed = Date.now();
      else if (Date.now() - renewed >= deadlineMs) {
        this.log('lost the Lease: not renewed within the renew deadline', this.fields());
        break;
      }
    }
    this.leading = false;
    await this.leadership.stopped();
    if (this.stopping) await this.release();
  }

  /** One try to acquire or renew; false when another holds it, on conflict or on error. */
  private async attempt(what: 'acquire' | 'renew', timeoutMs?: number): Promise<boolean> {
    const tryOnce = this.tryAcquireOrRenew();
    try {
      if (timeoutMs === undefined) return await tryOnce;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      try {
        return await Promise.race([tryOnce, timeout]);
      } finally {
        clearTimeout(timer);
      }
    } catch (error) {
      if (!(error instanceof KubeRequestError && error.code === 409))
        this.log(`could not ${what} the Lease`, { ...this.fields(), err: error });
      return false;
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    let lease: Lease;
    try {
      lease = await this.rest.request<Lease>('GET', `${this.path}/${this.settings.name}`);
    } catch (error) {
      if (!(error instanceof KubeRequestError && error.code === 404)) throw error;
      const created = await this.rest.request<Lease>('POST', this.path, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.settings.name, namespace: this.settings.namespace },
        spec: this.spec(now, now, 0),
      });
      this.observe(created.spec);
      return true;
    }
    const spec = lease.spec ?? {};
    this.observe(spec);
    const heldByOther = Boolean(spec.holderIdentity) && spec.holderIdentity !== this.identity;
    const durationMs = (spec.leaseDurationSeconds ?? this.settings.leaseDurationSeconds) * 1000;
    if (heldByOther && (this.observed?.at ?? 0) + durationMs > Date.now()) return false;
    const mine = spec.holderIdentity === this.identity;
    const updated = await this.rest.request<Lease>('PUT', `${this.path}/${this.settings.name}`, {
      ...lease,
      spec: mine
        ? this.spec(spec.acquireTime ?? now, now, spec.leaseTransitions ?? 0)
        : this.spec(now, now, (spec.leaseTransitions ?? 0) + 1),
    });
    this.observe(updated.spec);
    return true;
  }

  /** Remembers when the record last changed, by this process's clock. */
  private observe(spec: LeaseSpec | undefined): void {
    const record = JSON.stringify(spec ?? {});
    if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
  }

  private spec(acquired: Date | string, renewed: Date, transitions: number): LeaseSpec {
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: this.settings.leaseDurationSeconds,
      acquireTime: typeof acquired === 'string' ? acquired : microTime(acquired),
      renewTime: microTime(renewed),
      leaseTransitions: transitions,
    };
  }

  /** Gives the Lease up if this candidate still holds it (client-go's ReleaseOnCancel). */
  private async release(): Promise<void> {
    try {
      const lease = await this.rest.request<Lease>('GET', `${this.path}/${this.settings.name}`);
      if (lease.spec?.holderIdentity !== this.identity) return;
      const now = microTime(new Date());
      await this.rest.request('PUT', `${this.path}/${this.settings.name}`, {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: now,
          renewTime: now,
        },
      });
      this.log('released the Lease', this.fields());
    } catch (error) {
      this.log('could not release the Lease; it expires by itself', {
        ...this.fields(),
        err: error,
      });
    }
  }

  private fields(): Record<string, unknown> {
    return {
      lease: `${this.settings.namespace}/${this.settings.name}`,
      identity: this.identity,
    };
  }
}
