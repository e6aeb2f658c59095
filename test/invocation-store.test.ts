import knex, { type Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import { sweep } from '../api/retention';
import {
  FunctionInvocation,
  INVOCATION_STATUSES,
  INVOCATION_TRIGGERS,
  invocationPageQuery,
  InvocationStore,
} from '../api/store/invocation-store';
import { migrationSource, migrationsUpTo } from '../api/store/migrations';
import { CursorError, Store } from '../api/store/store';
import { testStores } from './api/api-process';
import { planOf } from './support/query-plan';

jest.setTimeout(120_000);

/*
 * The invocation history in the store, on SQLite and PostgreSQL: records written once and read
 * back with every field, pages newest first with their filters and cursor, the query plans (an
 * index walked in the page's order), retention by count and age, the migration up and down.
 */

const START = Date.UTC(2026, 0, 1);

/** Invocation `i` of a function: one a second from 2026-01-01, statuses and triggers in turn. */
const invocation = (
  project: string,
  name: string,
  i: number,
  extra: Partial<FunctionInvocation> = {},
): FunctionInvocation => ({
  id: randomUUID(),
  project,
  function: name,
  trigger: i % 3 === 0 ? 'execute' : 'http',
  startedAt: new Date(START + i * 1000).toISOString(),
  durationMs: 12.5,
  status: i % 4 === 0 ? 'failed' : 'succeeded',
  httpStatus: i % 4 === 0 ? 500 : 200,
  requestBytes: 10,
  responseBytes: 20,
  ...extra,
});

/** Rows written directly in batches (the recorder's insert, one by one, is slow for many). */
async function insertMany(db: Knex, rows: readonly FunctionInvocation[]): Promise<void> {
  const records = rows.map((r) => ({
    id: r.id,
    project: r.project,
    function: r.function,
    trigger: r.trigger,
    started_at: r.startedAt,
    duration_ms: r.durationMs,
    status: r.status,
    http_status: r.httpStatus,
    request_bytes: r.requestBytes,
    response_bytes: r.responseBytes,
  }));
  for (let i = 0; i < records.length; i += 50)
    await db('function_invocations').insert(records.slice(i, i + 50));
}

const open = (env: Record<string, string>) =>
  Store.open({ databaseUrl: env.HKS_DATABASE_URL, sqlitePath: env.HKS_SQLITE_PATH ?? ':memory:' });

describe.each(testStores())('invocation history in the store ($name)', (testStore) => {
  let store: Store;
  let db: Knex;
  let invocations: InvocationStore;
  const project = 'invstore';

  beforeAll(async () => {
    store = await open(await testStore.env());
    db = store.knex;
    invocations = new InvocationStore(db);
    await insertMany(db, [
      ...Array.from({ length: 30 }, (_, i) => invocation(project, 'alpha', i * 2)),
      ...Array.from({ length: 30 }, (_, i) => invocation(project, 'beta', i * 2 + 1)),
      ...Array.from({ length: 5 }, (_, i) => invocation('invstore-other', 'alpha', i)),
    ]);
  });
  afterAll(async () => {
    await store?.close();
  });

  test('a record is read back with every field; recording the same id again keeps the first', async () => {
    const full = invocation(project, 'gamma', 1000, {
      revision: 'gamma-00002',
      tag: 'canary',
      clientRequestId: 'client-7',
      cron: '*/5 * * * *',
      scheduledTime: '2026-01-01T00:15:00.000Z',
      trigger: 'timer',
      status: 'failed',
      httpStatus: 500,
      error: { type: 'ValueError', message: 'asked to fail', stack: 'Traceback...' },
      logs: 'line 1\nline 2\n',
      durationMs: 3.7,
      requestBytes: 5_000_000_000,
    });
    await invocations.insert(full);
    await invocations.insert({ ...full, status: 'succeeded', logs: 'replaced' });
    expect(await invocations.get(project, 'gamma', full.id)).toEqual(full);
    // Another function's path does not reach it.
    expect(await invocations.get(project, 'alpha', full.id)).toBeUndefined();
    const bare = invocation(project, 'gamma', 1001, {
      status: 'unreachable',
      httpStatus: undefined,
      responseBytes: undefined,
    });
    await invocations.insert(bare);
    const read = await invocations.get(project, 'gamma', bare.id);
    expect(read).toEqual(bare);
    expect(Object.entries(read ?? {}).filter(([, v]) => v === null)).toEqual([]);
  });

  test("a function's page is newest first without logs; paging visits each once", async () => {
    const first = await invocations.list({ project, function: 'alpha' }, { limit: 3 });
    expect(first.items.map((i) => i.startedAt)).toEqual([
      '2026-01-01T00:00:58.000Z',
      '2026-01-01T00:00:56.000Z',
      '2026-01-01T00:00:54.000Z',
    ]);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await invocations.list({ project, function: 'alpha' }, { limit: 7, cursor });
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(30);
    const projectWide = await invocations.list({ project }, { limit: 100 });
    expect(projectWide.items.map((i) => i.function).filter((f) => f !== 'gamma')).toHaveLength(60);
    expect(projectWide.items.every((i) => i.logs === undefined)).toBe(true);
  });

  test('filters by status, trigger and start time (since inclusive, until exclusive)', async () => {
    const failed = await invocations.list(
      { project, function: 'alpha', status: 'failed' },
      { limit: 100 },
    );
    expect(failed.items).toHaveLength(15);
    expect(failed.items.every((i) => i.status === 'failed')).toBe(true);
    const executed = await invocations.list(
      { project, function: 'alpha', trigger: 'execute' },
      { limit: 100 },
    );
    expect(executed.items).toHaveLength(10);
    const window = await invocations.list(
      {
        project,
        function: 'beta',
        since: '2026-01-01T00:00:05.000Z',
        until: '2026-01-01T00:00:11.000Z',
      },
      { limit: 100 },
    );
    expect(window.items.map((i) => i.startedAt.slice(17, 19))).toEqual(['09', '07', '05']);
    await expect(invocations.list({ project }, { limit: 1, cursor: 'bm9wZQ' })).rejects.toThrow(
      CursorError,
    );
  });

  test('the pages walk an index in their order: no scan of the table, no sort', async () => {
    const big = 'invstore-big';
    await insertMany(
      db,
      Array.from({ length: 20 }, (_, f) =>
        Array.from({ length: 100 }, (_, i) => invocation(big, `fn-${f}`, i * 20 + f)),
      ).flat(),
    );
    const pg = db.client.config.client === 'pg';
    await db.raw(pg ? 'analyze function_invocations' : 'analyze');
    const cursor = (await invocations.list({ project: big, function: 'fn-3' }, { limit: 5 }))
      .nextCursor;
    const since = '2026-01-01T00:10:00.000Z';
    const until = '2026-01-01T00:20:00.000Z';
    const page = { limit: 20 };
    const cases: [string, Knex.QueryBuilder][] = [
      ['function', invocationPageQuery(db, { project: big, function: 'fn-3' }, page)],
      [
        'function, cursor',
        invocationPageQuery(db, { project: big, function: 'fn-3' }, { limit: 20, cursor }),
      ],
      [
        'function, status',
        invocationPageQuery(db, { project: big, function: 'fn-3', status: 'failed' }, page),
      ],
      [
        'function, trigger',
        invocationPageQuery(db, { project: big, function: 'fn-3', trigger: 'execute' }, page),
      ],
      [
        'function, status, since, until, cursor',
        invocationPageQuery(
          db,
          { project: big, function: 'fn-3', status: 'failed', since, until },
          { limit: 20, cursor },
        ),
      ],
      ['project', invocationPageQuery(db, { project: big }, page)],
      ['project, status', invocationPageQuery(db, { project: big, status: 'failed' }, page)],
      ['project, since', invocationPageQuery(db, { project: big, since }, page)],
    ];
    for (const [what, query] of cases) {
      const plan = await planOf(db, query);
      const problems = [
        !/function_invocations_by_(function|project)/.test(plan) && 'no index of invocations',
        (pg ? /Seq Scan/ : /SCAN function_invocations\b/).test(plan) && 'a scan of the table',
        (pg ? /Sort/ : /TEMP B-TREE/).test(plan) && 'a sort',
      ].filter(Boolean);
      expect({ what, problems, plan }).toEqual({ what, problems: [], plan });
    }
    console.log(
      `[invocation-store ${testStore.name}] plan of a function's failed page:\n${await planOf(db, cases[2][1])}`,
    );
  });

  test('retention keeps the newest N per function and removes those past the age', async () => {
    const kept = 'invstore-retain';
    const now = new Date(START + 10 * 86_400_000);
    await insertMany(db, [
      // 12 invocations of "many" a second apart; 3 of "old", started 9 days before now.
      ...Array.from({ length: 12 }, (_, i) =>
        invocation(kept, 'many', 0, {
          startedAt: new Date(now.getTime() - 60_000 + i * 1000).toISOString(),
        }),
      ),
      ...Array.from({ length: 3 }, (_, i) =>
        invocation(kept, 'old', 0, {
          startedAt: new Date(now.getTime() - 9 * 86_400_000 + i).toISOString(),
        }),
      ),
    ]);
    const newestFive = (await invocations.list({ project: kept, function: 'many' }, { limit: 5 }))
      .items;
    const result = await sweep(
      db,
      {
        maxExecutionsPerCronJob: 0,
        maxAgeDays: 0,
        maxLogBytesPerProject: 0,
        maxInvocationsPerFunction: 5,
        invocationMaxAgeDays: 7,
      },
      2,
      now,
    );
    const left = await invocations.list({ project: kept }, { limit: 100 });
    expect(left.items.map((i) => i.id)).toEqual(newestFive.map((i) => i.id));
    expect(result.invocationsOverCount).toBe(7);
    // Every function of the earlier tests, far older than 7 days before `now`, went by age too.
    expect(result.invocationsExpired).toBeGreaterThanOrEqual(3);
    expect(await invocations.list({ project, function: 'alpha' }, { limit: 1 })).toEqual({
      items: [],
    });
  });
});

describe.each(testStores())('migration 009_function_invocations ($name)', (testStore) => {
  test('adds the table on a store of the migration before it, and goes down again', async () => {
    const env = await testStore.env();
    const db = knex(
      env.HKS_DATABASE_URL
        ? { client: 'pg', connection: env.HKS_DATABASE_URL }
        : {
            client: 'better-sqlite3',
            connection: { filename: env.HKS_SQLITE_PATH },
            useNullAsDefault: true,
          },
    );
    // The migration before 009, whichever that is (others may be added before it).
    const names = (await migrationSource.getMigrations([])).map((m) =>
      migrationSource.getMigrationName(m),
    );
    const before = names[names.indexOf('009_function_invocations') - 1];
    try {
      await db.migrate.latest({ migrationSource: migrationsUpTo(before) });
      expect(await db.schema.hasTable('function_invocations')).toBe(false);
      await db.migrate.latest({ migrationSource });
      expect(await db.schema.hasTable('function_invocations')).toBe(true);
      expect(INVOCATION_STATUSES).toContain('client-gone');
      expect(INVOCATION_TRIGGERS).toEqual(['http', 'execute', 'timer', 'async', 'event']);
      while ((await db.migrate.currentVersion({ migrationSource })) !== before.slice(0, 3))
        await db.migrate.down({ migrationSource });
      expect(await db.schema.hasTable('function_invocations')).toBe(false);
    } finally {
      await db.destroy();
    }
  });
});
