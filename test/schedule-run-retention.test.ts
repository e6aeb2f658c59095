import type { Knex } from 'knex';
import { sweep } from '../api/retention';
import { Store } from '../api/store/store';
import { testStores } from './api/api-process';
import {
  AGE_ONLY_POLICY as policy,
  daysAgo,
  NOW,
  openTestStore,
} from './support/retention-fixture';

/*
 * Retention of functions' schedule runs, on SQLite and PostgreSQL: runs due before the
 * invocation age limit go, in batches, except a run still running and each schedule's newest
 * timer run, from which the scheduler counts the times it owes (without it a monthly schedule
 * would record every month since its definition was applied as missed).
 */

function run(schedule: string, due: number, fields: Record<string, string> = {}) {
  return {
    project: 'runretain',
    function: 'fn',
    schedule,
    scheduled_time: daysAgo(due),
    trigger: 'timer',
    status: 'succeeded',
    cron: '0 0 * * *',
    time_zone: 'UTC',
    claimed_at: daysAgo(due),
    ...fields,
  };
}

describe.each(testStores())('retention of schedule runs ($name)', (testStore) => {
  let store: Store;
  let db: Knex;

  beforeAll(async () => {
    store = await openTestStore(testStore);
    db = store.knex;
    await db('function_schedule_runs').insert([
      // A daily schedule: 20 days of runs, the last 5 within the limit.
      ...Array.from({ length: 20 }, (_, i) => run('daily', 20 - i)),
      // A monthly one whose newest run is 40 days old, and a manual run of it.
      run('monthly', 70),
      run('monthly', 40),
      run('monthly', 30, { trigger: 'manual' }),
      // A run whose replica died, still running past the limit.
      run('stuck', 9, { status: 'running' }),
      run('stuck', 10),
    ]);
  });
  afterAll(async () => {
    await store?.close();
  });

  const left = async (schedule: string) =>
    (
      (await db('function_schedule_runs')
        .where({ schedule })
        .select('scheduled_time', 'trigger')
        .orderBy('scheduled_time')) as { scheduled_time: string; trigger: string }[]
    ).map((r) => `${r.trigger} ${r.scheduled_time.slice(0, 10)}`);

  test('old runs go in batches; the newest timer run of each schedule and running ones stay', async () => {
    expect((await sweep(db, policy, 4, NOW)).scheduleRunsExpired).toBe(13 + 2 + 1);
    expect(await left('daily')).toEqual(
      [7, 6, 5, 4, 3, 2, 1].map((d) => `timer ${daysAgo(d).slice(0, 10)}`),
    );
    expect(await left('monthly')).toEqual([`timer ${daysAgo(40).slice(0, 10)}`]);
    expect(await left('stuck')).toEqual([`timer ${daysAgo(9).slice(0, 10)}`]);
    expect((await sweep(db, policy, 4, NOW)).scheduleRunsExpired).toBe(0);
  });
});
