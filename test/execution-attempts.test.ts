import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import knex, { type Knex } from 'knex';
import { attemptCount, jobPodCount } from '../api/job-attempts';
import { migrationSource, migrationsUpTo } from '../api/store/migrations';
import { Execution, Store } from '../api/store/store';
import { testStores } from './api/api-process';
import { earlyExecutionRow } from './support/execution-rows';

/*
 * The attempts of an execution: counted from the Job's pods and their containers' restarts
 * (api/job-attempts.ts), stored so that they never go down and never change once the logs
 * are final, and absent on rows recorded before migration 007_execution_attempts.
 */

const pod = (name: string, container?: Partial<V1ContainerStatus>): V1Pod => ({
  metadata: { name, creationTimestamp: new Date('2026-01-01T00:00:00Z') },
  spec: { containers: [{ name: 'main', image: 'x' }] },
  status: container
    ? {
        containerStatuses: [
          { name: 'main', image: 'x', imageID: '', ready: false, restartCount: 0, ...container },
        ],
      }
    : { phase: 'Pending' },
});

describe('counting attempts', () => {
  test("the Job's counts: running, ended, and ended but not counted yet", () => {
    expect(jobPodCount(undefined)).toBe(0);
    expect(jobPodCount({ active: 1 })).toBe(1);
    expect(jobPodCount({ failed: 2, succeeded: 1 })).toBe(3);
    expect(
      jobPodCount({ failed: 1, active: 1, uncountedTerminatedPods: { failed: ['uid-2'] } }),
    ).toBe(3);
  });

  test('backoffLimit retries: one attempt per pod', () => {
    const pods = [
      pod('a', { state: { terminated: { exitCode: 3 } } }),
      pod('b', { state: { terminated: { exitCode: 3 } } }),
      pod('c', { state: { terminated: { exitCode: 0 } } }),
    ];
    expect(attemptCount(pods, 3)).toBe(3);
  });

  test('restartPolicy OnFailure: one more per restart, running, waiting or ended', () => {
    const ended = pod('a', { restartCount: 2, state: { terminated: { exitCode: 0 } } });
    expect(attemptCount([ended], 1)).toBe(3);
    // The third run going on.
    const running = pod('a', {
      restartCount: 2,
      lastState: { terminated: { exitCode: 1, containerID: 'containerd://2' } },
      state: { running: {} },
    });
    expect(attemptCount([running], 1)).toBe(3);
    // The second run ended, the third not started: the count is still the second run's.
    const waiting = pod('a', {
      restartCount: 1,
      lastState: { terminated: { exitCode: 1, containerID: 'containerd://2' } },
      state: { waiting: { reason: 'CrashLoopBackOff' } },
    });
    expect(attemptCount([waiting], 1)).toBe(2);
  });

  test('a pod not started yet is the attempt being tried; pods the Job counted but gone count once', () => {
    expect(attemptCount([pod('a')], 1)).toBe(1);
    // Two pods deleted as the Job failed, one left with a restart.
    expect(attemptCount([pod('c', { restartCount: 1 })], 3)).toBe(4);
    // A pod listed before the Job counts it.
    expect(attemptCount([pod('a', { state: { terminated: { exitCode: 1 } } }), pod('b')], 1)).toBe(
      2,
    );
  });
});

/** The execution fields the recorder writes when a Job event arrives (before its logs). */
type Base = Omit<
  Execution,
  'logs' | 'logsTruncated' | 'logsCaptured' | 'logCapture' | 'logCaptureAttempts'
>;

const base = (jobUid: string, fields: Partial<Base> = {}): Base => ({
  jobUid,
  project: 'attempts',
  cronjob: 'nightly',
  jobName: `nightly-${jobUid}`,
  namespace: 'hks-attempts',
  trigger: 'manual',
  status: 'running',
  startedAt: '2026-01-01T00:00:00.000Z',
  ...fields,
});

