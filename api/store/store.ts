import knex, { Knex } from 'knex';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ApplicationDefinition } from '../../constructs';
import { migrationSource } from './migrations';

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

/** Status of one Job run. */
export type ExecutionStatus = 'running' | 'succeeded' | 'failed';

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
  readonly logs?: string;
  readonly logsTruncated: boolean;
  readonly logsCaptured: boolean;
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

  /** Whether the database answers. */
  public async ping(): Promise<void> {
    await this.db.raw('select 1');
  }

  public async close(): Promise<void> {
    await this.db.destroy();
  }

  public async listApplications(project: string): Promise<StoredApplication[]> {
    const rows = await this.db('applications').where({ project }).orderBy('name');
    return rows.map(toApplication);
  }

  public async getApplication(
    project: string,
    name: string,
  ): Promise<StoredApplication | undefined> {
    const row = await this.db('applications').where({ project, name }).first();
    return row ? toApplication(row) : undefined;
  }

  /** Stores a definition, one version above the previous. */
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
        created_at: previous?.created_at ?? now,
        updated_at: now,
      };
      await tx('applications').insert(row).onConflict(['project', 'name']).merge();
      return toApplication(row);
    });
  }

  public async deleteApplication(project: string, name: string): Promise<void> {
    await this.db('applications').where({ project, name }).delete();
  }

  /** Inserts or updates an execution; fields left undefined keep their stored value. */
  public async upsertExecution(
    execution: Omit<Execution, 'logs' | 'logsTruncated' | 'logsCaptured'> & Partial<Execution>,
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
      updated_at: new Date().toISOString(),
    };
    const merge = Object.keys(row).filter(
      (k) => k !== 'job_uid' && !(row[k] === null && (k === 'completed_at' || k === 'exit_code')),
    );
    if (execution.logsCaptured) {
      Object.assign(row, {
        logs: execution.logs ?? '',
        logs_truncated: execution.logsTruncated ?? false,
        logs_captured: true,
      });
      merge.push('logs', 'logs_truncated', 'logs_captured');
    }
    await this.db('executions').insert(row).onConflict('job_uid').merge(merge);
  }

  public async getExecution(
    project: string,
    cronjob: string,
    jobUid: string,
  ): Promise<Execution | undefined> {
    const row = await this.db('executions').where({ project, cronjob, job_uid: jobUid }).first();
    return row ? toExecution(row) : undefined;
  }

  /** Executions newest first, paged by an opaque cursor. */
  public async listExecutions(
    project: string,
    cronjob: string,
    options: { limit: number; cursor?: string; status?: ExecutionStatus },
  ): Promise<ExecutionPage> {
    let query = this.db('executions')
      .where({ project, cronjob })
      .select(
        'job_uid',
        'project',
        'cronjob',
        'job_name',
        'namespace',
        'trigger',
        'status',
        'started_at',
        'completed_at',
        'exit_code',
        'logs_truncated',
        'logs_captured',
      )
      .orderBy([
        { column: 'started_at', order: 'desc' },
        { column: 'job_uid', order: 'desc' },
      ])
      .limit(options.limit + 1);
    if (options.status) query = query.andWhere({ status: options.status });
    if (options.cursor) {
      const [startedAt, jobUid] = decodeCursor(options.cursor);
      query = query.andWhere((w) =>
        w
          .where('started_at', '<', startedAt)
          .orWhere((x) => x.where('started_at', '=', startedAt).andWhere('job_uid', '<', jobUid)),
      );
    }
    const rows = await query;
    const items = rows.slice(0, options.limit).map(toExecution);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor:
        rows.length > options.limit && last ? encodeCursor(last.startedAt, last.jobUid) : undefined,
    };
  }

  /** Removes the history of a CronJob. */
  public async purgeExecutions(project: string, cronjob: string): Promise<number> {
    return this.db('executions').where({ project, cronjob }).delete();
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

/** Thrown for a malformed cursor. */
export class CursorError extends Error {}

function encodeCursor(startedAt: string, jobUid: string): string {
  return Buffer.from(JSON.stringify([startedAt, jobUid])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string'))
      return value as [string, string];
  } catch {
    // fall through
  }
  throw new CursorError(
    `given ${JSON.stringify(cursor)}, expected a cursor returned as nextCursor by a previous page`,
  );
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

function toExecution(row: Row): Execution {
  return {
    jobUid: String(row.job_uid),
    project: String(row.project),
    cronjob: String(row.cronjob),
    jobName: String(row.job_name),
    namespace: String(row.namespace),
    trigger: row.trigger === 'manual' ? 'manual' : 'scheduled',
    status: String(row.status) as ExecutionStatus,
    startedAt: String(row.started_at),
    completedAt: row.completed_at ? String(row.completed_at) : undefined,
    exitCode:
      row.exit_code === null || row.exit_code === undefined ? undefined : Number(row.exit_code),
    logs: row.logs === null || row.logs === undefined ? undefined : String(row.logs),
    logsTruncated: Boolean(row.logs_truncated),
    logsCaptured: Boolean(row.logs_captured),
  };
}
