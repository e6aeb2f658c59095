import knex, { Knex } from 'knex';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ApplicationDefinition } from '../../constructs';
import {
  ExecutionFilter,
  PageRequest,
  RecentRun,
  listExecutionPage,
  recentRuns,
  toExecution,
} from './execution-queries';
import { migrationSource } from './migrations';

export { CursorError } from './execution-queries';
export type { ExecutionFilter, PageRequest, RecentRun } from './execution-queries';

/** A stored application definition. */
export interface StoredApplication {
  readonly project: string;
  readonly name: string;
  readonly kind: string;
  readonly version: number;
  readonly definition: ApplicationDefinition;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A definition whose apply started but neither finished nor was rolled back (failed or killed). */
export interface InterruptedApply {
  readonly definition: ApplicationDefinition;
  /** When that apply started (ISO time). */
  readonly since: string;
}

/** The outcome of claiming an application for an apply or a delete. */
export type ApplicationClaim =
  | {
      readonly state: 'held';
      /** The applied version. @default - none: no version was applied yet */
      readonly current?: StoredApplication;
      /** What an earlier, unfinished apply left recorded. @default - none */
      readonly interrupted?: InterruptedApply;
    }
  /** Another apply holds it until `until` (ISO time). */
  | { readonly state: 'busy'; readonly until: string }
  /** No such application (and none was asked to be created). */
  | { readonly state: 'absent' };

/** The claim of an apply expired and another took the application over. */
export class ClaimLostError extends Error {}

/**
 * Status of one Job run; `unknown` when its Job was gone before the recorder saw it end.
 */
export type ExecutionStatus = 'running' | 'succeeded' | 'failed' | 'unknown';

/**
 * Where the capture of an execution's logs stands: `pending` until the Job ends, `failed`
 * while a failed capture is being retried, `captured` once stored, `lost` when the pods (or
 * their logs) were gone before a capture succeeded.
 */
export type LogCaptureState = 'pending' | 'failed' | 'captured' | 'lost';

/** A stored Idempotency-Key of a manual trigger and the Job it created. */
export interface TriggerKey {
  readonly jobName: string;
  readonly jobUid: string;
  readonly createdAt: string;
}

/** One execution (a Job) of a CronJob. */
export interface Execution {
  /** The Job's UID. */
  readonly jobUid: string;
  readonly project: string;
  readonly cronjob: string;
  readonly jobName: string;
  readonly namespace: string;
  readonly trigger: 'scheduled' | 'manual';
  readonly status: ExecutionStatus;
  readonly startedAt: string;
  readonly completedAt?: string;
  readonly exitCode?: number;
  /**
   * Why the Job ended, as its controller says it: the reason of its `Failed` condition
   * (`BackoffLimitExceeded`, `DeadlineExceeded`, `PodFailurePolicy`...) or of its `Complete`
   * one (`CompletionsReached`...). @default - none: running, unknown, or no reason given
   */
  readonly reason?: string;
  /**
   * Why the container's last attempt ended, as the kubelet says it: its `terminated.reason`
   * (`Completed`, `Error`, `OOMKilled`...), or why it never ran (`ErrImageNeverPull`...).
   * Read with the logs. @default - none: not read yet, or no attempt has a reason
   */
  readonly terminationReason?: string;
  /**
   * How many times the container was run or is being tried: one per pod of the Job
   * (backoffLimit retries) and one per restart in a pod (`restartPolicy: OnFailure`). While
   * the Job runs, the pods its controller counts; with the logs, the pods' restarts too. It
   * never goes down. @default - none: recorded before the count was kept
   */
  readonly attempts?: number;
  readonly logs?: string;
  readonly logsTruncated: boolean;
  /** Whether the logs are final (captured, or lost for good). */
  readonly logsCaptured: boolean;
  readonly logCapture: LogCaptureState;
  /** Why the last capture failed (or the logs are lost). @default - none */
  readonly logCaptureError?: string;
  /** Failed captures so far. */
  readonly logCaptureAttempts: number;
  /** CPU the Job's pods request, in millicores (usage). @default - not known */
  readonly cpuMillis?: number;
  /** Memory the Job's pods request, in bytes (usage). @default - not known */
  readonly memoryBytes?: number;
}

/** A page of executions, newest first. */
export interface ExecutionPage<T = Execution> {
  readonly items: T[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  readonly nextCursor?: string;
}

type Row = Record<string, unknown>;

/**
 * The API's database: SQLite embedded by default, PostgreSQL for several replicas. Same
 * migrations and queries on both (knex); writes of executions are upserts keyed by Job UID.
 */
export class Store {
  /** Opens (and migrates) the database. */
  public static async open(options: { databaseUrl?: string; sqlitePath: string }): Promise<Store> {
    let config: Knex.Config;
    if (options.databaseUrl) {
      config = { client: 'pg', connection: options.databaseUrl, pool: { min: 0, max: 10 } };
    } else {
      if (options.sqlitePath !== ':memory:')
        mkdirSync(dirname(options.sqlitePath), { recursive: true });
      config = {
        client: 'better-sqlite3',
        connection: { filename: options.sqlitePath },
        useNullAsDefault: true,
        pool: {
          min: 1,
          max: 1,
          // Several processes may share the file in tests; wait for locks instead of failing.
          afterCreate: (
            conn: { pragma(s: string): void },
            done: (e: Error | null, c: unknown) => void,
          ) => {
            conn.pragma('journal_mode = WAL');
            conn.pragma('busy_timeout = 5000');
            done(null, conn);
          },
        },
      };
    }
    const db = knex(config);
    await db.migrate.latest({ migrationSource });
    return new Store(db);
  }

