import type { Knex } from 'knex';
import {
  cronJobsOverCount,
  deleteBeyondNewest,
  deleteStartedBefore,
  forgetPurgedBefore,
  oldestLogs,
  projectsOverLogBudget,
  replaceLogs,
} from './store/retention-queries';
import {
  deleteInvocationsBeyondNewest,
  deleteInvocationsStartedBefore,
  functionsOverInvocationCount,
} from './store/invocation-retention-queries';
import { deleteAsyncFinishedBefore } from './store/async-retention-queries';
import { deleteScheduleRunsBefore } from './store/schedule-run-retention-queries';
import { sweepEndedSessions } from './store/agent-session-retention-queries';
import {
  deleteAgentExecutionsBefore,
  deleteAgentExecutionsBeyond,
  projectsOverAgentExecutions,
} from './store/agent-executions';

/**
 * How much execution history the store keeps. A limit of 0 is no limit of that kind. A
 * `running` execution is never removed, whatever the limits.
 */
export interface RetentionPolicy {
  /** `HKS_RETENTION_MAX_EXECUTIONS`: the newest executions kept per CronJob. @default 100 */
  readonly maxExecutionsPerCronJob: number;
  /** `HKS_RETENTION_MAX_AGE_DAYS`: executions that started longer ago are removed. @default 30 */
  readonly maxAgeDays: number;
  /**
   * `HKS_RETENTION_MAX_LOG_BYTES_PER_PROJECT`: bytes of logs kept per project; past it the
   * logs of the oldest executions are replaced by {@link DROPPED_LOGS_MARKER} (the execution
   * itself stays).
   * @default 268435456 (256 MiB)
   */
  readonly maxLogBytesPerProject: number;
  /** `HKS_RETENTION_MAX_INVOCATIONS`: the newest invocations kept per function. @default 1000 */
  readonly maxInvocationsPerFunction?: number;
  /**
   * `HKS_RETENTION_INVOCATION_MAX_AGE_DAYS`: invocations that started longer ago are removed,
   * and so are asynchronous invocations that finished longer ago (with their stored answer)
   * and schedule runs due longer ago (but each schedule's newest).
   * @default 7
   */
  readonly invocationMaxAgeDays?: number;
}

/** How the background sweep runs. */
export interface RetentionSweepSettings {
  /** `HKS_RETENTION_INTERVAL_SECONDS`: time between sweeps; 0 disables them. @default 300 */
  readonly intervalSeconds: number;
  /**
   * `HKS_RETENTION_BATCH_SIZE`: most rows one statement deletes or changes, so that a large
   * purge never holds the store (SQLite's single writer) for long.
   * @default 500
   */
  readonly batchSize: number;
}

/**
 * Defaults that bound a CronJob running every minute: 100 executions is its last 100 minutes, far above the
 * Jobs a CronJob keeps in the cluster by default (3 succeeded, 3 failed), so a relist of the
 * recorder does not record again a Job the sweep removed; 30 days bounds a rarely running one;
 * 256 MiB per project is 256 executions at the 1 MiB log limit, however many CronJobs it has.
 */
export const DEFAULT_RETENTION: Required<RetentionPolicy> & RetentionSweepSettings = {
  maxExecutionsPerCronJob: 100,
  maxAgeDays: 30,
  maxLogBytesPerProject: 256 * 1024 * 1024,
  // A row holds at most the runtime's 8 KiB log tail: about 9 MiB per function at the count.
  maxInvocationsPerFunction: 1000,
  invocationMaxAgeDays: 7,
  intervalSeconds: 300,
  batchSize: 500,
};

/** What replaces logs dropped for the project's log budget. */
export const DROPPED_LOGS_MARKER =
  '[hks: logs removed by retention: the project exceeded HKS_RETENTION_MAX_LOG_BYTES_PER_PROJECT]\n';

/** Bytes of {@link DROPPED_LOGS_MARKER}. */
export const DROPPED_LOGS_MARKER_BYTES = Buffer.byteLength(DROPPED_LOGS_MARKER);

/** The ISO time before which executions are too old, or undefined without an age limit. */
export function ageCutoff(
  policy: Pick<RetentionPolicy, 'maxAgeDays'>,
  now: Date,
): string | undefined {
  if (policy.maxAgeDays === 0) return undefined;
  return new Date(now.getTime() - policy.maxAgeDays * 86_400_000).toISOString();
}

/** An execution's stored logs, as the budget sees them. */
export interface LogsSize {
  readonly jobUid: string;
  readonly logBytes: number;
}

/**
 * Which of `oldestFirst` lose their logs so that a project holding `totalBytes` comes down to
 * `budgetBytes`: the oldest first, each replaced by the marker (whose bytes still count).
 * @returns the Job UIDs to change, and the total after the change
 */
