import knex, { type Knex } from 'knex';
import { performance } from 'node:perf_hooks';
import {
  CRONJOBS_PER_QUERY,
  executionPageQuery,
  recentRunsQuery,
} from '../api/store/execution-queries';
import { migrationSource, migrationsUpTo } from '../api/store/migrations';
import { CursorError, Execution, ExecutionStatus, Store } from '../api/store/store';
import { testStores } from './api/api-process';
import { planOf } from './support/query-plan';

jest.setTimeout(120_000);

/*
 * The history reads of the executions pages and the CronJob list, on SQLite and PostgreSQL:
 * filters, paging, the last runs of many CronJobs in one statement, and the query plans (an
 * index walked in the page's order, no sort of the history).
 */

type Base = Omit<
  Execution,
  'logs' | 'logsTruncated' | 'logsCaptured' | 'logCapture' | 'logCaptureAttempts'
>;

const STATUSES: ExecutionStatus[] = ['succeeded', 'failed', 'running', 'unknown'];

/** Execution `i` of a CronJob: one a minute from 2026-01-01, statuses in turn. */
const execution = (project: string, cronjob: string, i: number): Base => ({
  jobUid: `${project}-${cronjob}-${String(i).padStart(6, '0')}`,
  project,
  cronjob,
  jobName: `${cronjob}-${i}`,
  namespace: `hks-${project}`,
  trigger: i % 5 === 0 ? 'manual' : 'scheduled',
  status: STATUSES[i % STATUSES.length],
  startedAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
  completedAt:
    STATUSES[i % STATUSES.length] === 'running'
      ? undefined
      : new Date(Date.UTC(2026, 0, 1) + i * 60_000 + 1500).toISOString(),
});

/** Rows inserted directly, in batches (the recorder's upsert, one by one, is slow for many). */
async function insertExecutions(db: Knex, rows: readonly Base[]): Promise<void> {
  const now = new Date().toISOString();
  const records = rows.map((e) => ({
    job_uid: e.jobUid,
    project: e.project,
    cronjob: e.cronjob,
    job_name: e.jobName,
    namespace: e.namespace,
    trigger: e.trigger,
    status: e.status,
    started_at: e.startedAt,
    completed_at: e.completedAt ?? null,
    updated_at: now,
  }));
  // Under SQLite's 500 terms of a compound select (its multi-row insert).
  for (let i = 0; i < records.length; i += 400)
    await db('executions').insert(records.slice(i, i + 400));
}

const open = (env: Record<string, string>) =>
  Store.open({ databaseUrl: env.HKS_DATABASE_URL, sqlitePath: env.HKS_SQLITE_PATH ?? ':memory:' });

const ids = (items: readonly { jobUid: string }[]) => items.map((e) => e.jobUid);

