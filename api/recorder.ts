import type { V1Job } from '@kubernetes/client-node';
import { backOff } from 'exponential-backoff';
import pLimit from 'p-limit';
import { LABELS, MANAGER, ProjectNamespaces } from '../constructs';
import {
  attemptCount,
  attemptsOf,
  jobPodCount,
  joinAttempts,
  kubeletLogError,
  lastTermination,
  type Attempt,
  type AttemptLog,
} from './job-attempts';
import { holdPatch, releasePatch, type JsonPatchOperation } from './job-finalizer';
import { Kube } from './kube';
import { keepEnd } from './log-tail';
import { Problem } from './problem';
import type { SharedInformer } from './shared-informer';
import { traceRun } from './tracing-runs';
import { requestedResources } from './usage/requested-resources';
import { Execution, ExecutionStatus, Store } from './store/store';

/** Jobs of managed CronJobs, scheduled or manual. */
export const RECORDED_JOBS = `${LABELS.managedBy}=${MANAGER},${LABELS.kind}=CronJob`;

/** Counters the recorder reports to /metrics. */
export interface RecorderMetrics {
  recorded(status: ExecutionStatus): void;
  /** An execution's record is final (logs captured or lost): its schedule and recorder lags. */
  finished(execution: FinishedExecution): void;
  watchRestarted(reason: string): void;
}

/** The times of a finished execution. */
export interface FinishedExecution {
  readonly trigger: 'scheduled' | 'manual';
  /** When the CronJob controller scheduled it (`batch.kubernetes.io/cronjob-scheduled-timestamp`). @default - not known */
  readonly scheduledAt?: string;
  readonly startedAt: string;
  /** @default - not known (deleted before it ended) */
  readonly completedAt?: string;
}

/** The annotation the CronJob controller puts on a Job: the run's scheduled time. */
const SCHEDULED_TIMESTAMP = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

/** How the recorder paces its work. */
export interface RecorderOptions {
  /** Log captures (pod lists and log reads of one Job) running at once. @default 4 */
  readonly captureConcurrency?: number;
  /** Failed captures of one Job after which its logs count as lost. @default 10 */
  readonly maxCaptureAttempts?: number;
  /** Delay before the first retry of a failed capture or watch, doubled each time. @default 1000 */
  readonly retryDelayMs?: number;
  /** Longest delay between retries. @default 60000 */
  readonly maxRetryDelayMs?: number;
}

type Log = (message: string, fields?: Record<string, unknown>) => void;

/** What is stored of a Job before its logs. */
type ExecutionBase = Omit<
  Execution,
  'logs' | 'logsTruncated' | 'logsCaptured' | 'logCapture' | 'logCaptureAttempts'
>;

/**
 * Records every Job of managed CronJobs with its final status, exit code and logs. An informer
 * lists the Jobs (backfilling what ran while no recorder did) and watches them, resuming from
 * the last resourceVersion (relisting only after `410 Gone`, retrying failed lists and watches
 * with backoff: {@link SharedInformer}). Each Job is held by {@link RECORD_FINALIZER} (added
 * when the API creates it or when first seen here, its TTL parked meanwhile) until its logs
 * are stored, so neither a TTL of 0, history limits of 0 nor a recorder that is down lose it.
 * Writes are upserts keyed by Job UID; failed captures are marked and retried with backoff;
 * purged Jobs stay purged.
 */
export class Recorder {
  private informer?: SharedInformer<V1Job>;
  private stopped = false;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly options: Required<RecorderOptions>;
  private readonly namespaces: ProjectNamespaces;

  constructor(
    private readonly kube: Kube,
    private readonly store: Store,
    private readonly logLimitBytes: number,
    namespacePrefix: string,
    private readonly metrics: RecorderMetrics,
    private readonly log: Log,
    options: RecorderOptions = {},
  ) {
    this.options = {
      captureConcurrency: options.captureConcurrency ?? 4,
      maxCaptureAttempts: options.maxCaptureAttempts ?? 10,
      retryDelayMs: options.retryDelayMs ?? 1000,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 60_000,
    };
    this.limit = pLimit(this.options.captureConcurrency);
    this.namespaces = new ProjectNamespaces(namespacePrefix);
  }

