/**
 * The store's query for the retention of functions' schedule runs (api/retention.ts), on SQLite
 * and PostgreSQL alike: at most `limit` rows per statement, each found through the table's
 * primary key (project, function, schedule, scheduled_time).
 */
import type { Knex } from 'knex';

const TABLE = 'function_schedule_runs';
const KEY = ['project', 'function', 'schedule', 'scheduled_time'];

/**
 * Removes up to `limit` runs scheduled before `cutoff` that are no longer running; returns how
 * many. A schedule's newest timer run always stays, whatever its age: the scheduler counts
 * the times owed from it, so without it a monthly schedule would record every month since its
 * definition was applied as missed.
 */
export async function deleteScheduleRunsBefore(
  db: Knex,
  cutoff: string,
  limit: number,
): Promise<number> {
  const newest = db(`${TABLE} as newest`)
    .max('newest.scheduled_time')
    .whereRaw('newest.project = old.project')
    .andWhereRaw('newest.function = old.function')
    .andWhereRaw('newest.schedule = old.schedule')
    .andWhere('newest.trigger', 'timer');
  return db(TABLE)
    .whereIn(
      KEY,
      db(`${TABLE} as old`)
        .select(KEY.map((column) => `old.${column}`))
        .where('old.scheduled_time', '<', cutoff)
        .andWhereNot('old.status', 'running')
        .andWhere((w) =>
          w.whereNot('old.trigger', 'timer').orWhere('old.scheduled_time', '<', newest),
        )
        .orderBy('old.scheduled_time')
        .limit(limit),
    )
    .delete();
}
