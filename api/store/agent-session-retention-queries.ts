/**
 * The retention of ended agent sessions (api/retention.ts), on SQLite and PostgreSQL alike: an
 * ended session's row is what answers 410 (and why) instead of 404, and the audit trail's
 * records name it, so ended rows go by the audit trail's limits. Live sessions are never
 * removed. At most `limit` rows per statement, through `agent_sessions_by_end` and
 * `agent_sessions_by_project`.
 */
import type { Knex } from 'knex';

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

/** Removes up to `limit` sessions that ended before `cutoff`; returns how many. */
export async function deleteSessionsEndedBefore(
  db: Knex,
  cutoff: string,
  limit: number,
): Promise<number> {
  return Number(
    await db(TABLE)
      .whereIn(
        'id',
        db(TABLE)
          .select('id')
          .whereNotNull('ended_at')
          .andWhere('ended_at', '<', cutoff)
          .orderBy('ended_at')
          .limit(limit),
      )
      .delete(),
  );
}

/** The projects with more than `keep` ended sessions. */
export async function projectsOverEndedSessions(db: Knex, keep: number): Promise<string[]> {
  const rows: Record<string, unknown>[] = await db(TABLE)
    .select('project')
    .whereNotNull('ended_at')
    .groupBy('project')
    .havingRaw('count(*) > ?', [keep]);
  return rows.map((r) => String(r.project));
}

/** Removes up to `limit` ended sessions of a project older than its `keep` newest ended ones. */
export async function deleteEndedSessionsBeyond(
  db: Knex,
  project: string,
  keep: number,
  limit: number,
): Promise<number> {
  const newestFirst = [
    { column: 'ended_at', order: 'desc' },
    { column: 'id', order: 'desc' },
  ] as const;
  const boundary = (await db(TABLE)
    .select('ended_at', 'id')
    .where({ project })
    .whereNotNull('ended_at')
    .orderBy([...newestFirst])
    .offset(keep - 1)
    .first()) as { ended_at: string; id: string } | undefined;
  if (!boundary) return 0;
  const older = db(TABLE)
    .select('id')
    .where({ project })
    .whereNotNull('ended_at')
    .andWhereRaw('(ended_at, id) < (?, ?)', [boundary.ended_at, boundary.id])
    .limit(limit);
  return Number(await db(TABLE).whereIn('id', older).delete());
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