  /**
   * Lists, records and starts watching; resolves after the first full list is recorded and
   * the executions of Jobs that no longer exist are reconciled. A failed list or watch is
   * retried with backoff ({@link SharedInformer}), the first one too.
   */
  public async start(): Promise<void> {
    this.stopped = false;
    const informer = this.kube.jobInformer(RECORDED_JOBS, {
      log: this.log,
      restarted: (reason) => this.metrics.watchRestarted(reason),
      retryDelayMs: this.options.retryDelayMs,
      maxRetryDelayMs: this.options.maxRetryDelayMs,
    });
    this.informer = informer;
    informer.on('add', (job) => void this.record(job));
    informer.on('update', (job) => void this.record(job));
    informer.on('delete', (job) => void this.record(job, true));
    // Rows written after this moment may be of Jobs newer than the list: not reconciled.
    const listedAt = new Date().toISOString();
    try {
      await informer.start();
    } catch (error) {
      // Stopped before the first list: there is nothing to reconcile against.
      if (this.stopped) return;
      throw error;
    }
    await Promise.all([...this.inFlight.values()]);
    await this.reconcile(listedAt, new Set(informer.list().map((job) => job.metadata?.uid)));
  }

  public stop(): void {
    this.stopped = true;
    void this.informer?.stop();
  }

  /** Executions left unfinished for Jobs that no longer exist: their end is unknown. */
  private async reconcile(listedAt: string, listed: Set<string | undefined>): Promise<void> {
    const rows = await this.store.unfinishedExecutions(this.namespaces.prefix, listedAt);
    for (const row of rows.filter((r) => !listed.has(r.jobUid))) {
      await this.store.markLost(
        row.jobUid,
        'its Job no longer existed when the recorder started (it ended and was deleted while no recorder ran)',
      );
      this.log('execution reconciled: its Job is gone', { job: row.jobName, uid: row.jobUid });
    }
  }

  /** Records one Job; serialized per UID so concurrent events don't race. */
  public record(job: V1Job, deleted = false): Promise<void> {
    const uid = job.metadata?.uid;
    if (!uid) return Promise.resolve();
    const previous = this.inFlight.get(uid) ?? Promise.resolve();
    const next = previous
      .then(() => this.recordNow(job, deleted))
      .catch((error: unknown) =>
        this.log('recording a job failed', {
          job: job.metadata?.name,
          error: describeError(error),
        }),
      )
      .finally(() => {
        if (this.inFlight.get(uid) === next) this.inFlight.delete(uid);
      });
    this.inFlight.set(uid, next);
    return next;
  }

  private async recordNow(job: V1Job, deleted: boolean): Promise<void> {
    const base = this.executionOf(job, deleted);
    if (!base) return;
    if (await this.store.isPurged(base.jobUid)) {
      if (!deleted) await this.release(job);
      return;
    }
    const ending = base.status !== 'running' || deleted || !!job.metadata?.deletionTimestamp;
    if (await this.store.logsCaptured(base.jobUid)) {
      await this.store.upsertExecution(base);
      if (!deleted) await this.release(job);
      return;
    }
    const held = deleted ? job : await this.hold(job);
    await this.store.upsertExecution(base);
    if (!ending) {
      if (isFailing(job)) await this.readEarly(base);
      return;
    }
    await this.captureWithRetries(held, base, deleted);
  }

  /** The execution a Job stands for, or undefined when it is not one this recorder records. */
  private executionOf(job: V1Job, deleted: boolean): ExecutionBase | undefined {
    const labels = job.metadata?.labels ?? {};
    const project = labels[LABELS.project];
    const cronjob = labels[LABELS.app];
    const namespace = job.metadata?.namespace;
    const uid = job.metadata?.uid;
    if (!project || !cronjob || !namespace || !uid) return undefined;
    // Another installation (another namespace prefix) on the same cluster records its own jobs.
    if (!this.namespaces.isOf(namespace, project)) return undefined;
    const finished = jobStatus(job);
    // Deleted before it ended: how it would have ended is unknown.
    const status =
      finished === 'running' && (deleted || job.metadata?.deletionTimestamp) ? 'unknown' : finished;
    return {
      jobUid: uid,
      project,
      cronjob,
      jobName: job.metadata?.name ?? '',
      namespace,
      trigger:
        job.metadata?.annotations?.['cronjob.kubernetes.io/instantiate'] === 'manual'
          ? 'manual'
          : 'scheduled',
      status,
      reason: jobReason(job),
      // The pods, from the Job's counts: each event has them, no pod list is read for it.
      attempts: jobPodCount(job.status),
      startedAt:
        toIso(job.status?.startTime ?? job.metadata?.creationTimestamp) ?? new Date().toISOString(),
      completedAt:
        status === 'running'
          ? undefined
          : toIso(job.status?.completionTime ?? finishedAt(job) ?? job.metadata?.deletionTimestamp),
      // Usage: what the Job's pods request (its template cannot change after creation).
      ...requestedResources(job.spec?.template?.spec),
    };
  }

