/**
 * The store's queries for the retention of the invocation history (api/retention.ts), on
 * SQLite and PostgreSQL alike. Each statement removes at most `limit` rows; the age sweep walks
 * `function_invocations_by_start`, the count sweep a function's `function_invocations_by_function`.
 */
import type { Knex } from 'knex';
import {
  deleteHistoryBefore,
  deleteHistoryBeyondNewest,
  type HistoryRows,
  historyGroupsOver,
} from './history-retention';

const TABLE = 'function_invocations';

const INVOCATION_ROWS: HistoryRows = { table: TABLE, time: 'started_at' };

/** Removes up to `limit` invocations that started before `cutoff`; returns how many. */
export function deleteInvocationsStartedBefore(
  db: Knex,
  cutoff: string,
  limit: number,
): Promise<number> {
  return deleteHistoryBefore(db, INVOCATION_ROWS, cutoff, limit);
}

/** The functions with more than `keep` invocations recorded. */
export function functionsOverInvocationCount(
  db: Knex,
  keep: number,
): Promise<{ project: string; function: string }[]> {
  return historyGroupsOver(db, INVOCATION_ROWS, ['project', 'function'], keep);
}

/**
 * Removes up to `limit` invocations of one function older than its `keep` newest (in the
 * history's order: started_at, then id); returns how many.
 */
export function deleteInvocationsBeyondNewest(
  db: Knex,
  project: string,
  name: string,
  keep: number,
  limit: number,
): Promise<number> {
  return deleteHistoryBeyondNewest(db, INVOCATION_ROWS, { project, function: name }, keep, limit);
}