  private constructor(private readonly db: Knex) {}

  /** The knex instance, for modules with queries of their own (store/retention-queries.ts). */
  public get knex(): Knex {
    return this.db;
  }

  /** Whether the database answers. */
  public async ping(): Promise<void> {
    await this.db.raw('select 1');
  }

  public async close(): Promise<void> {
    await this.db.destroy();
  }

  /** The applied applications of a project (not those whose first apply has not finished). */
  public async listApplications(project: string): Promise<StoredApplication[]> {
    const rows = await this.db('applications')
      .where({ project })
      .andWhere('version', '>', 0)
      .orderBy('name');
    return rows.map(toApplication);
  }

  /** The applied version of an application. */
  public async getApplication(
    project: string,
    name: string,
  ): Promise<StoredApplication | undefined> {
    const row = await this.db('applications')
      .where({ project, name })
      .andWhere('version', '>', 0)
      .first();
    return row ? toApplication(row) : undefined;
  }

  /** What an unfinished apply of an application left recorded, if anything. */
  public async getInterruptedApply(
    project: string,
    name: string,
  ): Promise<InterruptedApply | undefined> {
    const row = await this.db('applications').where({ project, name }).first();
    return row ? interruptedOf(row) : undefined;
  }

  /**
   * Stores a definition as the next version without applying anything (imports, tests).
   * The API applies through {@link claimApplication} and {@link commitApplication}.
   */
  public async saveApplication(definition: ApplicationDefinition): Promise<StoredApplication> {
    const { project, name } = definition.metadata;
    const now = new Date().toISOString();
    return this.db.transaction(async (tx) => {
      const previous = await tx('applications').where({ project, name }).first();
      const version = previous ? Number(previous.version) + 1 : 1;
      const row = {
        project,
        name,
        kind: definition.kind,
        version,
        definition: JSON.stringify(definition),
        created_at: previous && Number(previous.version) > 0 ? previous.created_at : now,
        updated_at: now,
      };
      await tx('applications').insert(row).onConflict(['project', 'name']).merge();
      return toApplication(row);
    });
  }