export function logsToDrop(
  oldestFirst: readonly LogsSize[],
  totalBytes: number,
  budgetBytes: number,
): { readonly jobUids: string[]; readonly totalAfter: number } {
  const jobUids: string[] = [];
  let total = totalBytes;
  for (const row of oldestFirst) {
    if (total <= budgetBytes) break;
    if (row.logBytes <= DROPPED_LOGS_MARKER_BYTES) continue;
    jobUids.push(row.jobUid);
    total -= row.logBytes - DROPPED_LOGS_MARKER_BYTES;
  }
  return { jobUids, totalAfter: total };
}

/** What one sweep removed. */
export interface SweepResult {
  /** Executions removed for being older than the age limit. */
  readonly expired: number;
  /** Executions removed beyond the newest N of their CronJob. */
  readonly overCount: number;
  /** Executions whose logs were dropped for the project's budget. */
  readonly logsDropped: number;
  /** Function invocations removed for being older than their age limit. */
  readonly invocationsExpired: number;
  /** Function invocations removed beyond the newest N of their function. */
  readonly invocationsOverCount: number;
  /** Finished asynchronous invocations removed for being older than the invocation age limit. */
  readonly asyncExpired: number;
  /** Schedule runs removed for being older than the invocation age limit. */
  readonly scheduleRunsExpired: number;
}

/** Counters of what retention removed. */
export interface RetentionMetrics {
  purged(reason: 'age' | 'count', count: number): void;
  logsDropped(count: number): void;
}

/**
 * Applies a retention policy to the store's executions, in batches of at most `batchSize`
 * rows per statement. Idempotent: two sweeps at once remove nothing a single one would not.
 */
export async function sweep(
  db: Knex,
  policy: RetentionPolicy,
  batchSize: number,
  now = new Date(),
): Promise<SweepResult> {
  let expired = 0;
  const cutoff = ageCutoff(policy, now);
  if (cutoff !== undefined) {
    for (let n = batchSize; n === batchSize; expired += n)
      n = await deleteStartedBefore(db, cutoff, batchSize);
    // Purge markers live as long as executions do (the same age after their purge).
    for (let n = batchSize; n === batchSize;) n = await forgetPurgedBefore(db, cutoff, batchSize);
  }
  let overCount = 0;
  if (policy.maxExecutionsPerCronJob > 0) {
    for (const { project, cronjob } of await cronJobsOverCount(
      db,
      policy.maxExecutionsPerCronJob,
    )) {
      for (let n = batchSize; n === batchSize; overCount += n)
        n = await deleteBeyondNewest(
          db,
          project,
          cronjob,
          policy.maxExecutionsPerCronJob,
          batchSize,
        );
    }
  }
  let logsDropped = 0;
  if (policy.maxLogBytesPerProject > 0) {
    for (const { project, logBytes } of await projectsOverLogBudget(
      db,
      policy.maxLogBytesPerProject,
    )) {
      let total = logBytes;
      while (total > policy.maxLogBytesPerProject) {
        const oldest = await oldestLogs(db, project, DROPPED_LOGS_MARKER_BYTES, batchSize);
        const drop = logsToDrop(oldest, total, policy.maxLogBytesPerProject);
        if (drop.jobUids.length === 0) break;
        await replaceLogs(db, drop.jobUids, DROPPED_LOGS_MARKER);
        logsDropped += drop.jobUids.length;
        total = drop.totalAfter;
      }
    }
  }
  return {
    expired,
    overCount,
    logsDropped,
    ...(await sweepInvocations(db, policy, batchSize, now)),
  };
}

/** The invocation history's part of a sweep: age first, then the count per function. */
async function sweepInvocations(
  db: Knex,
  policy: RetentionPolicy,
  batchSize: number,
  now: Date,
): Promise<
  Pick<
    SweepResult,
    'invocationsExpired' | 'invocationsOverCount' | 'asyncExpired' | 'scheduleRunsExpired'
  >
> {
  let invocationsExpired = 0;
  let asyncExpired = 0;
  let scheduleRunsExpired = 0;
  const maxAgeDays = policy.invocationMaxAgeDays ?? DEFAULT_RETENTION.invocationMaxAgeDays;
  if (maxAgeDays > 0) {
    const cutoff = new Date(now.getTime() - maxAgeDays * 86_400_000).toISOString();
    for (let n = batchSize; n === batchSize; invocationsExpired += n)
      n = await deleteInvocationsStartedBefore(db, cutoff, batchSize);
    for (let n = batchSize; n === batchSize; asyncExpired += n)
      n = await deleteAsyncFinishedBefore(db, cutoff, batchSize);
    for (let n = batchSize; n === batchSize; scheduleRunsExpired += n)
      n = await deleteScheduleRunsBefore(db, cutoff, batchSize);
  }
  let invocationsOverCount = 0;
  const keep = policy.maxInvocationsPerFunction ?? DEFAULT_RETENTION.maxInvocationsPerFunction;
  if (keep > 0) {
    for (const fn of await functionsOverInvocationCount(db, keep)) {
      for (let n = batchSize; n === batchSize; invocationsOverCount += n)
        n = await deleteInvocationsBeyondNewest(db, fn.project, fn.function, keep, batchSize);
    }
  }
  return { invocationsExpired, invocationsOverCount, asyncExpired, scheduleRunsExpired };
}

