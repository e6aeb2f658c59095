import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Functions } from '../functions';
import { Problem } from '../problem';
import { outsideRequest } from '../request-signal';
import { attemptId } from './attempt-id';
import { deliverCallback, projectCallbackKey } from './callback';
import type { AsyncInvocation, AsyncQueueStore, AsyncResult, AttemptOutcome } from './queue-store';
import { AttemptEnd, retryable, retryDelayMs } from './retry-policy';
import type { AsyncSettings } from './settings';

/** Counts of the queue's work, for the metrics. */
export interface AsyncMetrics {
  /** One attempt ended: `succeeded`, `retrying`, `dead`, or `lost` (the lease was taken over). */
  asyncAttempt(outcome: 'succeeded' | 'retrying' | 'dead' | 'lost'): void;
  /** Invocations queued, running or waiting for a retry, by state. */
  asyncQueueDepth(counts: Readonly<Record<string, number>>): void;
}

/** How often the depth gauge is refreshed from the store. */
const DEPTH_REFRESH_MS = 5000;

/**
 * Runs due asynchronous invocations on this replica, at most `concurrency` at once: claims
 * them for a lease it renews while they run, invokes each function, writes the outcome with
 * the state in one conditional update, then delivers the callback. A replica that dies leaves
 * its leases to expire; another (or its successor) claims the rows again.
 */
export class AsyncWorker {
  /** This replica's name on the leases it holds. */
  public readonly owner = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly active = new Set<string>();
  private timer?: NodeJS.Timeout;
  private renewTimer?: NodeJS.Timeout;
  private depthTimer?: NodeJS.Timeout;
  private polling = false;
  private again = false;
  private stopped = true;

  constructor(
    private readonly queue: AsyncQueueStore,
    private readonly functions: Functions,
    private readonly settings: AsyncSettings,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void,
    private readonly metrics?: AsyncMetrics,
  ) {}

  public start(): void {
    if (this.settings.concurrency === 0) return;
    this.stopped = false;
    const leaseMs = this.settings.leaseSeconds * 1000;
    this.renewTimer = setInterval(() => {
      void this.queue
        .renew(this.owner, [...this.active], leaseMs)
        .catch((error: unknown) =>
          this.log('could not renew async invocation leases', { err: error }),
        );
    }, leaseMs / 3);
    this.depthTimer = setInterval(() => void this.refreshDepth(), DEPTH_REFRESH_MS);
    this.kick();
  }