  /**
   * Claims an application for one apply or delete, across every process sharing the store: a
   * conditional update takes the row when no unexpired claim holds it. With `pending`, the
   * definition to apply is recorded before anything touches the cluster, and an application
   * that does not exist yet gets a row of version 0 (which only the claim's holder can see).
   * @param owner unique to this claim
   * @param leaseMs how long the claim holds unless renewed
   */
  public async claimApplication(
    project: string,
    name: string,
    owner: string,
    leaseMs: number,
    pending?: ApplicationDefinition,
  ): Promise<ApplicationClaim> {
    const now = new Date();
    const claim = {
      apply_owner: owner,
      apply_expires_at: new Date(now.getTime() + leaseMs).toISOString(),
      ...(pending
        ? { pending_definition: JSON.stringify(pending), pending_since: now.toISOString() }
        : {}),
    };
    // Read first: the update replaces what an interrupted apply recorded.
    const before = await this.db('applications').where({ project, name }).first();
    if (before) {
      const taken = await this.db('applications')
        // Only the version read: an expired claim's holder may still commit between the read
        // and this update, and `current` must be what the new holder applies over (else two
        // creates of one name could both succeed).
        .where({ project, name, version: before.version })
        .andWhere((w) =>
          w.whereNull('apply_owner').orWhere('apply_expires_at', '<', now.toISOString()),
        )
        .update(claim);
      if (taken === 0) return { state: 'busy', until: String(before.apply_expires_at) };
      return {
        state: 'held',
        current: Number(before.version) > 0 ? toApplication(before) : undefined,
        interrupted: interruptedOf(before),
      };
    }
    if (!pending) return { state: 'absent' };
    await this.db('applications')
      .insert({
        project,
        name,
        kind: pending.kind,
        version: 0,
        definition: JSON.stringify(pending),
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
        ...claim,
      })
      .onConflict(['project', 'name'])
      .ignore();
    const row = await this.db('applications').where({ project, name }).first();
    if (row?.apply_owner === owner) return { state: 'held' };
    // Another request created it first (or it came and went): try again.
    return { state: 'busy', until: String(row?.apply_expires_at ?? now.toISOString()) };
  }

  /** Extends a claim. @returns false when the claim was lost (it expired and was taken over) */
  public async renewApplicationClaim(
    project: string,
    name: string,
    owner: string,
    leaseMs: number,
  ): Promise<boolean> {
    const renewed = await this.db('applications')
      .where({ project, name, apply_owner: owner })
      .update({ apply_expires_at: new Date(Date.now() + leaseMs).toISOString() });
    return renewed > 0;
  }

  /**
   * Stores the claimed apply's definition as the version after `current` (the claim stays
   * held, so `current` is still what is stored).
   * @throws ClaimLostError when `owner` no longer holds the claim
   */
  public async commitApplication(
    owner: string,
    definition: ApplicationDefinition,
    current?: StoredApplication,
  ): Promise<StoredApplication> {
    const { project, name } = definition.metadata;
    const now = new Date().toISOString();
    const row = {
      project,
      name,
      kind: definition.kind,
      version: (current?.version ?? 0) + 1,
      definition: JSON.stringify(definition),
      created_at: current?.createdAt ?? now,
      updated_at: now,
    };
    const updated = await this.db('applications')
      .where({ project, name, apply_owner: owner })
      .update({ ...row, pending_definition: null, pending_since: null });
    if (updated === 0)
      throw new ClaimLostError(
        `the claim on application ${JSON.stringify(name)} of project ${JSON.stringify(project)} expired and another apply took it over`,
      );
    return toApplication(row);
  }

  /**
   * Ends a claim. Unless `keepPending`, the recorded apply is cleared too, and a row whose first
   * apply never finished is removed; with it, a retry or a DELETE finds what is left to clean up.
   * @param applied whether the application has a stored version (its row stays)
   */
  public async releaseApplication(
    project: string,
    name: string,
    owner: string,
    keepPending: boolean,
    applied = false,
  ): Promise<void> {
    const held = { project, name, apply_owner: owner };
    if (!keepPending && !applied)
      await this.db('applications')
        .where({ ...held, version: 0 })
        .delete();
    await this.db('applications')
      .where(held)
      .update({
        apply_owner: null,
        apply_expires_at: null,
        ...(keepPending ? {} : { pending_definition: null, pending_since: null }),
      });
  }