/**
 * How much of the audit trail of agent executions the store keeps; apart from the execution
 * history's limits, since an audit is kept for longer. A limit of 0 is no limit of that kind.
 */
export interface AuditRetentionPolicy {
  /** `HKS_RETENTION_AUDIT_MAX_AGE_DAYS`: records of calls started longer ago are removed. @default 90 */
  readonly maxAgeDays: number;
  /**
   * `HKS_RETENTION_AUDIT_MAX_RECORDS_PER_PROJECT`: the newest records kept per project, so that
   * one project's agents cannot grow the store without bound.
   * @default 100000
   */
  readonly maxRecordsPerProject: number;
}

/** 90 days, a quarter, and 100,000 calls per project: a call a minute for over two months. */
export const DEFAULT_AUDIT_RETENTION: AuditRetentionPolicy = {
  maxAgeDays: 90,
  maxRecordsPerProject: 100_000,
};

/** What one sweep of the audit trail removed. */
export interface AuditSweepResult {
  /** Records removed for being older than the age limit. */
  readonly expired: number;
  /** Records removed beyond the newest N of their project. */
  readonly overCount: number;
}

/**
 * Applies the audit policy to the audit trail, in batches of at most `batchSize` rows per
 * statement. Records still `running` go by age too: their API stopped long ago.
 */
export async function sweepAuditTrail(
  db: Knex,
  policy: AuditRetentionPolicy,
  batchSize: number,
  now = new Date(),
): Promise<AuditSweepResult> {
  let expired = 0;
  const cutoff = ageCutoff(policy, now);
  if (cutoff !== undefined)
    for (let n = batchSize; n === batchSize; expired += n)
      n = await deleteAgentExecutionsBefore(db, cutoff, batchSize);
  let overCount = 0;
  if (policy.maxRecordsPerProject > 0)
    for (const project of await projectsOverAgentExecutions(db, policy.maxRecordsPerProject))
      for (let n = batchSize; n === batchSize; overCount += n)
        n = await deleteAgentExecutionsBeyond(db, project, policy.maxRecordsPerProject, batchSize);
  return { expired, overCount };
}

/** Runs {@link sweep} now and then every `intervalSeconds`, one sweep at a time. */
export class RetentionSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly db: Knex,
    private readonly policy: RetentionPolicy,
    private readonly settings: RetentionSweepSettings,
    private readonly metrics: RetentionMetrics,
    private readonly log: (message: string, fields?: Record<string, unknown>) => void,
    /** @default DEFAULT_AUDIT_RETENTION */
    private readonly audit: AuditRetentionPolicy = DEFAULT_AUDIT_RETENTION,
  ) {}

  public start(): void {
    if (this.settings.intervalSeconds === 0) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops sweeping; resolves when a sweep under way has finished its current batch loop. */
  public async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce().finally(() => {
        this.running = undefined;
        this.schedule(this.settings.intervalSeconds * 1000);
      });
    }, delayMs);
  }

  private async runOnce(): Promise<void> {
    const started = performance.now();
    try {
      const result = await sweep(this.db, this.policy, this.settings.batchSize);
      this.metrics.purged('age', result.expired);
      this.metrics.purged('count', result.overCount);
      this.metrics.logsDropped(result.logsDropped);
      if (Object.values(result).some((count) => count > 0))
        this.log('retention sweep', {
          ...result,
          durationMs: Math.round(performance.now() - started),
        });
      const audit = await sweepAuditTrail(this.db, this.audit, this.settings.batchSize);
      if (audit.expired + audit.overCount > 0)
        this.log('audit trail retention sweep', {
          ...audit,
          durationMs: Math.round(performance.now() - started),
        });
      // Ended agent sessions are the audit trail's companion: kept by its limits.
      const sessions = await sweepEndedSessions(this.db, this.audit, this.settings.batchSize);
      if (sessions.expired + sessions.overCount > 0)
        this.log('ended agent sessions retention sweep', {
          ...sessions,
          durationMs: Math.round(performance.now() - started),
        });
    } catch (error) {
      this.log('retention sweep failed; retrying at the next interval', { err: error });
    }
  }
}
