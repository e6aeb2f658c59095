/**
 * The store's query for the retention of finished asynchronous invocations (api/retention.ts),
 * on SQLite and PostgreSQL alike: at most `limit` rows per statement, walking
 * `async_invocations_by_finish`.
 */
import type { Knex } from 'knex';

/** States an asynchronous invocation ends in: nothing more happens to it. */
const FINISHED = ['succeeded', 'dead', 'cancelled'];

/**
 * Removes up to `limit` asynchronous invocations that finished before `cutoff` and whose
 * callback is not still being delivered; returns how many. Their Idempotency-Keys go with
 * them: the same key sent later makes a new invocation.
 */
export async function deleteAsyncFinishedBefore(
  db: Knex,
  cutoff: string,
  limit: number,
): Promise<number> {
  return db('async_invocations')
    .whereIn(
      'id',
      db('async_invocations')
        .select('id')
        .where('finished_at', '<', cutoff)
        .whereIn('state', FINISHED)
        .where((w) => w.whereNull('callback_state').orWhereNot('callback_state', 'pending'))
        .orderBy('finished_at')
        .limit(limit),
    )
    .delete();
}