  /** Captures the logs, retrying failures with backoff until they count as lost. */
  private async captureWithRetries(
    job: V1Job,
    base: ExecutionBase,
    deleted: boolean,
  ): Promise<void> {
    const already = await this.store.captureAttempts(base.jobUid);
    const left = this.options.maxCaptureAttempts - already;
    let lastError = '';
    try {
      if (left <= 0) throw new Error('no capture attempts left');
      await backOff(() => this.limit(() => this.capture(base)), {
        numOfAttempts: left,
        startingDelay: this.options.retryDelayMs * 2 ** already,
        maxDelay: this.options.maxRetryDelayMs,
        jitter: 'full',
        retry: async (error: unknown) => {
          lastError = describeError(error);
          const attempts = await this.store.recordCaptureFailure(base.jobUid, lastError);
          this.log('log capture failed; retrying', {
            job: base.jobName,
            attempts,
            error: lastError,
          });
          return !this.stopped && !(error instanceof LogsGone);
        },
      });
    } catch (error) {
      if (this.stopped && !(error instanceof LogsGone)) return;
      const reason =
        error instanceof LogsGone
          ? error.message
          : `capture failed ${this.options.maxCaptureAttempts} times; last error: ${lastError || describeError(error)}`;
      await this.store.markLost(base.jobUid, reason);
      this.metrics.recorded(base.status);
      this.log('execution logs lost', { job: base.jobName, reason });
    }
    this.metrics.finished({
      ...base,
      scheduledAt: job.metadata?.annotations?.[SCHEDULED_TIMESTAMP],
    });
    void traceRun({ ...base, scheduledAt: job.metadata?.annotations?.[SCHEDULED_TIMESTAMP] }, () =>
      this.kube.getCronJob(base.namespace, base.cronjob).then((c) => c?.spec?.schedule),
    );
    if (!deleted) await this.release((await this.current(job)) ?? job);
  }

  /** One capture: every attempt's log, the end kept within the limit. */
  private async capture(base: ExecutionBase): Promise<void> {
    const read = await this.readLogs(base);
    if (!read) throw new LogsGone(await this.goneReason(base));
    const termination = lastTermination(read.attempts);
    await this.store.upsertExecution({
      ...base,
      exitCode: termination.exitCode ?? (base.status === 'succeeded' ? 0 : undefined),
      terminationReason: termination.reason,
      attempts: read.attemptCount,
      logs: read.text,
      logsTruncated: read.truncated,
      logsCaptured: true,
      logCapture: 'captured',
    });
    this.metrics.recorded(base.status);
  }

  /**
   * The logs of every attempt, joined, the end kept, and how many attempts the pods and the
   * Job's counts make; undefined when the Job's pods are gone.
   */
  private async readLogs(
    base: ExecutionBase,
  ): Promise<
    { attempts: Attempt[]; attemptCount: number; text: string; truncated: boolean } | undefined
  > {
    const pods = await this.kube.listPods(
      base.namespace,
      `batch.kubernetes.io/controller-uid=${base.jobUid}`,
    );
    const attempts = attemptsOf(pods);
    if (attempts.length === 0) return undefined;
    const logs: AttemptLog[] = [];
    let droppedBytes = 0;
    for (const attempt of attempts) {
      const tail = attempt.hasLog
        ? await this.kube.containerLogTail(base.namespace, attempt.pod, attempt.container, {
            limitBytes: this.logLimitBytes,
            previous: attempt.previous,
          })
        : { text: '', droppedBytes: 0 };
      const kubeletError = kubeletLogError(tail.text);
      if (kubeletError)
        throw new Error(
          `the kubelet could not read the log of pod ${attempt.pod}: ${kubeletError}`,
        );
      // An attempt cut when read holds the limit on its own, so the join's cut below drops
      // everything before it: what is kept stays one piece, the end of the whole log.
      droppedBytes += tail.droppedBytes;
      logs.push({ ...attempt, text: tail.text });
    }
    // One marker for the whole log, counting what was cut when each attempt was read and what
    // the join's cut drops (a marker per attempt would be cut away and miscount).
    const { text, truncated } = keepEnd(joinAttempts(logs), this.logLimitBytes, droppedBytes);
    // base.attempts is the Job's count of pods, some of which may be gone.
    return { attempts, attemptCount: attemptCount(pods, base.attempts ?? 0), text, truncated };
  }

  /**
   * A failing Job (`FailureTarget`: past its deadline, a pod failure policy...) has its pods
   * stopped by the Job controller, and each is deleted as soon as it ended, before the Job is
   * `Failed`: their logs are read now and kept, should they be gone by then. Best effort.
   */
  private async readEarly(base: ExecutionBase): Promise<void> {
    try {
      const read = await this.limit(() => this.readLogs(base));
      if (!read) return;
      // The restarts of the pods being stopped, which the Job's counts leave out.
      await this.store.raiseAttempts(base.jobUid, read.attemptCount);
      // A container that never ran has nothing to keep.
      if (read.attempts.some((a) => a.hasLog))
        await this.store.saveEarlyLogs(base.jobUid, read.text, read.truncated);
    } catch (error) {
      this.log('reading the logs of a failing job failed', {
        job: base.jobName,
        error: describeError(error),
      });
    }
  }

