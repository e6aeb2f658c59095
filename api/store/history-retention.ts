/**
 * Age and count retention of a history table whose rows have an `id` and a time column, on
 * SQLite and PostgreSQL alike: the agent audit trail, ended agent sessions, function
 * invocations. Each statement removes at most `limit` rows, picked through the time index in
 * the history's order (newest first: time, then id). The executions' retention
 * (retention-queries.ts) differs: it keeps the purged Job UIDs and never removes a running one.
 */
import type { Knex } from 'knex';

/** A history table as retention sees it. */
export interface HistoryRows {
  readonly table: string;
  /** The column rows are ordered by and aged on (ISO timestamps compare as text). */
  readonly time: string;
  /** Narrows to the rows retention may remove (ended sessions only, say). @default - every row */
  readonly removable?: (query: Knex.QueryBuilder) => Knex.QueryBuilder;
}

function removableRows(db: Knex, rows: HistoryRows): Knex.QueryBuilder {
  const query = db(rows.table);
  return rows.removable ? rows.removable(query) : query;
}

/** Removes up to `limit` rows whose time is before `cutoff`; returns how many. */
export async function deleteHistoryBefore(
  db: Knex,
  rows: HistoryRows,
  cutoff: string,
  limit: number,
): Promise<number> {
  const older = removableRows(db, rows)
    .select('id')
    .where(rows.time, '<', cutoff)
    .orderBy(rows.time)
    .limit(limit);
  return Number(await db(rows.table).whereIn('id', older).delete());
}

/** The groups (values of `columns`: a project, a project's function) with more than `keep` rows. */
export async function historyGroupsOver<C extends string>(
  db: Knex,
  rows: HistoryRows,
  columns: readonly C[],
  keep: number,
): Promise<Record<C, string>[]> {
  const found = (await removableRows(db, rows)
    .select(...columns)
    .groupBy(...columns)
    .havingRaw('count(*) > ?', [keep])) as Record<string, unknown>[];
  return found.map(
    (row) =>
      Object.fromEntries(columns.map((column) => [column, String(row[column])])) as Record<
        C,
        string
      >,
  );
}

/**
 * Removes up to `limit` rows of one group older than its `keep` newest (in the history's
 * order); returns how many.
 */
export async function deleteHistoryBeyondNewest(
  db: Knex,
  rows: HistoryRows,
  group: Readonly<Record<string, string>>,
  keep: number,
  limit: number,
): Promise<number> {
  const boundary = (await removableRows(db, rows)
    .select(rows.time, 'id')
    .where(group)
    .orderBy([
      { column: rows.time, order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .offset(keep - 1)
    .first()) as Record<string, string> | undefined;
  if (!boundary) return 0;
  const older = removableRows(db, rows)
    .select('id')
    .where(group)
    .andWhereRaw(`(??, id) < (?, ?)`, [rows.time, boundary[rows.time], boundary.id])
    .orderBy(rows.time)
    .limit(limit);
  return Number(await db(rows.table).whereIn('id', older).delete());
}