  /** Removes an application's row, applied or not. */
  public async deleteApplication(project: string, name: string): Promise<void> {
    await this.db('applications').where({ project, name }).delete();
  }

  /** Inserts or updates an execution; fields left undefined keep their stored value. */
  public async upsertExecution(
    execution: Omit<
      Execution,
      'logs' | 'logsTruncated' | 'logsCaptured' | 'logCapture' | 'logCaptureAttempts'
    > &
      Partial<Execution>,
  ): Promise<void> {
    const row: Row = {
      job_uid: execution.jobUid,
      project: execution.project,
      cronjob: execution.cronjob,
      job_name: execution.jobName,
      namespace: execution.namespace,
      trigger: execution.trigger,
      status: execution.status,
      started_at: execution.startedAt,
      completed_at: execution.completedAt ?? null,
      exit_code: execution.exitCode ?? null,
      reason: execution.reason ?? null,
      termination_reason: execution.terminationReason ?? null,
      attempts: execution.attempts ?? null,
      cpu_millis: execution.cpuMillis ?? null,
      memory_bytes: execution.memoryBytes ?? null,
      updated_at: new Date().toISOString(),
    };
    // What a later event does not know (yet) keeps its stored value.
    const keptUnlessGiven = ['completed_at', 'exit_code', 'reason', 'termination_reason'];
    const merge: Row = Object.fromEntries(
      Object.entries(row).filter(
        ([k, v]) =>
          k !== 'job_uid' && k !== 'attempts' && !(v === null && keptUnlessGiven.includes(k)),
      ),
    );
    // An event may count fewer (a pod ended but not counted yet, no pod list read): never less.
    if (execution.attempts !== undefined) merge.attempts = this.atLeast(execution.attempts);
    if (execution.logsCaptured) {
      const final = {
        logs: execution.logs ?? '',
        logs_truncated: execution.logsTruncated ?? false,
        logs_captured: true,
        log_capture: execution.logCapture ?? 'captured',
        log_capture_error: execution.logCaptureError ?? null,
      };
      Object.assign(row, final);
      Object.assign(merge, final);
    }
    // Final logs are never overwritten by a later event of the same Job.
    await this.db('executions')
      .insert(row)
      .onConflict('job_uid')
      .merge(merge)
      .where('executions.logs_captured', false);
    // A purge that came between the recorder's check and this write stays a purge.
    if (await this.isPurged(execution.jobUid))
      await this.db('executions').where({ job_uid: execution.jobUid }).delete();
  }

  /**
   * Keeps the logs read of a Job that is not finished yet (its pods are being stopped), unless
   * its logs are final or longer logs were kept before (a log only grows: a shorter read is one
   * the node was removing). A capture replaces them; {@link markLost} keeps them.
   */
  public async saveEarlyLogs(jobUid: string, logs: string, truncated: boolean): Promise<void> {
    await this.db('executions')
      .where({ job_uid: jobUid, logs_captured: false })
      // length() counts characters on both SQLite and PostgreSQL, as the spread does.
      .andWhere((w) => w.whereNull('logs').orWhereRaw('length(logs) <= ?', [[...logs].length]))
      .update({ logs, logs_truncated: truncated, updated_at: new Date().toISOString() });
  }

  /**
   * Raises the attempts of an execution whose logs are not final to `attempts` (a count read
   * while its Job runs), unless more were counted before.
   */
  public async raiseAttempts(jobUid: string, attempts: number): Promise<void> {
    await this.db('executions')
      .where({ job_uid: jobUid, logs_captured: false })
      .update({ attempts: this.atLeast(attempts), updated_at: new Date().toISOString() });
  }

