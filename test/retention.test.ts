import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../api/config';
import {
  DEFAULT_RETENTION,
  DROPPED_LOGS_MARKER_BYTES,
  ageCutoff,
  logsToDrop,
} from '../api/retention';

const SECRET = 'user-secret-of-at-least-thirty-two-bytes!';
const NO_FILE = '/nonexistent/namespace';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ HKS_JWT_SECRET: SECRET, ...env }, '/tmp', NO_FILE);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

describe('retention policy', () => {
  it('cuts off at the age limit, or nowhere without one', () => {
    const now = new Date('2026-03-31T12:00:00.000Z');
    expect(ageCutoff(DEFAULT_RETENTION, now)).toBe('2026-03-01T12:00:00.000Z');
    expect(ageCutoff({ ...DEFAULT_RETENTION, maxAgeDays: 0 }, now)).toBeUndefined();
  });

  it('drops the oldest logs first until the project is within its budget, counting the marker', () => {
    const rows = [
      { jobUid: 'a', logBytes: 1000 },
      { jobUid: 'b', logBytes: 1000 },
      { jobUid: 'c', logBytes: 1000 },
    ];
    const kept = 1000 - DROPPED_LOGS_MARKER_BYTES;
    expect(logsToDrop(rows, 3000, 3000)).toEqual({ jobUids: [], totalAfter: 3000 });
    expect(logsToDrop(rows, 3000, 2500)).toEqual({ jobUids: ['a'], totalAfter: 3000 - kept });
    // Exactly at the budget after two: the third keeps its logs.
    expect(logsToDrop(rows, 3000, 3000 - 2 * kept)).toEqual({
      jobUids: ['a', 'b'],
      totalAfter: 3000 - 2 * kept,
    });
  });

  it('skips logs no larger than the marker, and stops when nothing is left to drop', () => {
    const rows = [
      { jobUid: 'tiny', logBytes: DROPPED_LOGS_MARKER_BYTES },
      { jobUid: 'big', logBytes: 5000 },
    ];
    const result = logsToDrop(rows, 5000 + DROPPED_LOGS_MARKER_BYTES, 10);
    expect(result.jobUids).toEqual(['big']);
    expect(result.totalAfter).toBe(2 * DROPPED_LOGS_MARKER_BYTES);
  });
});

