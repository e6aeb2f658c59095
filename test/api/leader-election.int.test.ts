/**
 * One recorder among several API replicas: two real API processes on one store campaign for a
 * Lease (as the test API ServiceAccount, with the Role the stack gives it); only the leader
 * records; SIGKILL of the leader while Jobs run hands recording to the other within the lease
 * duration, and every Job is recorded exactly once, none lost.
 */
import { randomBytes } from 'node:crypto';
import { API_VERSION } from '../../constructs';
import { loadConfig } from '../../api/config';
import { Store } from '../../api/store/store';
import { kubectl, kubectlJson, kubectlOk } from '../cluster/kubectl';
import { sleep, waitFor } from '../cluster/wait';
import { TEST_API_IDENTITY } from '../support/api-identity';
import {
  ApiProcess,
  TEST_JWT_SECRET,
  metricsText,
  projectRequest,
  startApi,
  testStores,
  token,
} from './api-process';

jest.setTimeout(300_000);

const PROJECT = 'lease-runs';
const LEASE_SECONDS = 6;

const definitions = [
  {
    apiVersion: API_VERSION,
    kind: 'CronJob',
    // Manual runs only: the test decides when Jobs start.
    metadata: { name: 'tick', project: PROJECT },
    spec: { image: 'ghcr.io/acme/job:1', schedule: '0 0 1 1 *', successfulJobsHistoryLimit: 20 },
  },
];

/** Finished executions the recorder counted (`hks_executions_recorded_total`, all statuses). */
async function recordedCount(api: ApiProcess): Promise<number> {
  const text = await metricsText(api);
  return [...text.matchAll(/^hks_executions_recorded_total\{[^}]*\} (\d+)$/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
}

const leads = (api: ApiProcess) => api.output().includes('"msg":"leading: this replica holds');

describe.each(testStores())('one recorder among two API replicas ($name store)', (testStore) => {
  const prefix = `l${randomBytes(2).toString('hex')}-`;
  const namespace = `${prefix}${PROJECT}`;
  const lease = `hks-test-recorder-${randomBytes(3).toString('hex')}`;
  let env: Record<string, string>;
  let first: ApiProcess | undefined;
  let second: ApiProcess | undefined;
  let headers: Record<string, string>;
  const trigger = async (api: ApiProcess) => {
    const res = await projectRequest(api, PROJECT, headers, 'POST', '/cronjobs/tick/trigger');
    expect(res.status).toBe(201);
    return String(res.json.id);
  };
  const leaseHolder = async () =>
    (
      await kubectlJson<{ spec: { holderIdentity?: string; leaseTransitions?: number } }>([
        'get',
        'lease',
        lease,
        '-n',
        TEST_API_IDENTITY.namespace,
        '-o',
        'json',
      ])
    ).spec;

  beforeAll(async () => {
    env = {
      ...(await testStore.env()),
      HKS_NAMESPACE_PREFIX: prefix,
      HKS_LEADER_LEASE_NAMESPACE: TEST_API_IDENTITY.namespace,
      HKS_LEADER_LEASE_NAME: lease,
      HKS_LEADER_LEASE_DURATION_SECONDS: String(LEASE_SECONDS),
      HKS_LEADER_RENEW_DEADLINE_SECONDS: '4',
      HKS_LEADER_RETRY_PERIOD_SECONDS: '1',
    };
    headers = {
      authorization: `Bearer ${await token([PROJECT])}`,
      'content-type': 'application/json',
    };
  });

  afterAll(async () => {
    for (const api of [first, second])
      if (api && api.child.exitCode === null && api.child.signalCode === null)
        await api.stop('SIGKILL');
    await kubectl([
      'delete',
      'lease',
      lease,
      '-n',
      TEST_API_IDENTITY.namespace,
      '--ignore-not-found',
    ]);
    await kubectlOk(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  });

  test('the leader records alone; after its SIGKILL the other takes over and no run is lost or doubled', async () => {
    first = await startApi(env);
    const a = first;
    await waitFor('the first replica to lead', 30_000, async () => leads(a), undefined, 100);
    second = await startApi(env);
    const b = second;
    for (const definition of definitions) {
      const res = await projectRequest(a, PROJECT, headers, 'POST', '/applications', definition);
      expect(res.status).toBe(201);
    }
    expect((await leaseHolder()).holderIdentity).toMatch(/_/);

    // Three runs while the first leads: it records them, the second records nothing.
    const before = [await trigger(a), await trigger(b), await trigger(a)];
    await waitFor(
      'the leader to record 3 runs',
      120_000,
      async () => (await recordedCount(a)) >= 3,
    );
    await sleep(2000);
    expect(await recordedCount(a)).toBe(3);
    expect(await recordedCount(b)).toBe(0);
    expect(leads(b)).toBe(false);

    // Three more, then the leader dies mid-run.
    const during = [await trigger(a), await trigger(b), await trigger(b)];
    const killedAt = Date.now();
    await a.stop('SIGKILL');
    await waitFor('the second replica to lead', 30_000, async () => leads(b), undefined, 100);
    const takeoverMs = Date.now() - killedAt;
    process.stderr.write(
      `leader-election (${testStore.name}): takeover ${takeoverMs} ms after SIGKILL (lease ${LEASE_SECONDS} s, renew deadline 4 s, retry 1 s)\n`,
    );
    // The lease duration after the last renewal, plus a retry period; the margin is for a loaded
    // 2-core machine where the API server's answers may take seconds.
    expect(takeoverMs).toBeLessThan((LEASE_SECONDS + 10) * 1000);
    expect((await leaseHolder()).leaseTransitions).toBe(1);

    const after = [await trigger(b), await trigger(b), await trigger(b)];
    const all = [...before, ...during, ...after];
    const jobs = await kubectlJson<{ items: { metadata: { uid: string } }[] }>([
      'get',
      'jobs',
      '-n',
      namespace,
      '-o',
      'json',
    ]);
    expect(jobs.items.map((j) => j.metadata.uid).sort()).toEqual([...all].sort());

    const config = loadConfig({ HKS_JWT_SECRET: TEST_JWT_SECRET, ...env });
    const store = await Store.open(config);
    try {
      await waitFor(
        'all 9 runs recorded finished with their logs',
        120_000,
        async () => {
          const rows = (await store
            .knex('executions')
            .where({ project: PROJECT, namespace })
            .select('job_uid', 'status', 'logs_captured')) as {
            job_uid: string;
            status: string;
            logs_captured: unknown;
          }[];
          return (
            rows.length === all.length &&
            rows.every((r) => r.status !== 'running' && Boolean(r.logs_captured))
          );
        },
        undefined,
        500,
      );
      const perJob = (await store
        .knex('executions')
        .where({ project: PROJECT, namespace })
        .select('job_uid')
        .count({ n: '*' })
        .groupBy('job_uid')) as { job_uid: string; n: number | string }[];
      expect(perJob.map((r) => r.job_uid).sort()).toEqual([...all].sort());
      expect(perJob.every((r) => Number(r.n) === 1)).toBe(true);
    } finally {
      await store.close();
    }
    // The second recorded what ran after the first's last record: at least the last three.
    expect(await recordedCount(b)).toBeGreaterThanOrEqual(3);
  });

  test('a replica stopped with SIGTERM releases the Lease (empty holder) before it exits', async () => {
    const b = second as ApiProcess;
    await b.stop('SIGTERM');
    expect(b.output()).toContain('"msg":"released the Lease"');
    expect((await leaseHolder()).holderIdentity ?? '').toBe('');
  });
});
