/**
 * The store's queries for the retention of the invocation history (api/retention.ts), on
 * SQLite and PostgreSQL alike. Each statement removes at most `limit` rows; the age sweep walks
 * `function_invocations_by_start`, the count sweep a function's `function_invocations_by_function`.
 */
import type { Knex } from 'knex';

const TABLE = 'function_invocations';

/** Removes up to `limit` invocations that started before `cutoff`; returns how many. */
export async function deleteInvocationsStartedBefore(
  db: Knex,
  cutoff: string,
  limit: number,
): Promise<number> {
  return db(TABLE)
    .whereIn(
      'id',
      db(TABLE).select('id').where('started_at', '<', cutoff).orderBy('started_at').limit(limit),
    )
    .delete();
}

/** The functions with more than `keep` invocations recorded. */
export async function functionsOverInvocationCount(
  db: Knex,
  keep: number,
): Promise<{ project: string; function: string }[]> {
  const rows = (await db(TABLE)
    .select('project', 'function')
    .groupBy('project', 'function')
    .havingRaw('count(*) > ?', [keep])) as Record<string, unknown>[];
  return rows.map((r) => ({ project: String(r.project), function: String(r.function) }));
}

/**
 * Removes up to `limit` invocations of one function older than its `keep` newest (in the
 * history's order: started_at, then id); returns how many.
 */
export async function deleteInvocationsBeyondNewest(
  db: Knex,
  project: string,
  name: string,
  keep: number,
  limit: number,
): Promise<number> {
  const boundary = (await db(TABLE)
    .select('started_at', 'id')
    .where({ project, function: name })
    .orderBy([
      { column: 'started_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .offset(keep - 1)
    .first()) as { started_at: string; id: string } | undefined;
  if (!boundary) return 0;
  return db(TABLE)
    .whereIn(
      'id',
      db(TABLE)
        .select('id')
        .where({ project, function: name })
        .andWhereRaw('(started_at, id) < (?, ?)', [boundary.started_at, boundary.id])
        .orderBy('started_at')
        .limit(limit),
    )
    .delete();
}