describe('retention and leader election configuration', () => {
  it('defaults: 100 per CronJob, 30 days, 256 MiB per project, every 5 minutes; no Lease off a pod', () => {
    const config = loadConfig({ HKS_JWT_SECRET: SECRET }, '/tmp', NO_FILE);
    expect(config.retention).toEqual({
      maxExecutionsPerCronJob: 100,
      maxAgeDays: 30,
      maxLogBytesPerProject: 268435456,
      maxInvocationsPerFunction: 1000,
      invocationMaxAgeDays: 7,
      intervalSeconds: 300,
      batchSize: 500,
    });
    expect(config.leaderLease).toBeUndefined();
  });

  it('reads the retention variables; 0 turns a limit off', () => {
    const config = loadConfig(
      {
        HKS_JWT_SECRET: SECRET,
        HKS_RETENTION_MAX_EXECUTIONS: '0',
        HKS_RETENTION_MAX_AGE_DAYS: '7',
        HKS_RETENTION_MAX_LOG_BYTES_PER_PROJECT: '1048576',
        HKS_RETENTION_INTERVAL_SECONDS: '0',
        HKS_RETENTION_BATCH_SIZE: '50',
        HKS_RETENTION_MAX_INVOCATIONS: '0',
        HKS_RETENTION_INVOCATION_MAX_AGE_DAYS: '2',
      },
      '/tmp',
      NO_FILE,
    );
    expect(config.retention).toEqual({
      maxExecutionsPerCronJob: 0,
      maxAgeDays: 7,
      maxLogBytesPerProject: 1048576,
      maxInvocationsPerFunction: 0,
      invocationMaxAgeDays: 2,
      intervalSeconds: 0,
      batchSize: 50,
    });
  });

  it('names a bad retention value and what is expected', () => {
    expect(
      problemsOf({
        HKS_RETENTION_MAX_EXECUTIONS: '-1',
        HKS_RETENTION_MAX_INVOCATIONS: 'many',
        HKS_RETENTION_INVOCATION_MAX_AGE_DAYS: '1.5',
        HKS_RETENTION_BATCH_SIZE: '0',
      }),
    ).toEqual([
      'HKS_RETENTION_MAX_EXECUTIONS: given "-1", expected a whole number from 0 to 1000000',
      'HKS_RETENTION_MAX_INVOCATIONS: given "many", expected a whole number from 0 to 1000000',
      'HKS_RETENTION_INVOCATION_MAX_AGE_DAYS: given "1.5", expected a whole number from 0 to 36500',
      'HKS_RETENTION_BATCH_SIZE: given "0", expected a whole number from 1 to 10000',
    ]);
  });

  it('audit trail: 90 days and 100,000 records per project by default, its own variables, bad values named', () => {
    expect(loadConfig({ HKS_JWT_SECRET: SECRET }, '/tmp', NO_FILE).auditRetention).toEqual({
      maxAgeDays: 90,
      maxRecordsPerProject: 100_000,
    });
    const config = loadConfig(
      {
        HKS_JWT_SECRET: SECRET,
        HKS_RETENTION_AUDIT_MAX_AGE_DAYS: '365',
        HKS_RETENTION_AUDIT_MAX_RECORDS_PER_PROJECT: '0',
      },
      '/tmp',
      NO_FILE,
    );
    expect(config.auditRetention).toEqual({ maxAgeDays: 365, maxRecordsPerProject: 0 });
    expect(
      problemsOf({
        HKS_RETENTION_AUDIT_MAX_AGE_DAYS: 'a year',
        HKS_RETENTION_AUDIT_MAX_RECORDS_PER_PROJECT: '-5',
      }),
    ).toEqual([
      'HKS_RETENTION_AUDIT_MAX_AGE_DAYS: given "a year", expected a whole number from 0 to 36500',
      'HKS_RETENTION_AUDIT_MAX_RECORDS_PER_PROJECT: given "-5", expected a whole number from 0 to 100000000',
    ]);
  });

  it('finds the Lease namespace in HKS_LEADER_LEASE_NAMESPACE, POD_NAMESPACE or the pod’s namespace file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'hks-ns-')), 'namespace');
    writeFileSync(file, 'hks-system\n');
    const lease = (env: Record<string, string>, namespaceFile = NO_FILE) =>
      loadConfig({ HKS_JWT_SECRET: SECRET, ...env }, '/tmp', namespaceFile).leaderLease;
    expect(lease({}, file)).toEqual({
      namespace: 'hks-system',
      name: 'hks-api-recorder',
      leaseDurationSeconds: 15,
      renewDeadlineSeconds: 10,
      retryPeriodSeconds: 2,
    });
    expect(lease({ POD_NAMESPACE: 'from-env' }, file)?.namespace).toBe('from-env');
    expect(
      lease({ POD_NAMESPACE: 'from-env', HKS_LEADER_LEASE_NAMESPACE: 'explicit' }, file)?.namespace,
    ).toBe('explicit');
    expect(lease({ HKS_LEADER_LEASE_NAMESPACE: 'x', HKS_LEADER_LEASE_NAME: 'mine' })?.name).toBe(
      'mine',
    );
  });

  it('requires retry period < renew deadline < lease duration, and valid names', () => {
    expect(
      problemsOf({
        HKS_LEADER_LEASE_NAMESPACE: 'Bad_NS',
        HKS_LEADER_LEASE_NAME: 'no/slash',
        HKS_LEADER_LEASE_DURATION_SECONDS: '10',
        HKS_LEADER_RENEW_DEADLINE_SECONDS: '10',
        HKS_LEADER_RETRY_PERIOD_SECONDS: '10',
      }),
    ).toEqual([
      'HKS_LEADER_LEASE_NAMESPACE: given "Bad_NS", expected a namespace name (DNS label)',
      'HKS_LEADER_LEASE_NAME: given "no/slash", expected a Lease name (DNS subdomain)',
      'HKS_LEADER_RENEW_DEADLINE_SECONDS: given 10, expected less than HKS_LEADER_LEASE_DURATION_SECONDS (10)',
      'HKS_LEADER_RETRY_PERIOD_SECONDS: given 10, expected less than HKS_LEADER_RENEW_DEADLINE_SECONDS (10)',
    ]);
  });
});
