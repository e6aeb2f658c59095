/**
 * Usage sums read from the histories (function_invocations, executions), added up in SQL on
 * SQLite and PostgreSQL alike: a range on the start time of one project (with a function or
 * a CronJob: of it), walked through the histories' `(project, [name,] started_at, …)` indexes,
 * grouped by name or by UTC day. Groups come in key order, a page at a time, the next page
 * starting after the last key (keyset paging: stable while new rows are written).
 */
import type { Knex } from 'knex';
import { NO_USAGE, UsageSums, addSums } from './usage-cost';

/** How usage is grouped. */
export const USAGE_GROUPS = ['function', 'cronjob', 'day'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

/** Which calls and runs are added up. */
export interface UsageFilter {
  readonly project: string;
  /** Start time at or after (ISO 8601, UTC as the store writes it). */
  readonly from: string;
  /** Start time before. */
  readonly to: string;
  /** Only this function's invocations (no CronJob runs). @default - every function */
  readonly function?: string;
  /** Only this CronJob's runs (no function invocations). @default - every CronJob */
  readonly cronjob?: string;
}

/** One group's sums. */
export interface UsageGroupSums {
  /** The function's or CronJob's name, or the UTC day (YYYY-MM-DD). */
  readonly key: string;
  readonly sums: UsageSums;
}

type Row = Record<string, unknown>;

/** Reads usage sums from the store. */
export class UsageQueries {
  constructor(private readonly db: Knex) {}

  /**
   * Up to `limit` groups after `after`, in key order, and whether more follow. A group by day
   * holds both the day's invocations and its CronJob runs.
   */
  public async groups(
    filter: UsageFilter,
    groupBy: UsageGroup,
    page: { limit: number; after?: string },
  ): Promise<{ groups: UsageGroupSums[]; more: boolean }> {
    const read = { ...page, limit: page.limit + 1 };
    const [invocations, runs] = await Promise.all([
      groupBy === 'cronjob' || filter.cronjob !== undefined
        ? []
        : this.invocationSums(filter, groupBy === 'day' ? 'day' : 'name', read),
      groupBy === 'function' || filter.function !== undefined
        ? []
        : this.executionSums(filter, groupBy === 'day' ? 'day' : 'name', read),
    ]);
    const merged = new Map<string, UsageSums>();
    for (const { key, sums } of [...invocations, ...runs])
      merged.set(key, addSums(merged.get(key) ?? NO_USAGE, sums));
    // Code point order, as the queries sort.
    const keys = [...merged.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      groups: keys.slice(0, page.limit).map((key) => ({ key, sums: merged.get(key) ?? NO_USAGE })),
      more: keys.length > page.limit,
    };
  }

  /** The sums of everything the filter selects, in one group. */
  public async total(filter: UsageFilter): Promise<UsageSums> {
    const [invocations, runs] = await Promise.all([
      filter.cronjob !== undefined ? [] : this.invocationSums(filter, 'all'),
      filter.function !== undefined ? [] : this.executionSums(filter, 'all'),
    ]);
    return [...invocations, ...runs].reduce((a, b) => addSums(a, b.sums), NO_USAGE);
  }

  private async invocationSums(
    filter: UsageFilter,
    by: 'name' | 'day' | 'all',
    page?: { limit: number; after?: string },
  ): Promise<UsageGroupSums[]> {
    const key = by === 'name' ? '"function"' : by === 'day' ? 'substr(started_at, 1, 10)' : "'all'";
    let query = this.db('function_invocations')
      .select(
        this.db.raw(`${key} as usage_key`),
        this.db.raw('count(*) as invocations'),
        this.db.raw('0 as executions'),
        this.db.raw('sum(duration_ms) as duration_ms'),
        this.db.raw('sum(coalesce(init_ms, 0)) as init_ms'),
        this.db.raw('count(init_ms) as cold_starts'),
        this.db.raw('sum(coalesce(cpu_millis, 0) * duration_ms) as cpu_milli_ms'),
        this.db.raw('sum(coalesce(memory_bytes, 0) * duration_ms) as memory_byte_ms'),
      )
      .where({ project: filter.project })
      .andWhere('started_at', '>=', filter.from)
      .andWhere('started_at', '<', filter.to);
    if (filter.function !== undefined) query = query.andWhere({ function: filter.function });
    return this.grouped(query, key, by, page);
  }

  private async executionSums(
    filter: UsageFilter,
    by: 'name' | 'day' | 'all',
    page?: { limit: number; after?: string },
  ): Promise<UsageGroupSums[]> {
    // Whole milliseconds between the recorded ISO times (Kubernetes gives whole seconds).
    const duration =
      this.db.client.config.client === 'pg'
        ? 'round(extract(epoch from (completed_at::timestamptz - started_at::timestamptz)) * 1000)'
        : 'round((julianday(completed_at) - julianday(started_at)) * 86400000)';
    let runs = this.db('executions')
      .select(
        'cronjob',
        'started_at',
        'cpu_millis',
        'memory_bytes',
        this.db.raw(`${duration} as run_ms`),
      )
      .where({ project: filter.project })
      .andWhere('started_at', '>=', filter.from)
      .andWhere('started_at', '<', filter.to)
      // A run still going has no duration yet: it counts once it ended.
      .whereNotNull('completed_at');
    if (filter.cronjob !== undefined) runs = runs.andWhere({ cronjob: filter.cronjob });
    const key = by === 'name' ? '"cronjob"' : by === 'day' ? 'substr(started_at, 1, 10)' : "'all'";
    const query = this.db
      .from(runs.as('runs'))
      .select(
        this.db.raw(`${key} as usage_key`),
        this.db.raw('0 as invocations'),
        this.db.raw('count(*) as executions'),
        this.db.raw('sum(run_ms) as duration_ms'),
        this.db.raw('0 as init_ms'),
        this.db.raw('0 as cold_starts'),
        this.db.raw('sum(coalesce(cpu_millis, 0) * run_ms) as cpu_milli_ms'),
        this.db.raw('sum(coalesce(memory_bytes, 0) * run_ms) as memory_byte_ms'),
      );
    return this.grouped(query, key, by, page);
  }

  /** Groups `query` by `key` (a page of keys after `page.after`), or adds all up in one row. */
  private async grouped(
    query: Knex.QueryBuilder,
    key: string,
    by: 'name' | 'day' | 'all',
    page?: { limit: number; after?: string },
  ): Promise<UsageGroupSums[]> {
    let grouped = query;
    if (by !== 'all') {
      // Keys compare by code point in both stores (PostgreSQL's default collation would not).
      const ordered = this.db.client.config.client === 'pg' ? `${key} collate "C"` : key;
      grouped = grouped
        .groupByRaw(key)
        .orderByRaw(ordered)
        .limit(page?.limit ?? 1);
      if (page?.after !== undefined) grouped = grouped.havingRaw(`${ordered} > ?`, [page.after]);
    }
    const rows = (await grouped) as Row[];
    return rows
      .filter((row) => Number(row.invocations) + Number(row.executions) > 0)
      .map((row) => ({ key: String(row.usage_key), sums: sumsOf(row) }));
  }
}

function sumsOf(row: Row): UsageSums {
  // PostgreSQL returns counts and numeric sums as strings, SQLite as numbers; null of no rows.
  const n = (value: unknown) => (value === null || value === undefined ? 0 : Number(value));
  return {
    invocations: n(row.invocations),
    executions: n(row.executions),
    durationMs: n(row.duration_ms),
    initMs: n(row.init_ms),
    coldStarts: n(row.cold_starts),
    cpuMilliMs: n(row.cpu_milli_ms),
    memoryByteMs: n(row.memory_byte_ms),
  };
}
