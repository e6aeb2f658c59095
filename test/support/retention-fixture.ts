/**
 * What the retention tests of the invocation age limit share: a fixed clock, a policy that
 * applies only that limit (7 days), and a fresh store of the given kind.
 */
import type { RetentionPolicy } from '../../api/retention';
import { Store } from '../../api/store/store';
import type { TestStore } from '../api/api-process';

const DAY = 86_400_000;

/** The sweep's "now" in these tests. */
export const NOW = new Date('2026-06-10T12:00:00.000Z');

/** `days` before {@link NOW}, as the store writes times. */
export const daysAgo = (days: number): string => new Date(NOW.getTime() - days * DAY).toISOString();

/** Only the invocation age limit: 7 days; every other limit off. */
export const AGE_ONLY_POLICY: RetentionPolicy = {
  maxExecutionsPerCronJob: 0,
  maxAgeDays: 0,
  maxLogBytesPerProject: 0,
  maxInvocationsPerFunction: 0,
  invocationMaxAgeDays: 7,
};

/** A fresh, migrated store of the test store's kind. */
export async function openTestStore(testStore: TestStore): Promise<Store> {
  const env = await testStore.env();
  return Store.open({
    databaseUrl: env.HKS_DATABASE_URL,
    sqlitePath: env.HKS_SQLITE_PATH ?? ':memory:',
  });
}
