/**
 * The store's reads of execution history, on SQLite and PostgreSQL alike: filtered pages
 * newest first (per CronJob or per project) and the last runs of several CronJobs at once.
 * Times are ISO strings as `toISOString` writes them, so they compare as text; every read
 * walks an index in its order (migrations 001 and 006), never a sort of the whole history.
 */
import type { Knex } from 'knex';
import type { Execution, ExecutionPage, ExecutionStatus, LogCaptureState } from './store';

type Row = Record<string, unknown>;

/** Which executions a page holds. */
export interface ExecutionFilter {
  readonly project: string;
  /** Only this CronJob's. @default - every CronJob of the project */
  readonly cronjob?: string;
  /** Only executions in this status. @default - all */
  readonly status?: ExecutionStatus;
  /** Only executions that started at or after this instant (ISO 8601). @default - no bound */
  readonly since?: string;
  /** Only executions that started before this instant (ISO 8601). @default - no bound */
  readonly until?: string;
}

/** One page's size and position. */
export interface PageRequest {
  readonly limit: number;
  /** `nextCursor` of the previous page. @default - the first page */
  readonly cursor?: string;
}

/** Thrown for a malformed cursor. */
export class CursorError extends Error {}

/** The columns of an execution but its logs (a page never carries them). */
const LISTED_COLUMNS = [
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
  'reason',
  'termination_reason',
  'attempts',
  'logs_truncated',
  'logs_captured',
  'log_capture',
  'log_capture_error',
  'log_capture_attempts',
  'cpu_millis',
  'memory_bytes',
];

/** Newest first; the Job UID orders executions that started in the same millisecond. */
const NEWEST_FIRST = [
  { column: 'started_at', order: 'desc' },
  { column: 'job_uid', order: 'desc' },
] as const;

/**
 * The read of one page (a row more than `limit`, to know whether another follows), newest
 * first. Project-wide it walks `executions_by_project` (or `executions_by_project_status` with
 * a status), a CronJob's `executions_by_cronjob`; the time bounds and the cursor are ranges on
 * the index's `started_at, job_uid`.
 */
export function executionPageQuery(
  db: Knex,
  filter: ExecutionFilter,
  page: PageRequest,
): Knex.QueryBuilder {
  let query = db('executions')
    .select(LISTED_COLUMNS)
    .where({ project: filter.project })
    .orderBy([...NEWEST_FIRST])
    .limit(page.limit + 1);
  if (filter.cronjob !== undefined) query = query.andWhere({ cronjob: filter.cronjob });
  if (filter.status !== undefined) query = query.andWhere({ status: filter.status });
  if (filter.since !== undefined) query = query.andWhere('started_at', '>=', filter.since);
  if (filter.until !== undefined) query = query.andWhere('started_at', '<', filter.until);
  if (page.cursor !== undefined) {
    const [startedAt, jobUid] = decodeCursor(page.cursor);
    // A row value: one range on the index on both SQLite and PostgreSQL.
    query = query.andWhereRaw('(started_at, job_uid) < (?, ?)', [startedAt, jobUid]);
  }
  return query;
}

/** A page of executions, newest first (see {@link executionPageQuery}). */
export async function listExecutionPage(
  db: Knex,
  filter: ExecutionFilter,
  page: PageRequest,
): Promise<ExecutionPage> {
  const rows: Row[] = await executionPageQuery(db, filter, page);
  const items = rows.slice(0, page.limit).map(toExecution);
  const last = items[items.length - 1];
  return {
    items,
    nextCursor:
      rows.length > page.limit && last ? encodeCursor(last.startedAt, last.jobUid) : undefined,
  };
}

/** One run in a CronJob's list of last runs. */
export interface RecentRun {
  readonly cronjob: string;
  readonly jobUid: string;
  readonly trigger: Execution['trigger'];
  readonly status: ExecutionStatus;
  readonly startedAt: string;
  readonly completedAt?: string;
}

