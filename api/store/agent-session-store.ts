/**
 * The shared record of agent sessions (migration 014_agent_sessions), on SQLite and PostgreSQL
 * alike: one row per session, read by whichever API replica a call lands on. The one execution
 * at a time is a lease (`running_owner`, `running_until`) taken by a conditional update, so of
 * two replicas executing one session at once only one takes it; ending is a conditional update
 * too, so of two replicas ending one session only one deletes its function. Times are ISO
 * strings as `toISOString` writes them, so they compare as text.
 */
import type { Knex } from 'knex';

/** A session as the store holds it. */
export interface SessionRecord {
  readonly id: string;
  readonly project: string;
  readonly namespace: string;
  readonly runtime: string;
  /** The subject of the token that opened it. @default - none in the token */
  readonly createdBy?: string;
  /** The secret its function loads code with. @default - none: cleared when it ended */
  readonly secret?: string;
  readonly idleTimeoutSeconds: number;
  readonly timeoutSeconds: number;
  readonly createdAt: string;
  readonly lastUsedAt: string;
  /** When it ends unless an execute comes first: the last use plus the idle timeout. */
  readonly expiresAt: string;
  readonly executions: number;
  /** Who holds the execution lease. @default - nobody */
  readonly runningOwner?: string;
  /** Until when the lease holds, unless released first. @default - no lease */
  readonly runningUntil?: string;
  /** @default - none: live */
  readonly endedAt?: string;
  /** Why it ended, for the 410 of the next call. @default - none: live */
  readonly endedReason?: string;
}

/** What opening a session records. */
export type NewSessionRecord = Omit<
  SessionRecord,
  'executions' | 'runningOwner' | 'runningUntil' | 'endedAt' | 'endedReason'
>;

const TABLE = 'agent_sessions';

/** Longest subject kept; a longer one is cut (the audit trail keeps as much). */
const MAX_SUBJECT = 200;

type Row = Record<string, unknown>;

/** Records a session that is live from now. */
export async function insertSession(db: Knex, session: NewSessionRecord): Promise<void> {
  await db(TABLE).insert({
    id: session.id,
    project: session.project,
    namespace: session.namespace,
    runtime: session.runtime,
    created_by: session.createdBy?.replaceAll('\0', '').slice(0, MAX_SUBJECT) ?? null,
    secret: session.secret ?? null,
    idle_timeout_seconds: session.idleTimeoutSeconds,
    timeout_seconds: session.timeoutSeconds,
    created_at: session.createdAt,
    last_used_at: session.lastUsedAt,
    expires_at: session.expiresAt,
    executions: 0,
  });
}

/** The session `id`, live or ended, or undefined when there is none. */
export async function getSession(db: Knex, id: string): Promise<SessionRecord | undefined> {
  const row = (await db(TABLE).where({ id }).first()) as Row | undefined;
  return row ? toRecord(row) : undefined;
}

/** Rows of live sessions whose lease (if any) has lapsed by `now`. */
function leaseFree(query: Knex.QueryBuilder, now: string): Knex.QueryBuilder {
  return query
    .whereNull('ended_at')
    .andWhere((w) => w.whereNull('running_until').orWhere('running_until', '<', now));
}

/**
 * Takes the execution lease of a live session that is neither idle past its expiry nor leased
 * to another call, until `until`.
 * @returns whether it was taken (false: busy, ended or idle; read the record to tell)
 */
export async function claimSession(
  db: Knex,
  id: string,
  owner: string,
  until: string,
  now: string,
): Promise<boolean> {
  const updated = await leaseFree(db(TABLE).where({ id }), now)
    .andWhere('expires_at', '>=', now)
    .update({ running_owner: owner, running_until: until });
  return Number(updated) === 1;
}

/**
 * Gives the lease back (when `owner` still holds it) after an execution that ended at `now`,
 * which moves the session's expiry a whole idle timeout on.
 * @param counted whether the execution ran (a refused one is not counted)
 */
export async function releaseSession(
  db: Knex,
  session: Pick<SessionRecord, 'id' | 'idleTimeoutSeconds'>,
  owner: string,
  now: Date,
  counted: boolean,
): Promise<void> {
  const held = (column: string) =>
    db.raw(`case when running_owner = ? then null else ${column} end`, [owner]);
  await db(TABLE)
    .where({ id: session.id })
    .update({
      running_owner: held('running_owner'),
      running_until: held('running_until'),
      last_used_at: now.toISOString(),
      expires_at: new Date(now.getTime() + session.idleTimeoutSeconds * 1000).toISOString(),
      ...(counted ? { executions: db.raw('executions + 1') } : {}),
    });
}

/**
 * Ends a live session for `reason`, forgetting its secret. With `onlyIdle`, only when it is idle
 * past its expiry at `now` and no lease holds it: the idle end of whichever replica sees it first.
 * @returns whether this call ended it (false: ended already, or not idle)
 */
export async function endSession(
  db: Knex,
  id: string,
  reason: string,
  now: string,
  onlyIdle = false,
): Promise<boolean> {
  let query = db(TABLE).where({ id }).whereNull('ended_at');
  if (onlyIdle) query = leaseFree(query, now).andWhere('expires_at', '<', now);
  const updated = await query.update({ ended_at: now, ended_reason: reason, secret: null });
  return Number(updated) === 1;
}

/** Up to `limit` live sessions idle past their expiry at `now` with no lease holding them. */
export async function idleSessions(db: Knex, now: string, limit: number): Promise<SessionRecord[]> {
  const rows: Row[] = await leaseFree(db(TABLE).select('*'), now)
    .andWhere('expires_at', '<', now)
    .orderBy('expires_at')
    .limit(limit);
  return rows.map(toRecord);
}

function toRecord(row: Row): SessionRecord {
  const text = (value: unknown) =>
    value === null || value === undefined ? undefined : String(value);
  return {
    id: String(row.id),
    project: String(row.project),
    namespace: String(row.namespace),
    runtime: String(row.runtime),
    createdBy: text(row.created_by),
    secret: text(row.secret),
    idleTimeoutSeconds: Number(row.idle_timeout_seconds),
    timeoutSeconds: Number(row.timeout_seconds),
    createdAt: String(row.created_at),
    lastUsedAt: String(row.last_used_at),
    expiresAt: String(row.expires_at),
    executions: Number(row.executions),
    runningOwner: text(row.running_owner),
    runningUntil: text(row.running_until),
    endedAt: text(row.ended_at),
    endedReason: text(row.ended_reason),
  };
}