  /** Stops claiming; what runs ends on its own (or its lease expires with the process). */
  public stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.renewTimer);
    clearInterval(this.depthTimer);
  }

  /** Looks for due invocations now (a submission, a freed slot). */
  public kick(): void {
    if (this.stopped) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    outsideRequest(() => void this.poll());
  }

  private async poll(): Promise<void> {
    this.polling = true;
    clearTimeout(this.timer);
    const leaseMs = this.settings.leaseSeconds * 1000;
    try {
      do {
        this.again = false;
        const free = this.settings.concurrency - this.active.size;
        const claimed = await this.queue.claim(this.owner, free, leaseMs);
        for (const invocation of claimed) this.run(invocation);
        const callbacks = await this.queue.claimCallbacks(this.owner, 16, leaseMs);
        for (const invocation of callbacks) void this.deliver(invocation);
        if (claimed.length > 0 && claimed.length === free) this.again = true;
      } while (this.again && !this.stopped && this.active.size < this.settings.concurrency);
    } catch (error) {
      this.log('could not claim async invocations', { err: error });
    } finally {
      this.polling = false;
      if (!this.stopped) this.timer = setTimeout(() => this.kick(), this.settings.pollMs);
    }
  }

  private run(invocation: AsyncInvocation): void {
    this.active.add(invocation.id);
    void this.attempt(invocation)
      .catch((error: unknown) =>
        this.log('async invocation attempt failed to be recorded', {
          id: invocation.id,
          err: error,
        }),
      )
      .finally(() => {
        this.active.delete(invocation.id);
        this.kick();
      });
  }

  private async attempt(invocation: AsyncInvocation): Promise<void> {
    const started = performance.now();
    let end: AttemptEnd;
    let result: AsyncResult | undefined;
    try {
      const { response } = await this.functions.invoke(invocation.project, invocation.function, {
        // The client's X-Request-Id in the history is the invocation's id: its attempts share it.
        headers: { ...invocation.headers, 'x-request-id': invocation.id },
        body: invocation.body,
        tag: invocation.tag,
        trigger: 'async',
        requestId: attemptId(invocation.id, invocation.attempts),
      });
      end = { kind: 'answered', status: response.status };
      result = {
        status: response.status,
        headers: pick(response.headers, ['content-type']),
        body: response.body.subarray(0, this.settings.resultLimitBytes),
        bytes: response.body.length,
      };
    } catch (error) {
      end = { kind: 'failed', error };
    }
    const durationMs = performance.now() - started;
    const outcome = this.outcomeOf(invocation, end, result);
    const kept = await this.queue.finishAttempt(
      invocation.id,
      this.owner,
      invocation.attempts,
      outcome,
      durationMs,
      this.settings.leaseSeconds * 1000,
    );
    if (!kept) {
      this.metrics?.asyncAttempt('lost');
      this.log('async invocation lease lost before its attempt ended; its outcome is not kept', {
        id: invocation.id,
        attempt: invocation.attempts,
      });
      return;
    }
    this.metrics?.asyncAttempt(outcome.state === 'failed-retrying' ? 'retrying' : outcome.state);
    if (outcome.state !== 'failed-retrying' && invocation.callbackUrl !== undefined) {
      const finished = await this.queue.get(invocation.id);
      if (finished) await this.deliver(finished);
    }
  }

  private outcomeOf(
    invocation: AsyncInvocation,
    end: AttemptEnd,
    result: AsyncResult | undefined,
  ): AttemptOutcome {
    if (end.kind === 'answered' && end.status < 400) return { state: 'succeeded', result };
    const error =
      end.kind === 'answered'
        ? `The function answered ${end.status}`
        : end.error instanceof Problem
          ? `${end.error.title}: ${end.error.detail}`
          : String(end.error);
    if (!retryable(end, this.settings) || invocation.attempts >= invocation.maxAttempts)
      return {
        state: 'dead',
        result,
        error: retryable(end, this.settings)
          ? `${error} on the last of ${invocation.maxAttempts} attempts`
          : `${error} (not retried)`,
      };
    const delay = retryDelayMs(invocation.attempts, this.settings);
    return {
      state: 'failed-retrying',
      nextAttemptAt: new Date(Date.now() + delay).toISOString(),
      result,
      error,
    };
  }

  /** Delivers a finished invocation's callback, a few tries with backoff. */
  private async deliver(invocation: AsyncInvocation): Promise<void> {
    const secret = this.settings.callbackSecret;
    if (invocation.callbackUrl === undefined || secret === undefined) return;
    const key = projectCallbackKey(secret, invocation.project);
    const tried = invocation.callback?.attempts ?? 0;
    for (let attempt = tried + 1; attempt <= this.settings.callbackAttempts; attempt++) {
      const delivery = await deliverCallback(
        new URL(invocation.callbackUrl),
        key,
        {
          invocationId: invocation.id,
          state: invocation.state,
          status: invocation.result?.status,
          durationMs: invocation.durationMs,
          attempts: invocation.attempts,
          contentType: invocation.result?.headers['content-type'],
          body: invocation.result?.body ?? Buffer.alloc(0),
        },
        this.settings.callbackTimeoutSeconds * 1000,
      );
      const last = delivery.ok || attempt === this.settings.callbackAttempts;
      await this.queue.callbackTried(invocation.id, this.owner, {
        state: delivery.ok ? 'delivered' : last ? 'failed' : 'pending',
        status: delivery.status,
        error: delivery.error,
      });
      if (last) return;
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt, this.settings)));
    }
  }

  private async refreshDepth(): Promise<void> {
    if (!this.metrics) return;
    try {
      this.metrics.asyncQueueDepth(await this.queue.countsByState());
    } catch (error) {
      this.log('could not count the async invocation queue', { err: error });
    }
  }
}

function pick(headers: Readonly<Record<string, string>>, names: readonly string[]) {
  return Object.fromEntries(
    names.flatMap((n) => (headers[n] === undefined ? [] : [[n, headers[n]]])),
  );
}