describe.each(testStores())('execution history reads ($name)', (testStore) => {
  let store: Store;
  let db: Knex;
  const project = 'histq';

  beforeAll(async () => {
    store = await open(await testStore.env());
    db = store.knex;
    // Three CronJobs of the project, 30 runs each; another project with the same names.
    await insertExecutions(db, [
      ...['alpha', 'beta', 'gamma'].flatMap((c, k) =>
        Array.from({ length: 30 }, (_, i) => execution(project, c, i * 3 + k)),
      ),
      ...Array.from({ length: 10 }, (_, i) => execution('histq-other', 'alpha', i)),
    ]);
    if (db.client.config.client === 'pg') await db.raw('analyze executions');
  });
  afterAll(async () => {
    await store?.close();
  });

  test("a project's page holds every CronJob's executions, newest first; paging visits each once", async () => {
    const first = await store.listProjectExecutions(project, { limit: 4 });
    expect(first.items.map((e) => [e.cronjob, e.startedAt])).toEqual([
      ['gamma', '2026-01-01T01:29:00.000Z'],
      ['beta', '2026-01-01T01:28:00.000Z'],
      ['alpha', '2026-01-01T01:27:00.000Z'],
      ['gamma', '2026-01-01T01:26:00.000Z'],
    ]);
    // Not the view's logs: a page never carries them.
    expect(first.items[0].logs).toBeUndefined();
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listProjectExecutions(project, { limit: 7, cursor });
      seen.push(...ids(page.items));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(90);
    expect(new Set(seen).size).toBe(90);
    expect(seen.some((uid) => uid.startsWith('histq-other-'))).toBe(false);
  });

  test('filters by CronJob, status and start time: since inclusive, until exclusive, with the cursor', async () => {
    const beta = await store.listProjectExecutions(project, { limit: 100, cronjob: 'beta' });
    expect(beta.items).toHaveLength(30);
    expect(new Set(beta.items.map((e) => e.cronjob))).toEqual(new Set(['beta']));

    const failed = await store.listProjectExecutions(project, { limit: 100, status: 'failed' });
    expect(failed.items.length).toBeGreaterThan(0);
    expect(failed.items.every((e) => e.status === 'failed')).toBe(true);
    // i % 4 === 1 of 0..89.
    expect(failed.items).toHaveLength(23);

    const since = '2026-01-01T00:10:00.000Z';
    const until = '2026-01-01T00:20:00.000Z';
    const window = await store.listProjectExecutions(project, { limit: 100, since, until });
    expect(window.items.map((e) => e.startedAt)).toEqual(
      Array.from({ length: 10 }, (_, i) => new Date(Date.UTC(2026, 0, 1, 0, 19 - i)).toISOString()),
    );

    // Every filter at once, paged two by two.
    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listProjectExecutions(project, {
        limit: 2,
        cursor,
        cronjob: 'alpha',
        status: 'succeeded',
        since: '2026-01-01T00:00:00.000Z',
        until: '2026-01-01T01:00:00.000Z',
      });
      all.push(...page.items.map((e) => `${e.cronjob} ${e.status} ${e.startedAt}`));
      cursor = page.nextCursor;
    } while (cursor);
    // alpha is i = 3k; succeeded is i % 4 === 0: i = 0, 12, 24, 36, 48 before minute 60.
    expect(all).toEqual(
      [48, 36, 24, 12, 0].map(
        (i) => `alpha succeeded ${new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString()}`,
      ),
    );

    // The per-CronJob read takes the same time bounds.
    const alpha = await store.listExecutions(project, 'alpha', {
      limit: 100,
      until: '2026-01-01T00:09:00.000Z',
    });
    expect(alpha.items.map((e) => e.jobName)).toEqual(['alpha-6', 'alpha-3', 'alpha-0']);
    await expect(
      store.listProjectExecutions(project, { limit: 1, cursor: 'nope' }),
    ).rejects.toThrow(CursorError);
  });

  test('the last runs of many CronJobs, newest first, in one statement; a CronJob without runs has none', async () => {
    const runs = await store.recentRuns(project, ['alpha', 'beta', 'never'], 3);
    expect([...runs.keys()]).toEqual(['alpha', 'beta', 'never']);
    expect(runs.get('alpha')?.map((r) => r.startedAt)).toEqual([
      '2026-01-01T01:27:00.000Z',
      '2026-01-01T01:24:00.000Z',
      '2026-01-01T01:21:00.000Z',
    ]);
    expect(runs.get('alpha')?.[0]).toEqual({
      cronjob: 'alpha',
      jobUid: 'histq-alpha-000087',
      trigger: 'scheduled',
      status: 'unknown',
      startedAt: '2026-01-01T01:27:00.000Z',
      completedAt: '2026-01-01T01:27:01.500Z',
    });
    expect(runs.get('beta')?.map((r) => r.status)).toEqual(['succeeded', 'failed', 'running']);
    expect(runs.get('beta')?.[2].completedAt).toBeUndefined();
    expect(runs.get('never')).toEqual([]);
    // Another project's runs of a CronJob of the same name are not this one's.
    expect((await store.recentRuns('histq-other', ['alpha'], 50)).get('alpha')).toHaveLength(10);
    expect((await store.recentRuns(project, ['alpha'], 0)).get('alpha')).toEqual([]);
    // More CronJobs than one statement takes (SQLite's compound select bound) still answer.
    const many = Array.from({ length: CRONJOBS_PER_QUERY + 50 }, (_, i) => `c${i}`);
    const answered = await store.recentRuns(project, [...many, 'gamma'], 2);
    expect(answered.size).toBe(many.length + 1);
    expect(answered.get('gamma')).toHaveLength(2);
  });

  test('the reads walk an index in their order: no scan of the table, no sort', async () => {
    // A history of the size retention keeps by default (100 runs of each of 20 CronJobs), so
    // that the planners choose as they would in use.
    const big = 'histq-big';
    const cronjobs = Array.from({ length: 20 }, (_, i) => `job-${i}`);
    await insertExecutions(
      db,
      cronjobs.flatMap((c, k) =>
        Array.from({ length: 100 }, (_, i) => execution(big, c, i * 20 + k)),
      ),
    );
    await db.raw(db.client.config.client === 'pg' ? 'analyze executions' : 'analyze');
    const pg = db.client.config.client === 'pg';
    const cursor = (await store.listProjectExecutions(big, { limit: 5 })).nextCursor;
    const since = '2026-01-01T10:00:00.000Z';
    // [what, read, whether it must come in the index's order].
    const cases: [string, Knex.QueryBuilder, boolean?][] = [
      ['project', executionPageQuery(db, { project: big }, { limit: 20 })],
      ['project, cursor', executionPageQuery(db, { project: big }, { limit: 20, cursor })],
      [
        'project, status',
        executionPageQuery(db, { project: big, status: 'failed' }, { limit: 20 }),
      ],
      ['project, since', executionPageQuery(db, { project: big, since }, { limit: 20 })],
      [
        'project, status, since, until, cursor',
        executionPageQuery(
          db,
          { project: big, status: 'failed', since, until: '2026-01-02T00:00:00.000Z' },
          { limit: 20, cursor },
        ),
      ],
      [
        'cronjob, status',
        executionPageQuery(db, { project: big, cronjob: 'job-3', status: 'failed' }, { limit: 20 }),
      ],
      ['recent runs', recentRunsQuery(db, big, cronjobs, 10)],
    ];
    for (const [what, query, ordered = true] of cases) {
      const plan = await planOf(db, query);
      const problems = [
        !/executions_by_(project|project_status|cronjob|cronjob_status)\b/.test(plan) &&
          'no index of executions',
        (pg ? /Seq Scan/ : /SCAN executions\b/).test(plan) && 'a scan of the table',
        ordered && (pg ? /Sort/ : /TEMP B-TREE/).test(plan) && 'a sort',
      ].filter(Boolean);
      expect({ what, problems, plan }).toEqual({ what, problems: [], plan });
    }
  });
});