  /** The stored attempts or `attempts`, whichever is more (a stored null counts as none). */
  private atLeast(attempts: number): Knex.Raw {
    return this.db.raw(
      'case when coalesce(executions.attempts, -1) < cast(? as integer) then cast(? as integer) else executions.attempts end',
      [attempts, attempts],
    );
  }

  /** Marks a failed capture (to be retried); returns the number of failed attempts so far. */
  public async recordCaptureFailure(jobUid: string, error: string): Promise<number> {
    await this.db('executions')
      .where({ job_uid: jobUid, logs_captured: false })
      .update({
        log_capture: 'failed',
        log_capture_error: error,
        log_capture_attempts: this.db.raw('log_capture_attempts + 1'),
        updated_at: new Date().toISOString(),
      });
    return this.captureAttempts(jobUid);
  }

  /** Failed captures of an execution so far (0 when none or unknown). */
  public async captureAttempts(jobUid: string): Promise<number> {
    const row = await this.db('executions')
      .where({ job_uid: jobUid })
      .select('log_capture_attempts')
      .first();
    return Number(row?.log_capture_attempts ?? 0);
  }

  /**
   * Executions not final (running, or logs not captured) in namespaces starting with `prefix`
   * last written before `before`: what a recorder checks against the Jobs it listed.
   */
  public async unfinishedExecutions(
    namespacePrefix: string,
    before: string,
  ): Promise<{ jobUid: string; status: ExecutionStatus; namespace: string; jobName: string }[]> {
    const rows = await this.db('executions')
      .where((w) => w.where({ status: 'running' }).orWhere({ logs_captured: false }))
      .andWhere('updated_at', '<', before)
      .select('job_uid', 'status', 'namespace', 'job_name');
    // A prefix test in code: LIKE escapes differ between SQLite and PostgreSQL.
    return rows
      .filter((r: Row) => String(r.namespace).startsWith(namespacePrefix))
      .map((r: Row) => ({
        jobUid: String(r.job_uid),
        status: String(r.status) as ExecutionStatus,
        namespace: String(r.namespace),
        jobName: String(r.job_name),
      }));
  }

  /** Ends an execution whose Job is gone: its status (unless final) and logs are lost. */
  public async markLost(jobUid: string, reason: string): Promise<void> {
    const now = new Date().toISOString();
    // One transaction: a reader never sees the status ended but the logs still pending.
    await this.db.transaction(async (tx) => {
      await tx('executions')
        .where({ job_uid: jobUid, status: 'running' })
        .update({ status: 'unknown', updated_at: now });
      await tx('executions')
        .where({ job_uid: jobUid, logs_captured: false })
        .update({
          logs: tx.raw('coalesce(logs, ?)', ['']),
          logs_captured: true,
          log_capture: 'lost',
          log_capture_error: reason,
          updated_at: now,
        });
    });
  }

  /** Whether the execution of this Job was purged (so it must not be recorded again). */
  public async isPurged(jobUid: string): Promise<boolean> {
    return (await this.db('purged_executions').where({ job_uid: jobUid }).first()) !== undefined;
  }

  /** The Job a trigger with this key created, if it was stored at or after `since`. */
  public async getTriggerKey(
    project: string,
    cronjob: string,
    keyHash: string,
    since: string,
  ): Promise<TriggerKey | undefined> {
    const row = await this.db('trigger_keys')
      .where({ project, cronjob, key_hash: keyHash })
      .andWhere('created_at', '>=', since)
      .first();
    return row
      ? {
          jobName: String(row.job_name),
          jobUid: String(row.job_uid),
          createdAt: String(row.created_at),
        }
      : undefined;
  }

  /** Stores (or renews, when the old one expired) the Job a trigger key created. */
  public async saveTriggerKey(
    project: string,
    cronjob: string,
    keyHash: string,
    job: { jobName: string; jobUid: string },
  ): Promise<void> {
    await this.db('trigger_keys')
      .insert({
        project,
        cronjob,
        key_hash: keyHash,
        job_name: job.jobName,
        job_uid: job.jobUid,
        created_at: new Date().toISOString(),
      })
      .onConflict(['project', 'cronjob', 'key_hash'])
      .merge(['job_name', 'job_uid', 'created_at']);
  }