const open = (env: Record<string, string>) =>
  Store.open({ databaseUrl: env.HKS_DATABASE_URL, sqlitePath: env.HKS_SQLITE_PATH ?? ':memory:' });

describe.each(testStores())('the attempts of an execution, stored ($name)', (testStore) => {
  let store: Store;
  beforeEach(async () => {
    store = await open(await testStore.env());
  });
  afterEach(async () => {
    await store.close();
  });

  const attempts = async (uid: string) =>
    (await store.getExecution('attempts', 'nightly', uid))?.attempts;

  test('raised by events and early reads, never lowered, final with the logs', async () => {
    await store.upsertExecution(base('a'));
    expect(await attempts('a')).toBeUndefined();
    await store.upsertExecution(base('a', { attempts: 0 }));
    expect(await attempts('a')).toBe(0);
    await store.upsertExecution(base('a', { attempts: 2 }));
    // An event that counts fewer (a pod ended, not counted yet) or none leaves the count.
    await store.upsertExecution(base('a', { attempts: 1 }));
    await store.upsertExecution(base('a'));
    expect(await attempts('a')).toBe(2);
    await store.raiseAttempts('a', 4);
    await store.raiseAttempts('a', 3);
    expect(await attempts('a')).toBe(4);
    await store.upsertExecution({
      ...base('a', { status: 'succeeded', attempts: 5 }),
      exitCode: 0,
      logs: 'done\n',
      logsTruncated: false,
      logsCaptured: true,
      logCapture: 'captured',
    });
    // Final: neither a later event nor a late early read changes it.
    await store.upsertExecution(base('a', { status: 'succeeded', attempts: 9 }));
    await store.raiseAttempts('a', 9);
    expect(await attempts('a')).toBe(5);
    const page = await store.listProjectExecutions('attempts', { limit: 5 });
    expect(page.items).toEqual([expect.objectContaining({ jobUid: 'a', attempts: 5 })]);
  });

  test('a first write that is the capture stores its count', async () => {
    await store.upsertExecution({
      ...base('b', { status: 'failed', attempts: 2 }),
      exitCode: 3,
      logs: '',
      logsTruncated: false,
      logsCaptured: true,
      logCapture: 'captured',
    });
    expect(await attempts('b')).toBe(2);
    await store.markLost('b', 'not lost: final already');
    expect(await attempts('b')).toBe(2);
  });
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

describe.each(testStores())('migration 007_execution_attempts ($name)', (testStore) => {
  test('rows recorded before it have no attempts; down removes the column', async () => {
    const env = await testStore.env();
    const db = rawKnex(env);
    try {
      await db.migrate.latest({
        migrationSource: migrationsUpTo('006_execution_project_indexes'),
      });
      expect(await db.schema.hasColumn('executions', 'attempts')).toBe(false);
      await db('executions').insert(earlyExecutionRow('attempts'));
    } finally {
      await db.destroy();
    }
    const store = await open(env);
    try {
      expect(await store.getExecution('attempts', 'nightly', 'old')).toMatchObject({
        status: 'failed',
        exitCode: 3,
        attempts: undefined,
      });
      const page = await store.listExecutions('attempts', 'nightly', { limit: 5 });
      expect(page.items[0].attempts).toBeUndefined();
      await store.upsertExecution(base('new', { status: 'running', attempts: 1 }));
      expect((await store.getExecution('attempts', 'nightly', 'new'))?.attempts).toBe(1);
    } finally {
      await store.close();
    }
    const again = rawKnex(env);
    try {
      while ((await again.migrate.currentVersion({ migrationSource })) !== '006')
        await again.migrate.down({ migrationSource });
      expect(await again.schema.hasColumn('executions', 'attempts')).toBe(false);
      expect((await again('executions').where({ job_uid: 'old' }).first())?.exit_code).toBe(3);
    } finally {
      await again.destroy();
    }
  });
});
