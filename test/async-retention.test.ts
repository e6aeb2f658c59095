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
 * Retention of asynchronous invocations, on SQLite and PostgreSQL: finished ones (succeeded,
 * dead, cancelled) older than the invocation age limit go, in batches; running, queued and
 * retrying ones stay whatever their age, and so does one whose callback is still being
 * delivered.
 */

/** A row of async_invocations with what the table requires, and `fields` over it. */
function row(id: string, state: string, finishedDaysAgo: number | undefined, fields = {}) {
  const created = daysAgo((finishedDaysAgo ?? 20) + 1);
  return {
    id,
    project: 'asyncretain',
    function: 'fn',
    state,
    request_bytes: 2,
    body_sha256: '0'.repeat(64),
    headers: '{}',
    attempts: 1,
    max_attempts: 5,
    next_attempt_at: created,
    created_at: created,
    updated_at: created,
    finished_at: finishedDaysAgo === undefined ? null : daysAgo(finishedDaysAgo),
    ...fields,
  };
}

describe.each(testStores())('retention of asynchronous invocations ($name)', (testStore) => {
  let store: Store;
  let db: Knex;

  beforeAll(async () => {
    store = await openTestStore(testStore);
    db = store.knex;
    await db('async_invocations').insert([
      ...['a', 'b', 'c', 'd', 'e'].map((n) => row(`old-succeeded-${n}`, 'succeeded', 10)),
      row('old-dead', 'dead', 30),
      row('old-cancelled', 'cancelled', 8),
      row('old-callback-pending', 'succeeded', 10, { callback_state: 'pending' }),
      row('old-callback-delivered', 'succeeded', 10, { callback_state: 'delivered' }),
      row('recent-succeeded', 'succeeded', 1),
      row('old-running', 'running', undefined),
      row('old-queued', 'queued', undefined),
      row('old-retrying', 'failed-retrying', undefined),
    ]);
  });
  afterAll(async () => {
    await store?.close();
  });

  const ids = async () =>
    ((await db('async_invocations').select('id').orderBy('id')) as { id: string }[]).map(
      (r) => r.id,
    );

  test('a limit of 0 removes nothing', async () => {
    const result = await sweep(db, { ...policy, invocationMaxAgeDays: 0 }, 2, NOW);
    expect(result.asyncExpired).toBe(0);
    expect(await ids()).toHaveLength(13);
  });

  test('finished ones past the age go in batches; the others stay; a second sweep removes nothing', async () => {
    expect((await sweep(db, policy, 2, NOW)).asyncExpired).toBe(8);
    expect(await ids()).toEqual([
      'old-callback-pending',
      'old-queued',
      'old-retrying',
      'old-running',
      'recent-succeeded',
    ]);
    expect((await sweep(db, policy, 2, NOW)).asyncExpired).toBe(0);
  });
});
