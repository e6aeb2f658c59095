/**
 * The audit trail of agent executions (execute-once calls; later sessions), on SQLite and
 * PostgreSQL alike: one row per call, written when the call starts and completed when it ends.
 * Rows hold hashes and sizes of what was sent, never the code or the input themselves. Times
 * are ISO strings as `toISOString` writes them, so they compare as text; a project's page walks
 * `agent_executions_by_project` (or `..._by_project_status`) in its order.
 */
import type { Knex } from 'knex';
import { decodeCursor, encodeCursor } from './execution-queries';
import {
  deleteHistoryBefore,
  deleteHistoryBeyondNewest,
  type HistoryRows,
  historyGroupsOver,
} from './history-retention';

/** What kind of call a record is of. `session` is reserved for agent sessions. */
export type AgentExecutionKind = 'execute' | 'session';

/**
 * How a call ended: the execute result's status (`succeeded`, `failed`, `timeout`, `killed`); `refused`
 * for a 4xx problem (nothing ran: bad code, bad input, the cap); `error` for a 5xx problem (the
 * platform failed: not ready in time, Kubernetes unavailable); `disconnected` when the client
 * went before the answer; `running` while under way, or left by an API that stopped mid-call.
 */
export type AgentExecutionStatus =
  'running' | 'succeeded' | 'failed' | 'timeout' | 'killed' | 'refused' | 'error' | 'disconnected';

/** Every status, for query schemas. */
export const AGENT_EXECUTION_STATUSES = [
  'running',
  'succeeded',
  'failed',
  'timeout',
  'killed',
  'refused',
  'error',
  'disconnected',
] as const satisfies readonly AgentExecutionStatus[];

/** What is known of a call when it starts. */
export interface AgentExecutionStart {
  readonly kind: AgentExecutionKind;
  readonly project: string;
  /** The token's `sub`. @default - none in the token */
  readonly subject?: string;
  /** The session the call belongs to. @default - none: a call of its own */
  readonly sessionId?: string;
  /** The runtime asked for, when it is one the platform has. @default - none */
  readonly runtime?: string;
  /** SHA-256 (hex) of the code as sent, UTF-8. @default - no code sent */
  readonly codeSha256?: string;
  /** UTF-8 bytes of the code. @default - no code sent */
  readonly codeBytes?: number;
  /** UTF-8 bytes of the input's JSON, as the function receives it. @default - not measurable */
  readonly inputBytes?: number;
  /** The client's `X-Request-Id`. @default - none sent */
  readonly requestId?: string;
}

/** What is known of a call when it ends. */
export interface AgentExecutionEnd {
  readonly status: Exclude<AgentExecutionStatus, 'running'>;
  /** The HTTP status answered. @default - none: the client went first */
  readonly httpStatus?: number;
  /** Milliseconds from the call's start to its answer (or to its end, client gone). */
  readonly durationMs: number;
  /** UTF-8 bytes of the body answered. @default - nothing answered */
  readonly outputBytes?: number;
  /**
   * The problem's title (refused, error) or the error's type (failed, timeout), never a
   * message, which may quote the code or the input. @default - none
   */
  readonly errorTitle?: string;
  /** The id the execute result names (its temporary function). @default - none: no result */
  readonly executionId?: string;
}

/** One audited call. */
export interface AgentExecutionRecord
  extends AgentExecutionStart, Partial<Omit<AgentExecutionEnd, 'status'>> {
  readonly id: string;
  readonly status: AgentExecutionStatus;
  readonly startedAt: string;
  /** @default - none: still running */
  readonly completedAt?: string;
}

/** Which records a page holds. */
export interface AgentExecutionFilter {
  readonly project: string;
  /** @default - every status */
  readonly status?: AgentExecutionStatus;
  /** The token subject. @default - every caller */
  readonly subject?: string;
  /** @default - every kind */
  readonly kind?: AgentExecutionKind;
  /** Started at or after this instant (ISO). @default - no bound */
  readonly since?: string;
  /** Started before this instant (ISO). @default - no bound */
  readonly until?: string;
}

