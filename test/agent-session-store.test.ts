import { sweepEndedSessions } from '../api/store/agent-session-retention-queries';
import {
  claimSession,
  endSession,
  getSession,
  idleSessions,
  insertSession,
  NewSessionRecord,
  releaseSession,
} from '../api/store/agent-session-store';
import type { Store } from '../api/store/store';
import { testStores } from './api/api-process';
import { daysAgo, NOW, openTestStore } from './support/retention-fixture';

/**
 * The shared record of agent sessions on SQLite and PostgreSQL: the execution lease one caller
 * at a time holds (and a lapsed one another takes), the idle end only of a session idle and not
 * leased, one end per session, and the retention of ended rows by age and per project, live
 * sessions never removed.
 */
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs).toISOString();

function session(id: string, fields: Partial<NewSessionRecord> = {}): NewSessionRecord {
  return {
    id,
    project: 'store-sessions',
    namespace: 'hks-store-sessions',
    runtime: 'python3.12',
    createdBy: 'agent',
    secret: 'a'.repeat(64),
    idleTimeoutSeconds: 60,
    timeoutSeconds: 30,
    createdAt: at(0),
    lastUsedAt: at(0),
    expiresAt: at(60_000),
    ...fields,
  };
}

describe.each(testStores())('agent sessions in the store ($name)', (testStore) => {
  let store: Store;

  beforeEach(async () => {
    store = await openTestStore(testStore);
  });

  afterEach(async () => {
    await store.close();
  });

  test('one lease at a time; released, it moves the expiry and counts the execution', async () => {
    const db = store.knex;
    await insertSession(db, session('s-lease'));
    expect(await claimSession(db, 's-lease', 'replica-a', at(40_000), at(1000))).toBe(true);
    expect(await claimSession(db, 's-lease', 'replica-b', at(40_000), at(2000))).toBe(false);
    // Another owner's release leaves the lease where it is.
    await releaseSession(db, session('s-lease'), 'replica-b', new Date(at(3000)), false);
    expect(await getSession(db, 's-lease')).toMatchObject({
      runningOwner: 'replica-a',
      executions: 0,
    });
    await releaseSession(db, session('s-lease'), 'replica-a', new Date(at(5000)), true);
    const released = await getSession(db, 's-lease');
    expect(released).toMatchObject({ executions: 1, lastUsedAt: at(5000), expiresAt: at(65_000) });
    expect(released?.runningOwner).toBeUndefined();
    expect(await claimSession(db, 's-lease', 'replica-b', at(50_000), at(6000))).toBe(true);
  });

  test('a lapsed lease is taken over; an idle session is not leased but ended, once', async () => {
    const db = store.knex;
    await insertSession(db, session('s-lapsed', { expiresAt: at(120_000) }));
    expect(await claimSession(db, 's-lapsed', 'killed', at(10_000), at(0))).toBe(true);
    expect(await claimSession(db, 's-lapsed', 'other', at(50_000), at(10_001))).toBe(true);
    await insertSession(db, session('s-idle', { expiresAt: at(60_000) }));
    expect(await claimSession(db, 's-idle', 'late', at(100_000), at(60_001))).toBe(false);
    expect((await idleSessions(db, at(60_001), 10)).map((s) => s.id)).toEqual(['s-idle']);
    // A leased session is not idle, however old its last use.
    await insertSession(db, session('s-busy', { expiresAt: at(60_000) }));
    expect(await claimSession(db, 's-busy', 'running', at(100_000), at(1000))).toBe(true);
    expect(await endSession(db, 's-busy', 'idle for 60 s', at(70_000), true)).toBe(false);
    expect(await endSession(db, 's-idle', 'idle for 60 s', at(60_001), true)).toBe(true);
    expect(await endSession(db, 's-idle', 'it was closed', at(60_002))).toBe(false);
    expect(await getSession(db, 's-idle')).toMatchObject({
      endedAt: at(60_001),
      endedReason: 'idle for 60 s',
      secret: undefined,
    });
    expect(await claimSession(db, 's-idle', 'late', at(100_000), at(1000))).toBe(false);
  });

  test('retention removes ended sessions by age and beyond the newest per project, never live ones', async () => {
    const db = store.knex;
    const ended = async (id: string, endedAt: string, project = 'store-sessions') => {
      await insertSession(db, session(id, { project }));
      await endSession(db, id, 'it was closed', endedAt);
    };
    await ended('s-old', daysAgo(100));
    await ended('s-recent-1', daysAgo(3));
    await ended('s-recent-2', daysAgo(2));
    await ended('s-recent-3', daysAgo(1));
    await ended('s-other', daysAgo(1), 'store-sessions-other');
    await insertSession(db, session('s-live', { createdAt: daysAgo(200) }));
    const result = await sweepEndedSessions(
      db,
      { maxAgeDays: 90, maxRecordsPerProject: 2 },
      1,
      NOW,
    );
    expect(result).toEqual({ expired: 1, overCount: 1 });
    const left = (await db('agent_sessions').select('id').orderBy('id')).map((r) => r.id);
    expect(left).toEqual(['s-live', 's-other', 's-recent-2', 's-recent-3']);
  });
});