/** CronJobs per statement: SQLite allows 500 terms in a compound select. */
export const CRONJOBS_PER_QUERY = 200;

/**
 * The read of the `count` newest runs of each of `cronjobs` (at most
 * {@link CRONJOBS_PER_QUERY}): one bounded walk of `executions_by_cronjob` per CronJob, joined
 * with UNION ALL, so a CronJob with a long history costs `count` rows, not its history.
 */
export function recentRunsQuery(
  db: Knex,
  project: string,
  cronjobs: readonly string[],
  count: number,
): Knex.QueryBuilder {
  const [first, ...rest] = cronjobs.map((cronjob) =>
    // Each part wrapped: SQLite takes ORDER BY and LIMIT only on a compound's last term.
    db.select('*').from(
      db('executions')
        .select('cronjob', 'job_uid', 'trigger', 'status', 'started_at', 'completed_at')
        .where({ project, cronjob })
        .orderBy([...NEWEST_FIRST])
        .limit(count)
        .as('runs'),
    ),
  );
  if (!first) throw new Error('recentRunsQuery needs at least one CronJob');
  return rest.length > 0 ? first.unionAll(rest) : first;
}

/**
 * The `count` newest runs of each of `cronjobs`, newest first, by CronJob: one statement per
 * {@link CRONJOBS_PER_QUERY} CronJobs (see {@link recentRunsQuery}).
 */
export async function recentRuns(
  db: Knex,
  project: string,
  cronjobs: readonly string[],
  count: number,
): Promise<Map<string, RecentRun[]>> {
  const runs = new Map<string, RecentRun[]>(cronjobs.map((c) => [c, []]));
  if (count === 0) return runs;
  for (let i = 0; i < cronjobs.length; i += CRONJOBS_PER_QUERY) {
    const rows: Row[] = await recentRunsQuery(
      db,
      project,
      cronjobs.slice(i, i + CRONJOBS_PER_QUERY),
      count,
    );
    for (const row of rows) runs.get(String(row.cronjob))?.push(toRecentRun(row));
  }
  // UNION ALL keeps no order across its parts.
  for (const list of runs.values()) list.sort((a, b) => newestFirst(a, b));
  return runs;
}

function newestFirst(a: RecentRun, b: RecentRun): number {
  const [x, y] = [`${a.startedAt} ${a.jobUid}`, `${b.startedAt} ${b.jobUid}`];
  return x < y ? 1 : x > y ? -1 : 0;
}

function toRecentRun(row: Row): RecentRun {
  return {
    cronjob: String(row.cronjob),
    jobUid: String(row.job_uid),
    trigger: row.trigger === 'manual' ? 'manual' : 'scheduled',
    status: String(row.status) as ExecutionStatus,
    startedAt: String(row.started_at),
    completedAt: optionalString(row.completed_at),
  };
}

/** A page's cursor: the start time and id of its last row. */
export function encodeCursor(startedAt: string, jobUid: string): string {
  return Buffer.from(JSON.stringify([startedAt, jobUid])).toString('base64url');
}

/** @throws CursorError for anything {@link encodeCursor} did not write */
export function decodeCursor(cursor: string): [string, string] {
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

/** An execution from its row (`logs` absent when the row was read without them). */
export function toExecution(row: Row): Execution {
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
    reason: optionalString(row.reason),
    terminationReason: optionalString(row.termination_reason),
    attempts:
      row.attempts === null || row.attempts === undefined ? undefined : Number(row.attempts),
    logs: optionalString(row.logs),
    logsTruncated: Boolean(row.logs_truncated),
    logsCaptured: Boolean(row.logs_captured),
    logCapture: (row.log_capture ?? 'pending') as LogCaptureState,
    logCaptureError: optionalString(row.log_capture_error),
    logCaptureAttempts: Number(row.log_capture_attempts ?? 0),
    cpuMillis: optionalNumber(row.cpu_millis),
    memoryBytes: optionalNumber(row.memory_bytes),
  };
}

function optionalNumber(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

function optionalString(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}
