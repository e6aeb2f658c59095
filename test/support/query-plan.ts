import type { Knex } from 'knex';

/**
 * The plan the database makes for `query`: PostgreSQL's `explain` with sequential scans priced
 * out (the test tables are small, so the plan then shows whether an index can give the page in
 * its order at all), SQLite's `explain query plan`; one line per step.
 */
export async function planOf(db: Knex, query: Knex.QueryBuilder): Promise<string> {
  const { sql, bindings } = query.toSQL();
  if (db.client.config.client === 'pg') {
    return db.transaction(async (tx) => {
      await tx.raw('set local enable_seqscan = off');
      const result = (await tx.raw(`explain ${sql}`, bindings)) as {
        rows: { 'QUERY PLAN': string }[];
      };
      return result.rows.map((r) => r['QUERY PLAN']).join('\n');
    });
  }
  const rows = (await db.raw(`explain query plan ${sql}`, bindings)) as { detail: string }[];
  return rows.map((r) => r.detail).join('\n');
}