  /**
   * The execution of a Job of this name that started at or after `since`, if recorded: what a
   * trigger key's Job became when its key was never stored (the API died in between) and the
   * Job itself is gone (history limits).
   */
  public async findExecutionByJobName(
    project: string,
    cronjob: string,
    jobName: string,
    since: string,
  ): Promise<Execution | undefined> {
    const row = await this.db('executions')
      .where({ project, cronjob, job_name: jobName })
      .andWhere('started_at', '>=', since)
      .orderBy('started_at', 'desc')
      .first();
    return row ? toExecution(row) : undefined;
  }

  public async getExecution(
    project: string,
    cronjob: string,
    jobUid: string,
  ): Promise<Execution | undefined> {
    const row = await this.db('executions').where({ project, cronjob, job_uid: jobUid }).first();
    return row ? toExecution(row) : undefined;
  }

  /** A CronJob's executions newest first, filtered, paged by an opaque cursor. */
  public async listExecutions(
    project: string,
    cronjob: string,
    options: PageRequest & Omit<ExecutionFilter, 'project' | 'cronjob'>,
  ): Promise<ExecutionPage> {
    const { limit, cursor, ...filter } = options;
    return listExecutionPage(this.db, { ...filter, project, cronjob }, { limit, cursor });
  }

  /** The executions of every CronJob of a project (or the one named), newest first, filtered. */
  public async listProjectExecutions(
    project: string,
    options: PageRequest & Omit<ExecutionFilter, 'project'>,
  ): Promise<ExecutionPage> {
    const { limit, cursor, ...filter } = options;
    return listExecutionPage(this.db, { ...filter, project }, { limit, cursor });
  }

  /** The `count` newest runs of each of these CronJobs, newest first, read in one query. */
  public async recentRuns(
    project: string,
    cronjobs: readonly string[],
    count: number,
  ): Promise<Map<string, RecentRun[]>> {
    return recentRuns(this.db, project, cronjobs, count);
  }

  /**
   * Removes the history of a CronJob. The Job UIDs are kept as purged, so that the deletion
   * events of those Jobs (which follow the purge) do not record them again.
   */
  public async purgeExecutions(
    project: string,
    cronjob: string,
    /** Jobs of the CronJob that may not be recorded yet. @default none */
    jobUids: readonly string[] = [],
  ): Promise<number> {
    return this.db.transaction(async (tx) => {
      const rows = await tx('executions').where({ project, cronjob }).select('job_uid');
      const uids = [...new Set([...rows.map((r: Row) => String(r.job_uid)), ...jobUids])];
      const purgedAt = new Date().toISOString();
      for (let i = 0; i < uids.length; i += 200) {
        await tx('purged_executions')
          .insert(
            uids.slice(i, i + 200).map((uid) => ({
              job_uid: uid,
              project,
              cronjob,
              purged_at: purgedAt,
            })),
          )
          .onConflict('job_uid')
          .ignore();
      }
      return Number(await tx('executions').where({ project, cronjob }).delete());
    });
  }

  /** Whether an execution's logs were already captured (so a replayed event skips the pod). */
  public async logsCaptured(jobUid: string): Promise<boolean> {
    const row = await this.db('executions')
      .where({ job_uid: jobUid })
      .select('logs_captured')
      .first();
    return Boolean(row?.logs_captured);
  }
}

function toApplication(row: Row): StoredApplication {
  return {
    project: String(row.project),
    name: String(row.name),
    kind: String(row.kind),
    version: Number(row.version),
    definition: JSON.parse(String(row.definition)) as ApplicationDefinition,
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
}

function interruptedOf(row: Row): InterruptedApply | undefined {
  if (row.pending_definition === null || row.pending_definition === undefined) return undefined;
  return {
    definition: JSON.parse(String(row.pending_definition)) as ApplicationDefinition,
    since: String(row.pending_since),
  };
}
