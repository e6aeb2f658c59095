import { randomBytes } from 'node:crypto';
import type { ApplicationDefinition } from '../constructs';
import { Problem } from './problem';
import { ClaimLostError, InterruptedApply, Store, StoredApplication } from './store/store';

/** How a claim on an application is held and waited for. */
export interface ClaimTiming {
  /**
   * How long a claim holds without renewal: after a `kill -9` of its process, this long until
   * another request may take the application over. @default 10_000
   */
  readonly leaseMs?: number;
  /** How long a request waits for another's claim before a 409. @default 20_000 */
  readonly waitMs?: number;
}

/** One held claim on an application; renewed in the background until released. */
export interface HeldClaim {
  /** The applied version when the claim was taken. @default - none applied yet */
  readonly current?: StoredApplication;
  /** What an earlier, unfinished apply left recorded. @default - none */
  readonly interrupted?: InterruptedApply;
  /** Stores `definition` as the next version. @throws Problem 409 when the claim was lost */
  commit(definition: ApplicationDefinition): Promise<StoredApplication>;
  /** Ends the claim; `keepPending` leaves the apply recorded as unfinished. */
  release(keepPending?: boolean): Promise<void>;
}

/**
 * Serializes the applies and deletes of each application across every API process sharing the
 * store: a request holds a lease on the application's row (renewed while it works, expiring
 * when its process dies) and others wait for it. Applications differ, claims do not meet.
 */
export class ApplicationClaims {
  private readonly leaseMs: number;
  private readonly waitMs: number;

  constructor(
    private readonly store: Store,
    timing: ClaimTiming = {},
  ) {
    this.leaseMs = timing.leaseMs ?? 10_000;
    this.waitMs = timing.waitMs ?? 20_000;
  }

  /**
   * Claims an application, waiting while another request holds it.
   * @param pending the definition about to be applied (recorded before the cluster is touched);
   *   without it, an application with no row is not claimed
   * @returns undefined when there is no such application (and no `pending`)
   * @throws Problem 409 when another request still holds it after the wait
   */
  public async acquire(
    project: string,
    name: string,
    pending?: ApplicationDefinition,
  ): Promise<HeldClaim | undefined> {
    const owner = randomBytes(16).toString('hex');
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const claim = await this.store.claimApplication(project, name, owner, this.leaseMs, pending);
      if (claim.state === 'absent') return undefined;
      if (claim.state === 'held') return this.held(project, name, owner, claim);
      if (Date.now() > deadline) {
        const seconds = Math.max(1, Math.ceil((Date.parse(claim.until) - Date.now()) / 1000));
        throw new Problem(
          409,
          'Apply in progress',
          `Application ${JSON.stringify(name)} in project ${JSON.stringify(project)} is being applied or deleted by another request (claimed until ${claim.until}); retry after it ends`,
          [],
          { 'retry-after': String(seconds) },
        );
      }
      // Jitter, so that waiters do not poll the store in step.
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
  }

  private held(
    project: string,
    name: string,
    owner: string,
    claim: Pick<HeldClaim, 'current' | 'interrupted'>,
  ): HeldClaim {
    let lost = false;
    let applied = claim.current !== undefined;
    const renew = setInterval(
      () => {
        this.store
          .renewApplicationClaim(project, name, owner, this.leaseMs)
          .then((renewed) => (lost ||= !renewed))
          // A store that does not answer now may answer at the next renewal.
          .catch(() => undefined);
      },
      Math.floor(this.leaseMs / 3),
    );
    renew.unref();
    return {
      ...claim,
      commit: async (definition) => {
        if (lost) throw lostProblem(project, name);
        try {
          const stored = await this.store.commitApplication(owner, definition, claim.current);
          applied = true;
          return stored;
        } catch (error) {
          if (error instanceof ClaimLostError) throw lostProblem(project, name);
          throw error;
        }
      },
      release: async (keepPending = false) => {
        clearInterval(renew);
        await this.store.releaseApplication(project, name, owner, keepPending, applied);
      },
    };
  }
}

function lostProblem(project: string, name: string): Problem {
  return new Problem(
    409,
    'Apply superseded',
    `This apply of application ${JSON.stringify(name)} in project ${JSON.stringify(project)} took longer than its claim and another request took the application over; its result is what the other request applies`,
  );
}