  /** Why the logs cannot be captured, the pods being gone. */
  private async goneReason(base: ExecutionBase): Promise<string> {
    const stored = await this.store.getExecution(base.project, base.cronjob, base.jobUid);
    return stored?.logs === undefined
      ? 'the pods of the Job were gone before its logs were captured'
      : `the pods of the Job were gone before its logs were captured (the Job controller deletes them as it fails the Job${base.reason ? `: ${base.reason}` : ''}); the logs are those read while they were being stopped`;
  }

  /** Adds the finalizer (and parks the TTL) unless the Job has it; returns the Job as it is now. */
  private async hold(job: V1Job): Promise<V1Job> {
    return (await this.patchRetrying(job, holdPatch, 'hold')) ?? job;
  }

  /** Removes the finalizer (and restores the TTL). */
  private async release(job: V1Job): Promise<void> {
    await this.patchRetrying(job, releasePatch, 'release');
  }

  /**
   * Applies `patchOf(job)`; when its test fails (the Job changed meanwhile) reads the Job
   * again and retries. A Job that cannot be patched (e.g. no access) is logged and left.
   */
  private async patchRetrying(
    job: V1Job,
    patchOf: (job: V1Job) => JsonPatchOperation[] | undefined,
    what: string,
  ): Promise<V1Job | undefined> {
    let current: V1Job | undefined = job;
    for (let attempt = 0; current && attempt < 5; attempt++) {
      const ops = patchOf(current);
      if (!ops) return current;
      try {
        return await this.kube.patchJob(
          current.metadata?.namespace ?? '',
          current.metadata?.name ?? '',
          ops,
        );
      } catch (error) {
        if (!(error instanceof Problem) || (error.status !== 422 && error.status !== 409)) {
          this.log(`could not ${what} a job`, { job: job.metadata?.name, err: error });
          return current;
        }
        current = await this.current(current);
        if (attempt === 4)
          this.log(`could not ${what} a job`, { job: job.metadata?.name, err: error });
      }
    }
    return current;
  }

  /** The Job as the API server has it now (undefined when gone or not the same Job). */
  private async current(job: V1Job): Promise<V1Job | undefined> {
    const fresh = await this.kube
      .getJob(job.metadata?.namespace ?? '', job.metadata?.name ?? '')
      .catch(() => job);
    return fresh?.metadata?.uid === job.metadata?.uid ? fresh : undefined;
  }
}

/** The logs cannot be read any more: retrying would not help. */
class LogsGone extends Error {}

/** running | succeeded | failed, from the Job's conditions. */
export function jobStatus(job: V1Job): ExecutionStatus {
  const conditions = job.status?.conditions ?? [];
  if (conditions.some((c) => c.type === 'Complete' && c.status === 'True')) return 'succeeded';
  if (conditions.some((c) => c.type === 'Failed' && c.status === 'True')) return 'failed';
  return 'running';
}

/**
 * Whether the Job controller is failing the Job (`FailureTarget`, Kubernetes 1.31 and later):
 * it stops the pods and sets `Failed` once none is left.
 */
export function isFailing(job: V1Job): boolean {
  return (job.status?.conditions ?? []).some(
    (c) => c.type === 'FailureTarget' && c.status === 'True',
  );
}

/**
 * Why a Job ended, as the Job controller says it: the reason of its terminal condition,
 * `Failed` (`BackoffLimitExceeded`, `DeadlineExceeded`, `PodFailurePolicy`,
 * `MaxFailedIndexesExceeded`...) or `Complete` (`CompletionsReached`, `SuccessPolicy`).
 */
export function jobReason(job: V1Job): string | undefined {
  const condition = job.status?.conditions?.find(
    (c) => (c.type === 'Failed' || c.type === 'Complete') && c.status === 'True',
  );
  return condition?.reason || undefined;
}

function finishedAt(job: V1Job): Date | undefined {
  const condition = job.status?.conditions?.find(
    (c) => (c.type === 'Failed' || c.type === 'Complete') && c.status === 'True',
  );
  return condition?.lastTransitionTime;
}

function toIso(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return new Date(value).toISOString();
}

function describeError(error: unknown): string {
  if (error instanceof Problem) return error.detail ?? error.title;
  return error instanceof Error ? error.message : String(error);
}
