import knex, { type Knex } from 'knex';
import { migrationSource, migrationsUpTo } from '../api/store/migrations';
import { Execution, Store } from '../api/store/store';
import { testStores } from './api/api-process';
import { earlyExecutionRow } from './support/execution-rows';

/** The execution fields the recorder writes when a Job event arrives (before its logs). */
type Base = Omit<
  Execution,
  'logs' | 'logsTruncated' | 'logsCaptured' | 'logCapture' | 'logCaptureAttempts'
>;

const base = (jobUid: string, fields: Partial<Base> = {}): Base => ({
  jobUid,
  project: 'reasons',
  cronjob: 'nightly',
  jobName: `nightly-${jobUid}`,
  namespace: 'hks-reasons',
  trigger: 'manual',
  status: 'running',
  startedAt: '2026-01-01T00:00:00.000Z',
  ...fields,
});

/** knex on the store's database, without Store's migrations (to migrate step by step). */
function rawKnex(env: Record<string, string>): Knex {
  return env.HKS_DATABASE_URL
    ? knex({ client: 'pg', connection: env.HKS_DATABASE_URL, pool: { min: 0, max: 2 } })
    : knex({
        client: 'better-sqlite3',
        connection: { filename: env.HKS_SQLITE_PATH },
        useNullAsDefault: true,
      });
}

const open = (env: Record<string, string>) =>
  Store.open({ databaseUrl: env.HKS_DATABASE_URL, sqlitePath: env.HKS_SQLITE_PATH ?? ':memory:' });

describe.each(testStores())('the reasons an execution ended, stored ($name)', (testStore) => {
  let env: Record<string, string>;
  let store: Store;
  beforeEach(async () => {
    env = await testStore.env();
    store = await open(env);
  });
  afterEach(async () => {
    await store.close();
  });

  test('the Job reason and the termination reason are kept, listed and read back', async () => {
    await store.upsertExecution(base('a'));
    expect(await store.getExecution('reasons', 'nightly', 'a')).toMatchObject({
      status: 'running',
      reason: undefined,
      terminationReason: undefined,
    });
    // The Job ended: its condition's reason comes with the status, before the logs.
    await store.upsertExecution(
      base('a', {
        status: 'failed',
        completedAt: '2026-01-01T00:00:05.000Z',
        reason: 'BackoffLimitExceeded',
      }),
    );
    // A replayed event that knows no reason leaves the stored one.
    await store.upsertExecution(base('a', { status: 'failed' }));
    expect((await store.getExecution('reasons', 'nightly', 'a'))?.reason).toBe(
      'BackoffLimitExceeded',
    );
    // The capture adds the container's reason with the exit code and the logs.
    await store.upsertExecution({
      ...base('a', { status: 'failed', reason: 'BackoffLimitExceeded' }),
      exitCode: 137,
      terminationReason: 'OOMKilled',
      logs: 'allocating\n',
      logsTruncated: false,
      logsCaptured: true,
      logCapture: 'captured',
    });
    // Final: a later event does not change it.
    await store.upsertExecution(base('a', { status: 'failed', reason: 'Other' }));
    const stored = await store.getExecution('reasons', 'nightly', 'a');
    expect(stored).toMatchObject({
      status: 'failed',
      exitCode: 137,
      reason: 'BackoffLimitExceeded',
      terminationReason: 'OOMKilled',
      logs: 'allocating\n',
    });
    const page = await store.listExecutions('reasons', 'nightly', { limit: 10 });
    expect(page.items).toEqual([
      expect.objectContaining({
        jobUid: 'a',
        reason: 'BackoffLimitExceeded',
        terminationReason: 'OOMKilled',
      }),
    ]);
  });

  test('an execution whose logs are lost keeps the Job reason it was recorded with', async () => {
    await store.upsertExecution(base('b', { status: 'failed', reason: 'DeadlineExceeded' }));
    await store.markLost('b', 'the pods of the Job were gone before its logs were captured');
    expect(await store.getExecution('reasons', 'nightly', 'b')).toMatchObject({
      status: 'failed',
      reason: 'DeadlineExceeded',
      terminationReason: undefined,
      logCapture: 'lost',
    });
  });
});

describe.each(testStores())('logs read before a Job ended ($name)', (testStore) => {
  test('are kept when its pods are gone by then, and replaced by a capture', async () => {
    const store = await open(await testStore.env());
    try {
      await store.upsertExecution(base('early'));
      await store.saveEarlyLogs('early', 'start', false);
      await store.saveEarlyLogs('early', 'started\n', false);
      // A shorter read (the node removing the log) does not replace a longer one.
      await store.saveEarlyLogs('early', '', false);
      // Further events of the Job (status only) leave them.
      await store.upsertExecution(base('early', { reason: undefined }));
      await store.upsertExecution(base('early', { status: 'failed', reason: 'DeadlineExceeded' }));
      await store.markLost('early', 'the pods were gone');
      expect(await store.getExecution('reasons', 'nightly', 'early')).toMatchObject({
        status: 'failed',
        reason: 'DeadlineExceeded',
        logs: 'started\n',
        logsCaptured: true,
        logCapture: 'lost',
        logCaptureError: 'the pods were gone',
      });
      // Final logs are not replaced by a late early read.
      await store.saveEarlyLogs('early', 'later\n', false);
      expect((await store.getExecution('reasons', 'nightly', 'early'))?.logs).toBe('started\n');

      await store.upsertExecution(base('captured'));
      await store.saveEarlyLogs('captured', 'started\n', false);
      await store.upsertExecution({
        ...base('captured', { status: 'failed' }),
        logs: 'started\nstopping\n',
        logsTruncated: false,
        logsCaptured: true,
        logCapture: 'captured',
      });
      expect((await store.getExecution('reasons', 'nightly', 'captured'))?.logs).toBe(
        'started\nstopping\n',
      );
    } finally {
      await store.close();
    }
  });
});

describe.each(testStores())('migration 005_execution_reasons ($name)', (testStore) => {
  test('rows recorded before it stay readable, without reasons; down removes the columns', async () => {
    const env = await testStore.env();
    const db = rawKnex(env);
    try {
      await db.migrate.latest({ migrationSource: migrationsUpTo('004_application_apply_claims') });
      expect(await db.schema.hasColumn('executions', 'reason')).toBe(false);
      await db('executions').insert(earlyExecutionRow('reasons'));
    } finally {
      await db.destroy();
    }
    const store = await open(env);
    try {
      expect(await store.getExecution('reasons', 'nightly', 'old')).toMatchObject({
        status: 'failed',
        exitCode: 3,
        reason: undefined,
        terminationReason: undefined,
      });
      await store.upsertExecution(base('new', { status: 'failed', reason: 'DeadlineExceeded' }));
      expect((await store.getExecution('reasons', 'nightly', 'new'))?.reason).toBe(
        'DeadlineExceeded',
      );
    } finally {
      await store.close();
    }
    const again = rawKnex(env);
    try {
      // Down to 004, through the migrations that came after 005.
      while ((await again.migrate.currentVersion({ migrationSource })) !== '004')
        await again.migrate.down({ migrationSource });
      expect(await again.schema.hasColumn('executions', 'reason')).toBe(false);
      expect(await again.schema.hasColumn('executions', 'termination_reason')).toBe(false);
      expect((await again('executions').where({ job_uid: 'old' }).first())?.exit_code).toBe(3);
    } finally {
      await again.destroy();
    }
  });
});