describe.each(testStores())('migration 006_execution_project_indexes ($name)', (testStore) => {
  test('adds the project indexes over rows recorded before; down removes them', async () => {
    const env = await testStore.env();
    const db = env.HKS_DATABASE_URL
      ? knex({ client: 'pg', connection: env.HKS_DATABASE_URL, pool: { min: 0, max: 2 } })
      : knex({
          client: 'better-sqlite3',
          connection: { filename: env.HKS_SQLITE_PATH },
          useNullAsDefault: true,
        });
    const indexes = async (): Promise<string[]> => {
      const rows =
        db.client.config.client === 'pg'
          ? ((
              await db.raw(
                "select indexname as name from pg_indexes where tablename = 'executions'",
              )
            ).rows as { name: string }[])
          : ((await db.raw(
              "select name from sqlite_master where type = 'index' and tbl_name = 'executions'",
            )) as {
              name: string;
            }[]);
      return rows.map((r) => r.name).filter((n) => n.startsWith('executions_by_'));
    };
    try {
      await db.migrate.latest({ migrationSource: migrationsUpTo('005_execution_reasons') });
      await insertExecutions(db, [execution('migr', 'nightly', 1)]);
      expect((await indexes()).sort()).toEqual(['executions_by_cronjob']);
      await db.migrate.latest({ migrationSource });
      expect((await indexes()).sort()).toEqual([
        'executions_by_cronjob',
        'executions_by_cronjob_status',
        'executions_by_project',
        'executions_by_project_status',
      ]);
      expect(
        ids((await executionPageQuery(db, { project: 'migr' }, { limit: 5 })).map(rowUid)),
      ).toEqual(['migr-nightly-000001']);
      // Down to 005, through the migrations that came after 006.
      while ((await db.migrate.currentVersion({ migrationSource })) !== '005')
        await db.migrate.down({ migrationSource });
      expect((await indexes()).sort()).toEqual(['executions_by_cronjob']);
    } finally {
      await db.destroy();
    }
  });
});

const rowUid = (row: Record<string, unknown>) => ({ jobUid: String(row.job_uid) });

/*
 * The figures behind the list's one statement: the UNION ALL of bounded reads against a
 * window function (row_number() per CronJob) over the project's whole history, with 20
 * CronJobs of 100 runs (the default retention) and of 1,000. Printed, not asserted.
 */
describe.each(testStores())('the last runs of 20 CronJobs: figures ($name)', (testStore) => {
  test('UNION ALL of bounded reads vs a window function', async () => {
    const store = await open(await testStore.env());
    const db = store.knex;
    const cronjobs = Array.from({ length: 20 }, (_, i) => `job-${i}`);
    const figures: string[] = [];
    try {
      let inserted = 0;
      for (const perCronJob of [100, 1000]) {
        await insertExecutions(
          db,
          cronjobs.flatMap((c) =>
            Array.from({ length: perCronJob - inserted }, (_, i) =>
              execution('bench', c, inserted + i),
            ),
          ),
        );
        inserted = perCronJob;
        if (db.client.config.client === 'pg') await db.raw('analyze executions');
        const window = () =>
          db
            .select('*')
            .from(
              db('executions')
                .select('cronjob', 'job_uid', 'status', 'started_at', 'completed_at')
                .select(
                  db.raw(
                    'row_number() over (partition by cronjob order by started_at desc, job_uid desc) as n',
                  ),
                )
                .where({ project: 'bench' })
                .whereIn('cronjob', cronjobs)
                .as('ranked'),
            )
            .where('n', '<=', 10);
        const timed = async (run: () => Promise<unknown>) => {
          for (let i = 0; i < 10; i++) await run();
          const rounds = 30;
          const start = performance.now();
          for (let i = 0; i < rounds; i++) await run();
          return ((performance.now() - start) / rounds).toFixed(2);
        };
        const union = await timed(() => store.recentRuns('bench', cronjobs, 10));
        const windowed = await timed(async () => window());
        expect(((await window()) as unknown[]).length).toBe(200);
        figures.push(
          `${perCronJob} runs per CronJob: UNION ALL ${union} ms, window function ${windowed} ms`,
        );
      }
    } finally {
      await store.close();
    }
    console.log(`the last 10 runs of 20 CronJobs (${testStore.name}):\n${figures.join('\n')}`);
  });
});
