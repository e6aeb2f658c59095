/**
 * Retention of execution history on the real stores (SQLite, and PostgreSQL when
 * HKS_TEST_DATABASE_URL is set): the sweep module against a store filled directly, then the
 * background sweep of a real API process.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../api/config';
import {
  DEFAULT_RETENTION,
  DROPPED_LOGS_MARKER,
  RetentionPolicy,
  sweep,
} from '../../api/retention';
import { Store } from '../../api/store/store';
import { waitFor } from '../cluster/wait';
import { ApiProcess, TEST_JWT_SECRET, metricsText, startApi, testStores } from './api-process';

jest.setTimeout(180_000);

const MINUTE = 60_000;
const DAY = 86_400_000;
const NOW = Date.now();

interface Row {
  readonly jobUid: string;
  readonly project: string;
  readonly cronjob: string;
  readonly startedAt: number;
  readonly status?: 'running' | 'succeeded' | 'failed';
  readonly logs?: string;
}

/** Inserts executions as the recorder stores them (finished ones with captured logs). */
async function insert(store: Store, rows: readonly Row[]): Promise<void> {
  const now = new Date().toISOString();
  const records = rows.map((r) => {
    const status = r.status ?? 'succeeded';
    const finished = status !== 'running';
    return {
      job_uid: r.jobUid,
      project: r.project,
      cronjob: r.cronjob,
      job_name: `${r.cronjob}-${r.jobUid}`,
      namespace: r.project,
      trigger: 'scheduled',
      status,
      started_at: new Date(r.startedAt).toISOString(),
      completed_at: finished ? new Date(r.startedAt + 1000).toISOString() : null,
      exit_code: finished ? 0 : null,
      logs: finished ? (r.logs ?? 'ok\n') : null,
      logs_truncated: false,
      logs_captured: finished,
      updated_at: now,
    };
  });
  // Chunks stay under SQLite's bound-variable limit.
  for (let i = 0; i < records.length; i += 500)
    await store.knex('executions').insert(records.slice(i, i + 500));
}

/** Job UIDs of a CronJob's executions, newest first. */
async function uids(store: Store, project: string, cronjob: string): Promise<string[]> {
  const page = await store.listExecutions(project, cronjob, { limit: 1000 });
  return page.items.map((e) => e.jobUid);
}

const uid = (prefix: string, i: number) => `${prefix}-${String(i).padStart(5, '0')}`;

