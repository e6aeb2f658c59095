/**
 * The store's queries for retention (api/retention.ts), on SQLite and PostgreSQL alike. Each
 * write touches at most `limit` rows and never a `running` execution; ISO timestamps compare
 * as text, as the executions list orders them.
 */
import type { Knex } from 'knex';

/** Stored bytes of an execution's logs (`octet_length`: SQLite ≥ 3.43 and PostgreSQL). */
const LOG_BYTES = 'coalesce(octet_length(logs), 0)';

/**
 * Removes the executions `select` picks (job_uid, project, cronjob) and keeps their Job UIDs in
 * `purged_executions`, in one transaction, so that the recorder does not record again a Job
 * Kubernetes still has (a relist, its deletion event). Returns how many were removed.
 */
async function purge(
  db: Knex,
  select: (tx: Knex.Transaction) => Knex.QueryBuilder,
): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = (await select(tx)) as { job_uid: string; project: string; cronjob: string }[];
    if (rows.length === 0) return 0;
    const purgedAt = new Date().toISOString();
    await tx('purged_executions')
      .insert(
        rows.map((r) => ({
          job_uid: r.job_uid,
          project: r.project,
          cronjob: r.cronjob,
          purged_at: purgedAt,
        })),
      )
      .onConflict('job_uid')
      .ignore();
    return Number(
      await tx('executions')
        .whereIn(
          'job_uid',
          rows.map((r) => r.job_uid),
        )
        .whereNot('status', 'running')
        .delete(),
    );
  });
}

/** Removes up to `limit` finished executions that started before `cutoff`; returns how many. */
export async function deleteStartedBefore(
  db: Knex,
  cutoff: string,
  limit: number,
): Promise<number> {
  return purge(db, (tx) =>
    tx('executions')
      .select('job_uid', 'project', 'cronjob')
      .where('started_at', '<', cutoff)
      .whereNot('status', 'running')
      .orderBy('started_at')
      .limit(limit),
  );
}

/**
 * Forgets up to `limit` purged Job UIDs purged before `cutoff`: by then Kubernetes has
 * normally deleted those Jobs, and the list must not grow without bound. Returns how many.
 */
export async function forgetPurgedBefore(db: Knex, cutoff: string, limit: number): Promise<number> {
  return db('purged_executions')
    .whereIn(
      'job_uid',
      db('purged_executions').select('job_uid').where('purged_at', '<', cutoff).limit(limit),
    )
    .delete();
}

/** The CronJobs with more than `keep` executions. */
export async function cronJobsOverCount(
  db: Knex,
  keep: number,
): Promise<{ project: string; cronjob: string }[]> {
  const rows = await db('executions')
    .select('project', 'cronjob')
    .groupBy('project', 'cronjob')
    .havingRaw('count(*) > ?', [keep]);
  return rows.map((r: Record<string, unknown>) => ({
    project: String(r.project),
    cronjob: String(r.cronjob),
  }));
}

/**
 * Removes up to `limit` finished executions of one CronJob older than its `keep` newest (in
 * the executions list's order: started_at, then job_uid); returns how many.
 */
export async function deleteBeyondNewest(
  db: Knex,
  project: string,
  cronjob: string,
  keep: number,
  limit: number,
): Promise<number> {
  const boundary = (await db('executions')
    .select('started_at', 'job_uid')
    .where({ project, cronjob })
    .orderBy([
      { column: 'started_at', order: 'desc' },
      { column: 'job_uid', order: 'desc' },
    ])
    .offset(keep - 1)
    .first()) as { started_at: string; job_uid: string } | undefined;
  if (!boundary) return 0;
  return purge(db, (tx) =>
    tx('executions')
      .select('job_uid', 'project', 'cronjob')
      .where({ project, cronjob })
      .whereNot('status', 'running')
      .andWhere((w) =>
        w
          .where('started_at', '<', boundary.started_at)
          .orWhere((x) =>
            x
              .where('started_at', '=', boundary.started_at)
              .andWhere('job_uid', '<', boundary.job_uid),
          ),
      )
      .orderBy('started_at')
      .limit(limit),
  );
}

/** The projects whose executions hold more than `budget` bytes of logs, with their total. */
export async function projectsOverLogBudget(
  db: Knex,
  budget: number,
): Promise<{ project: string; logBytes: number }[]> {
  const rows = await db('executions')
    .select('project')
    .select(db.raw(`sum(${LOG_BYTES}) as log_bytes`))
    .groupBy('project')
    .havingRaw(`sum(${LOG_BYTES}) > ?`, [budget]);
  return rows.map((r: Record<string, unknown>) => ({
    project: String(r.project),
    logBytes: Number(r.log_bytes),
  }));
}

/** Up to `limit` finished executions of a project with more than `minBytes` of logs, oldest first. */
export async function oldestLogs(
  db: Knex,
  project: string,
  minBytes: number,
  limit: number,
): Promise<{ jobUid: string; logBytes: number }[]> {
  const rows = await db('executions')
    .select('job_uid')
    .select(db.raw(`${LOG_BYTES} as log_bytes`))
    .where({ project })
    .whereNot('status', 'running')
    .whereRaw(`${LOG_BYTES} > ?`, [minBytes])
    .orderBy([
      { column: 'started_at', order: 'asc' },
      { column: 'job_uid', order: 'asc' },
    ])
    .limit(limit);
  return rows.map((r: Record<string, unknown>) => ({
    jobUid: String(r.job_uid),
    logBytes: Number(r.log_bytes),
  }));
}

/** Replaces the logs of these (finished) executions by `marker`, marked as truncated. */
export async function replaceLogs(
  db: Knex,
  jobUids: readonly string[],
  marker: string,
): Promise<void> {
  await db('executions')
    .whereIn('job_uid', [...jobUids])
    .whereNot('status', 'running')
    .update({ logs: marker, logs_truncated: true, updated_at: new Date().toISOString() });
}
