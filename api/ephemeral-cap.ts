import { Problem } from './problem';

/** A temporary function as the cap counts it. */
export interface CountedFunction {
  readonly name: string;
  /** When it expires, in seconds since the epoch. */
  readonly expiresAt: number;
}

/** A slot under the cap, held from before the deploy until the function is deleted or live. */
export interface CapSlot {
  /** Gives the slot back (idempotent). */
  release(): void;
}

/** Longest `Retry-After` the cap suggests: execute-once functions end well before expiry. */
const MAX_RETRY_AFTER_SECONDS = 60;

/**
 * The per-project cap of concurrent temporary functions. It counts the project's temporary
 * functions in the cluster (those of every API replica) together with this process's deploys
 * in flight (not yet visible there), each once by name. Admissions of one project are checked
 * one after the other in this process; two replicas admitting at the same moment may each
 * count the other's deploy too late, so the cap can be passed by the number of replicas less one.
 */
export class EphemeralCap {
  private readonly inFlight = new Map<string, Map<string, CountedFunction>>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    /** Most temporary functions of one project at once. */
    private readonly maxPerProject: number,
    /** The project's temporary functions in the cluster. */
    private readonly live: (project: string) => Promise<readonly CountedFunction[]>,
  ) {}

  /**
   * Takes a slot for `fn` in `project`.
   * @throws Problem 429 with `Retry-After` when the project has its maximum already
   */
  public async reserve(project: string, fn: CountedFunction): Promise<CapSlot> {
    const admitted = (this.queues.get(project) ?? Promise.resolve()).then(() =>
      this.admit(project, fn),
    );
    const queued = admitted.catch(() => undefined);
    this.queues.set(project, queued);
    void queued.then(() => {
      if (this.queues.get(project) === queued) this.queues.delete(project);
    });
    return admitted;
  }

  private async admit(project: string, fn: CountedFunction): Promise<CapSlot> {
    const ours = this.inFlight.get(project) ?? new Map<string, CountedFunction>();
    const counted = new Map(ours);
    for (const f of await this.live(project)) counted.set(f.name, f);
    if (counted.size >= this.maxPerProject) {
      const soonest = Math.min(...[...counted.values()].map((f) => f.expiresAt));
      const retryAfter = Math.min(
        MAX_RETRY_AFTER_SECONDS,
        Math.max(1, Math.ceil(soonest - Date.now() / 1000)),
      );
      throw new Problem(
        429,
        'Too many temporary functions',
        `Project ${JSON.stringify(project)} has ${counted.size} temporary functions, the most it may have at once (HKS_EPHEMERAL_MAX_PER_PROJECT=${this.maxPerProject}); retry after ${retryAfter} s or delete one`,
        [],
        { 'retry-after': String(retryAfter) },
      );
    }
    ours.set(fn.name, fn);
    this.inFlight.set(project, ours);
    return {
      release: () => {
        ours.delete(fn.name);
        if (ours.size === 0 && this.inFlight.get(project) === ours) this.inFlight.delete(project);
      },
    };
  }
}
