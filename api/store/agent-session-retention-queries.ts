/**
 * The retention of ended agent sessions (api/retention.ts), on SQLite and PostgreSQL alike: an
 * ended session's row is what answers 410 (and why) instead of 404, and the audit trail's
 * records name it, so ended rows go by the audit trail's limits. Live sessions are never
 * removed. At most `limit` rows per statement, through `agent_sessions_by_end` and
 * `agent_sessions_by_project`.
 */
import type { Knex } from 'knex';
import {
  deleteHistoryBefore,
  deleteHistoryBeyondNewest,
  type HistoryRows,
  historyGroupsOver,
} from './history-retention';

const TABLE = 'agent_sessions';

/** The limits that apply, the audit trail's (a limit of 0 is no limit of that kind). */
export interface EndedSessionLimits {
  /** Sessions that ended longer ago are removed. */
  readonly maxAgeDays: number;
  /** The most recently ended sessions kept per project. */
  readonly maxRecordsPerProject: number;
}

/** What one sweep removed. */
export interface EndedSessionSweep {
  /** Ended longer ago than the age limit. */
  readonly expired: number;
  /** Beyond the newest ended ones of their project. */
  readonly overCount: number;
}

/** Ended sessions: a live one is never removed. */
const ENDED_ROWS: HistoryRows = {
  table: TABLE,
  time: 'ended_at',
  removable: (query) => query.whereNotNull('ended_at'),
};

/** Removes up to `limit` sessions that ended before `cutoff`; returns how many. */
export function deleteSessionsEndedBefore(
  db: Knex,
  cutoff: string,
  limit: number,
): Promise<number> {
  return deleteHistoryBefore(db, ENDED_ROWS, cutoff, limit);
}

/** The projects with more than `keep` ended sessions. */
export async function projectsOverEndedSessions(db: Knex, keep: number): Promise<string[]> {
  return (await historyGroupsOver(db, ENDED_ROWS, ['project'], keep)).map((g) => g.project);
}

/** Removes up to `limit` ended sessions of a project older than its `keep` newest ended ones. */
export function deleteEndedSessionsBeyond(
  db: Knex,
  project: string,
  keep: number,
  limit: number,
): Promise<number> {
  return deleteHistoryBeyondNewest(db, ENDED_ROWS, { project }, keep, limit);
}

/** Applies `limits` to the ended sessions, in batches of at most `batchSize` rows. */
export async function sweepEndedSessions(
  db: Knex,
  limits: EndedSessionLimits,
  batchSize: number,
  now = new Date(),
): Promise<EndedSessionSweep> {
  let expired = 0;
  if (limits.maxAgeDays > 0) {
    const cutoff = new Date(now.getTime() - limits.maxAgeDays * 86_400_000).toISOString();
    for (let n = batchSize; n === batchSize; expired += n)
      n = await deleteSessionsEndedBefore(db, cutoff, batchSize);
  }
  let overCount = 0;
  if (limits.maxRecordsPerProject > 0)
    for (const project of await projectsOverEndedSessions(db, limits.maxRecordsPerProject))
      for (let n = batchSize; n === batchSize; overCount += n)
        n = await deleteEndedSessionsBeyond(db, project, limits.maxRecordsPerProject, batchSize);
  return { expired, overCount };
}