describe.each(testStores())('retention of execution history ($name store)', (testStore) => {
  let store: Store;
  let env: Record<string, string>;

  beforeAll(async () => {
    env = await testStore.env();
    const config = loadConfig({ HKS_JWT_SECRET: TEST_JWT_SECRET, ...env });
    store = await Store.open(config);
  });

  afterAll(async () => {
    await store?.close();
  });

  test('keeps the newest N per CronJob and nothing older than D days, never a running one', async () => {
    const project = 'retain-count';
    await insert(store, [
      // An every-minute CronJob with 250 runs, and a run stuck as running older than all.
      ...Array.from({ length: 250 }, (_, i) => ({
        jobUid: uid('minute', i),
        project,
        cronjob: 'every-minute',
        startedAt: NOW - (250 - i) * MINUTE,
      })),
      {
        jobUid: 'minute-stuck',
        project,
        cronjob: 'every-minute',
        startedAt: NOW - 400 * MINUTE,
        status: 'running',
      },
      // A rare one: 5 runs of 40 days ago (one still running), 3 of 10 days ago.
      ...Array.from({ length: 5 }, (_, i) => ({
        jobUid: uid('rare-old', i),
        project,
        cronjob: 'rare',
        startedAt: NOW - 40 * DAY + i * MINUTE,
        status: i === 0 ? ('running' as const) : ('failed' as const),
      })),
      ...Array.from({ length: 3 }, (_, i) => ({
        jobUid: uid('rare-new', i),
        project,
        cronjob: 'rare',
        startedAt: NOW - 10 * DAY + i * MINUTE,
      })),
    ]);
    // A purge marker older than the age limit, which the sweep forgets.
    await store.knex('purged_executions').insert({
      job_uid: 'purged-long-ago',
      project,
      cronjob: 'rare',
      purged_at: new Date(NOW - 40 * DAY).toISOString(),
    });
    const policy: RetentionPolicy = {
      maxExecutionsPerCronJob: 100,
      maxAgeDays: 30,
      maxLogBytesPerProject: 0,
    };
    // A batch of 7 rows per statement: the purge takes many batches.
    const first = await sweep(store.knex, policy, 7);
    expect(first).toEqual({
      expired: 4,
      overCount: 150,
      logsDropped: 0,
      invocationsExpired: 0,
      invocationsOverCount: 0,
      asyncExpired: 0,
      scheduleRunsExpired: 0,
    });

    const minute = await uids(store, project, 'every-minute');
    expect(minute).toEqual([
      ...Array.from({ length: 100 }, (_, i) => uid('minute', 249 - i)),
      'minute-stuck',
    ]);
    expect(await uids(store, project, 'rare')).toEqual([
      uid('rare-new', 2),
      uid('rare-new', 1),
      uid('rare-new', 0),
      uid('rare-old', 0),
    ]);
    // What was removed stays removed: the recorder skips purged Job UIDs (a relist, their
    // deletion events); the old marker is gone.
    expect(await store.isPurged(uid('minute', 0))).toBe(true);
    expect(await store.isPurged(uid('minute', 149))).toBe(true);
    expect(await store.isPurged(uid('minute', 150))).toBe(false);
    expect(await store.isPurged(uid('rare-old', 1))).toBe(true);
    expect(await store.isPurged('purged-long-ago')).toBe(false);
    // Idempotent: a second sweep (another replica's, or the next one) removes nothing.
    expect(await sweep(store.knex, policy, 7)).toEqual({
      expired: 0,
      overCount: 0,
      logsDropped: 0,
      invocationsExpired: 0,
      invocationsOverCount: 0,
      asyncExpired: 0,
      scheduleRunsExpired: 0,
    });
  });

  test("drops the oldest logs past the project's log budget and keeps the executions", async () => {
    const project = 'retain-logs';
    const logs = 'x'.repeat(10 * 1024);
    await insert(store, [
      ...Array.from({ length: 20 }, (_, i) => ({
        jobUid: uid('logs', i),
        project,
        cronjob: i % 2 === 0 ? 'even' : 'odd',
        startedAt: NOW - (20 - i) * MINUTE,
        logs,
      })),
      // Another project under its budget is left alone.
      { jobUid: 'other-logs', project: 'retain-other', cronjob: 'c', startedAt: 0, logs },
    ]);
    const budget = 100 * 1024;
    const result = await sweep(
      store.knex,
      { maxExecutionsPerCronJob: 0, maxAgeDays: 0, maxLogBytesPerProject: budget },
      3,
    );
    const dropped = Array.from({ length: 20 }, (_, i) => uid('logs', i)).slice(
      0,
      result.logsDropped,
    );
    // 20 × 10 KiB over a 100 KiB budget: the 11 oldest lose their logs, 9 keep them.
    expect(result.logsDropped).toBe(11);
    for (let i = 0; i < 20; i++) {
      const e = await store.getExecution(project, i % 2 === 0 ? 'even' : 'odd', uid('logs', i));
      expect(e).toMatchObject(
        dropped.includes(uid('logs', i))
          ? { logs: DROPPED_LOGS_MARKER, logsTruncated: true, status: 'succeeded' }
          : { logs, logsTruncated: false },
      );
    }
    expect((await store.getExecution('retain-other', 'c', 'other-logs'))?.logs).toBe(logs);
  });

  test('figures: one sweep of 10 CronJobs × 1,000 executions with 1 KiB of logs each', async () => {
    const project = 'retain-bench';
    const rows: Row[] = [];
    for (let c = 0; c < 10; c++)
      for (let i = 0; i < 1000; i++)
        rows.push({
          jobUid: `bench-${c}-${i}`,
          project,
          cronjob: `job-${c}`,
          startedAt: NOW - (1000 - i) * MINUTE,
          logs: 'y'.repeat(1024),
        });
    await insert(store, rows);
    const started = performance.now();
    const result = await sweep(store.knex, DEFAULT_RETENTION, DEFAULT_RETENTION.batchSize);
    const ms = performance.now() - started;
    expect(result.overCount).toBe(9000);
    const again = performance.now();
    await sweep(store.knex, DEFAULT_RETENTION, DEFAULT_RETENTION.batchSize);
    process.stderr.write(
      `retention (${testStore.name}): swept 10,000 executions down to 1,000 in ${Math.round(ms)} ms (batches of ${DEFAULT_RETENTION.batchSize}); a sweep with nothing to remove ${Math.round(performance.now() - again)} ms\n`,
    );
  });

  describe('in the background of a real API process', () => {
    let api: ApiProcess | undefined;
    afterAll(async () => {
      await api?.stop();
    });

    test('the API sweeps every HKS_RETENTION_INTERVAL_SECONDS and counts what it purged', async () => {
      const project = `retain-api-${randomBytes(2).toString('hex')}`;
      await insert(
        store,
        Array.from({ length: 12 }, (_, i) => ({
          jobUid: uid(project, i),
          project,
          cronjob: 'nightly',
          startedAt: NOW - (12 - i) * MINUTE,
        })),
      );
      api = await startApi({
        ...env,
        // Its own prefix: the recorder of this process records no other suite's Jobs here.
        HKS_NAMESPACE_PREFIX: `r${randomBytes(2).toString('hex')}-`,
        HKS_RETENTION_INTERVAL_SECONDS: '1',
        HKS_RETENTION_MAX_EXECUTIONS: '5',
      });
      const running = api;
      expect(running.output()).toContain('this replica records and schedules alone');
      await waitFor(
        'the API to purge all but the 5 newest',
        30_000,
        async () => (await uids(store, project, 'nightly')).length === 5,
        undefined,
        250,
      );
      expect(await uids(store, project, 'nightly')).toEqual(
        [11, 10, 9, 8, 7].map((i) => uid(project, i)),
      );
      // The earlier tests' rows are over the limit of 5 too; this project's 7 are among them.
      const purged = Number(
        /hks_executions_purged_total\{reason="count"\} (\d+)/.exec(await metricsText(running))?.[1],
      );
      expect(purged).toBeGreaterThanOrEqual(7);
    });
  });
});