/** A page of records, newest first. */
export interface AgentExecutionPage {
  readonly items: AgentExecutionRecord[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  readonly nextCursor?: string;
}

/** Longest text kept of a title, a request id or a subject; longer ones are cut. */
export const MAX_AUDIT_TEXT = 200;

const TABLE = 'agent_executions';

type Row = Record<string, unknown>;

/** Writes a record of a call that starts now, `running`. */
export async function insertAgentExecution(
  db: Knex,
  id: string,
  start: AgentExecutionStart,
  startedAt: string,
): Promise<void> {
  await db(TABLE).insert({
    id,
    kind: start.kind,
    session_id: start.sessionId ?? null,
    project: start.project,
    subject: cut(start.subject),
    started_at: startedAt,
    status: 'running',
    runtime: start.runtime ?? null,
    code_sha256: start.codeSha256 ?? null,
    code_bytes: start.codeBytes ?? null,
    input_bytes: start.inputBytes ?? null,
    request_id: cut(start.requestId),
  });
}

/** Completes the record of a call; a record completed already stays as it was. */
export async function completeAgentExecution(
  db: Knex,
  id: string,
  end: AgentExecutionEnd,
  completedAt: string,
): Promise<void> {
  await db(TABLE)
    .where({ id, status: 'running' })
    .update({
      status: end.status,
      completed_at: completedAt,
      http_status: end.httpStatus ?? null,
      duration_ms: Math.round(end.durationMs),
      output_bytes: end.outputBytes ?? null,
      error_title: cut(end.errorTitle),
      execution_id: end.executionId ?? null,
    });
}

const NEWEST_FIRST = [
  { column: 'started_at', order: 'desc' },
  { column: 'id', order: 'desc' },
] as const;

/** A page of a project's records, newest first (a row more than `limit` is read). */
export async function listAgentExecutions(
  db: Knex,
  filter: AgentExecutionFilter,
  page: { readonly limit: number; readonly cursor?: string },
): Promise<AgentExecutionPage> {
  let query = db(TABLE)
    .select('*')
    .where({ project: filter.project })
    .orderBy([...NEWEST_FIRST])
    .limit(page.limit + 1);
  for (const [column, value] of [
    ['status', filter.status],
    ['subject', filter.subject],
    ['kind', filter.kind],
  ] as const)
    if (value !== undefined) query = query.andWhere(column, value);
  if (filter.since !== undefined) query = query.andWhere('started_at', '>=', filter.since);
  if (filter.until !== undefined) query = query.andWhere('started_at', '<', filter.until);
  if (page.cursor !== undefined) {
    const [startedAt, id] = decodeCursor(page.cursor);
    query = query.andWhereRaw('(started_at, id) < (?, ?)', [startedAt, id]);
  }
  const rows: Row[] = await query;
  const items = rows.slice(0, page.limit).map(toRecord);
  const last = items[items.length - 1];
  return {
    items,
    nextCursor:
      rows.length > page.limit && last ? encodeCursor(last.startedAt, last.id) : undefined,
  };
}

const AUDIT_ROWS: HistoryRows = { table: TABLE, time: 'started_at' };

/** Removes up to `limit` records that started before `cutoff`; returns how many. */
export function deleteAgentExecutionsBefore(
  db: Knex,
  cutoff: string,
  limit: number,
): Promise<number> {
  return deleteHistoryBefore(db, AUDIT_ROWS, cutoff, limit);
}

/** The projects with more than `keep` records. */
export async function projectsOverAgentExecutions(db: Knex, keep: number): Promise<string[]> {
  return (await historyGroupsOver(db, AUDIT_ROWS, ['project'], keep)).map((g) => g.project);
}

/**
 * Removes up to `limit` records of a project older than its `keep` newest (in the list's
 * order); returns how many.
 */
export function deleteAgentExecutionsBeyond(
  db: Knex,
  project: string,
  keep: number,
  limit: number,
): Promise<number> {
  return deleteHistoryBeyondNewest(db, AUDIT_ROWS, { project }, keep, limit);
}

/** At most {@link MAX_AUDIT_TEXT} characters, without NUL (PostgreSQL's text refuses it). */
function cut(text: string | undefined): string | null {
  return text === undefined ? null : text.replaceAll('\0', '').slice(0, MAX_AUDIT_TEXT);
}

function toRecord(row: Row): AgentExecutionRecord {
  const text = (value: unknown) =>
    value === null || value === undefined ? undefined : String(value);
  const count = (value: unknown) =>
    value === null || value === undefined ? undefined : Number(value);
  return {
    id: String(row.id),
    kind: String(row.kind) as AgentExecutionKind,
    sessionId: text(row.session_id),
    project: String(row.project),
    subject: text(row.subject),
    startedAt: String(row.started_at),
    completedAt: text(row.completed_at),
    status: String(row.status) as AgentExecutionStatus,
    runtime: text(row.runtime),
    codeSha256: text(row.code_sha256),
    codeBytes: count(row.code_bytes),
    inputBytes: count(row.input_bytes),
    outputBytes: count(row.output_bytes),
    httpStatus: count(row.http_status),
    durationMs: count(row.duration_ms),
    errorTitle: text(row.error_title),
    requestId: text(row.request_id),
    executionId: text(row.execution_id),
  };
}
