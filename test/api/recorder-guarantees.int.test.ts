import { createHash, randomBytes } from 'node:crypto';
import { API_VERSION } from '../../constructs';
import { RECORD_FINALIZER, PARKED_TTL_ANNOTATION } from '../../api/job-finalizer';
import { TENANT_ROLE_BINDING } from '../../api/rbac';
import { kubectl, kubectlJson, kubectlOk } from '../cluster/kubectl';
import { sleep, waitFor } from '../cluster/wait';
import { ApiProcess, projectRequest, startApi, token } from './api-process';
import { startStoreApisAtOnce } from '../support/store-apis';

jest.setTimeout(300_000);

const PROJECT = 'recguard';

interface ExecutionView {
  id: string;
  jobName: string;
  trigger: string;
  status: string;
  exitCode?: number;
  logCapture: string;
  logCaptureError?: string;
  logCaptureAttempts: number;
}

interface JobObject {
  metadata: {
    name: string;
    uid: string;
    finalizers?: string[];
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec: { ttlSecondsAfterFinished?: number };
  status?: { succeeded?: number };
}

const cronJob = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: API_VERSION,
  kind: 'CronJob',
  metadata: { name, project: PROJECT },
  spec: { image: 'ghcr.io/acme/job:1', schedule: '0 0 1 1 *', ...spec },
});

const definitions = [
  // Scheduled every minute; Jobs and pods deleted the moment they finish.
  cronJob('ttl-zero', { schedule: '*/1 * * * *', ttlSecondsAfterFinished: 0 }),
  cronJob('no-history', {
    schedule: '*/1 * * * *',
    successfulJobsHistoryLimit: 0,
    failedJobsHistoryLimit: 0,
  }),
  cronJob('manual', {}),
  cronJob('purged', {}),
];

const { stores, ...storeApis } = startStoreApisAtOnce(PROJECT, definitions, 'g');

describe.each(stores)('The recorder loses nothing ($name store)', ({ name, prefix }) => {
  const namespace = `${prefix}${PROJECT}`;
  let env: Record<string, string>;
  let api: ApiProcess;
  let headers: Record<string, string>;
  const request = (method: string, path: string, body?: unknown, extra = {}) =>
    projectRequest(api, PROJECT, { ...headers, ...extra }, method, path, body);
  const executions = async (cronjob: string) => {
    const res = await request('GET', `/cronjobs/${cronjob}/executions?limit=100`);
    return res.status === 404 ? [] : (res.json.items as ExecutionView[]);
  };
  const waitForExecution = async (
    cronjob: string,
    match: (e: ExecutionView) => boolean,
    what: string,
    done = (e: ExecutionView) => e.logCapture === 'captured',
  ) => {
    let found: ExecutionView | undefined;
    await waitFor(
      what,
      150_000,
      async () => {
        found = (await executions(cronjob)).find(match);
        return found !== undefined && done(found);
      },
      undefined,
      500,
    );
    return found as ExecutionView;
  };
  const logsOf = async (cronjob: string, id: string) =>
    (await request('GET', `/cronjobs/${cronjob}/executions/${id}/logs`)).text;
  const job = async (name: string) => {
    const res = await kubectl(['get', 'job', name, '-n', namespace, '-o', 'json']);
    return res.code === 0 ? (JSON.parse(res.stdout) as JobObject) : undefined;
  };
  const podsOf = async (uid: string) =>
    (
      await kubectlJson<{ items: unknown[] }>([
        'get',
        'pods',
        '-n',
        namespace,
        '-l',
        `batch.kubernetes.io/controller-uid=${uid}`,
      ])
    ).items.length;
  const waitGone = (name: string) =>
    waitFor(`job ${name} deleted`, 60_000, async () => (await job(name)) === undefined);

  beforeAll(async () => {
    ({ env, api } = await storeApis.apiOf(name));
    headers = {
      authorization: `Bearer ${await token([PROJECT])}`,
      'content-type': 'application/json',
    };
  });

  afterAll(async () => {
    // Jobs still held would keep the namespace from being deleted once no recorder runs.
    const jobs = await kubectlJson<{ items: JobObject[] }>(['get', 'jobs', '-n', namespace]).catch(
      () => ({ items: [] as JobObject[] }),
    );
    for (const j of jobs.items.filter((x) => x.metadata.finalizers?.length))
      await kubectl([
        'patch',
        'job',
        j.metadata.name,
        '-n',
        namespace,
        '--type=json',
        '-p',
        '[{"op":"remove","path":"/metadata/finalizers"}]',
      ]);
    // Started by the file's beforeAll even when this block's own failed.
    await storeApis.stop(name, api);
    await kubectlOk(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  });

  test('ttlSecondsAfterFinished 0: a manual run is held, recorded with its logs, then deleted by its TTL', async () => {
    const triggered = await request('POST', '/cronjobs/ttl-zero/trigger');
    expect(triggered.status).toBe(201);
    const created = await job(String(triggered.json.job));
    expect(created?.metadata.finalizers).toContain(RECORD_FINALIZER);
    expect(created?.metadata.annotations?.[PARKED_TTL_ANNOTATION]).toBe('0');
    const execution = await waitForExecution(
      'ttl-zero',
      (e) => e.id === triggered.json.id,
      'the TTL-0 manual run captured',
    );
    expect(execution).toMatchObject({ status: 'succeeded', exitCode: 0, trigger: 'manual' });
    expect(await logsOf('ttl-zero', execution.id)).toContain('hello from a kwok fake container');
    // Released with its TTL back: the TTL controller deletes it.
    await waitGone(String(triggered.json.job));
  });

  test('scheduled runs with ttlSecondsAfterFinished 0 and with history limits 0 are recorded with their logs', async () => {
    const [ttl, history] = await Promise.all([
      waitForExecution('ttl-zero', (e) => e.trigger === 'scheduled', 'a scheduled TTL-0 run'),
      waitForExecution('no-history', (e) => e.trigger === 'scheduled', 'a scheduled run, limits 0'),
    ]);
    for (const [cronjob, e] of [
      ['ttl-zero', ttl],
      ['no-history', history],
    ] as const) {
      expect(e).toMatchObject({ status: 'succeeded', exitCode: 0, logCapture: 'captured' });
      expect(await logsOf(cronjob, e.id)).toContain('hello from a kwok fake container');
      await waitGone(e.jobName);
    }
  });

  test('API killed while a held Job finishes and is deleted: recorded when it starts again', async () => {
    const triggered = await request('POST', '/cronjobs/manual/trigger');
    expect(triggered.status).toBe(201);
    await api.stop('SIGKILL');
    const name = String(triggered.json.job);
    await waitFor(
      `job ${name} complete`,
      60_000,
      async () => (await job(name))?.status?.succeeded === 1,
    );
    await kubectlOk(['delete', 'job', name, '-n', namespace, '--wait=false']);
    const deleting = await job(name);
    // Background deletion: the finalizer keeps the Job, and so the garbage collector its pods.
    expect(deleting?.metadata.deletionTimestamp).toBeDefined();
    await sleep(3000);
    expect(await podsOf(String(triggered.json.id))).toBe(1);
    api = await startApi(env);
    const execution = await waitForExecution(
      'manual',
      (e) => e.id === triggered.json.id,
      'the run recorded after the restart',
    );
    expect(execution).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(await logsOf('manual', execution.id)).toContain('hello from a kwok fake container');
    await waitGone(name);
  });

  test('a running execution whose Job is gone is reconciled on start', async () => {
    // A Job whose pod can never be scheduled stays running.
    const manifest = JSON.parse(
      await kubectlOk([
        'create',
        'job',
        'stuck',
        '--from=cronjob/manual',
        '-n',
        namespace,
        '--dry-run=client',
        '-o',
        'json',
      ]),
    ) as { spec: { template: { spec: Record<string, unknown> } } };
    manifest.spec.template.spec.nodeSelector = { 'hks.dev/no-such-node': 'true' };
    await kubectlOk(['create', '-f', '-'], JSON.stringify(manifest));
    const running = await waitForExecution(
      'manual',
      (e) => e.jobName === 'stuck',
      'the stuck job recorded as running',
      (e) => e.status === 'running',
    );
    await waitFor('stuck held', 30_000, async () =>
      Boolean((await job('stuck'))?.metadata.finalizers?.includes(RECORD_FINALIZER)),
    );
    await api.stop('SIGKILL');
    await kubectlOk([
      'patch',
      'job',
      'stuck',
      '-n',
      namespace,
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/metadata/finalizers"}]',
    ]);
    await kubectlOk(['delete', 'job', 'stuck', '-n', namespace, '--wait=true']);
    api = await startApi(env);
    const reconciled = await waitForExecution(
      'manual',
      (e) => e.id === running.id,
      'the stuck execution reconciled',
      (e) => e.status !== 'running',
    );
    expect(reconciled).toMatchObject({ status: 'unknown', logCapture: 'lost' });
    expect(reconciled.logCaptureError).toContain('no longer existed when the recorder started');
  });

  test('a failed log capture is marked and retried, never stored as done with empty logs', async () => {
    const binding = await kubectlJson<
      Record<string, unknown> & { metadata: Record<string, unknown> }
    >(['get', 'rolebinding', TENANT_ROLE_BINDING, '-n', namespace]);
    const { name, namespace: ns, labels } = binding.metadata;
    const restore = JSON.stringify({ ...binding, metadata: { name, namespace: ns, labels } });
    // Without its RoleBinding the API may not list the pods nor read their logs.
    await kubectlOk(['delete', 'rolebinding', TENANT_ROLE_BINDING, '-n', namespace]);
    try {
      await kubectlOk(['create', 'job', 'refused', '--from=cronjob/manual', '-n', namespace]);
      const failing = await waitForExecution(
        'manual',
        (e) => e.jobName === 'refused',
        'the refused capture marked',
        (e) => e.logCapture === 'failed' && e.logCaptureAttempts >= 2,
      );
      expect(failing.status).toBe('succeeded');
      expect(failing.logCaptureError).toMatch(/forbidden/i);
      expect(await logsOf('manual', failing.id)).not.toContain('hello from a kwok fake container');
    } finally {
      await kubectlOk(['create', '-f', '-'], restore);
    }
    const captured = await waitForExecution(
      'manual',
      (e) => e.jobName === 'refused',
      'the capture retried after access came back',
    );
    expect(captured.logCaptureAttempts).toBeGreaterThanOrEqual(2);
    expect(captured.logCaptureError).toBeUndefined();
    expect(await logsOf('manual', captured.id)).toContain('hello from a kwok fake container');
  });

  test('a purge stays purged when the deletion events of its Jobs arrive', async () => {
    const runs = [
      await request('POST', '/cronjobs/purged/trigger'),
      await request('POST', '/cronjobs/purged/trigger'),
    ];
    for (const run of runs)
      await waitForExecution('purged', (e) => e.id === run.json.id, 'a run to purge');
    const deleted = await request('DELETE', '/applications/purged?purgeHistory=true');
    expect(deleted.status).toBe(200);
    // The CronJob's Jobs are deleted after it (and held until the recorder lets them go).
    for (const run of runs) await waitGone(String(run.json.job));
    await sleep(3000);
    expect(await executions('purged')).toEqual([]);
  });

  test('Idempotency-Key: the same key, twice, concurrently, or after its Job was recorded and removed unkeyed, gives one Job', async () => {
    const key = `retry-${randomBytes(4).toString('hex')}`;
    const first = await request('POST', '/cronjobs/manual/trigger', undefined, {
      'idempotency-key': key,
    });
    expect(first.status).toBe(201);
    const again = await request('POST', '/cronjobs/manual/trigger', undefined, {
      'idempotency-key': key,
    });
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);

    const concurrentKey = `burst-${randomBytes(4).toString('hex')}`;
    const burst = await Promise.all(
      Array.from({ length: 6 }, () =>
        request('POST', '/cronjobs/manual/trigger', undefined, {
          'idempotency-key': concurrentKey,
        }),
      ),
    );
    expect(burst.map((r) => r.status).filter((s) => s === 201)).toHaveLength(1);
    expect(new Set(burst.map((r) => r.json.id)).size).toBe(1);

    const jobs = await kubectlJson<{ items: JobObject[] }>(['get', 'jobs', '-n', namespace]);
    const ids = new Set([first.json.id, burst[0].json.id]);
    expect(jobs.items.filter((j) => ids.has(j.metadata.uid))).toHaveLength(2);
    expect(jobs.items.filter((j) => j.metadata.name === first.json.job)).toHaveLength(1);

    // What an API killed between creating a key's Job and storing its key leaves behind: a Job
    // of the key's name and no key; once recorded, the history limits may remove the Job.
    const lostKey = `lost-${randomBytes(4).toString('hex')}`;
    const hash = createHash('sha256').update(`${PROJECT}\nmanual\n${lostKey}`).digest('hex');
    const lostName = `manual-manual-${hash.slice(0, 10)}`;
    await kubectlOk(['create', 'job', lostName, '--from=cronjob/manual', '-n', namespace]);
    const lostUid = (await job(lostName))?.metadata.uid;
    await waitForExecution('manual', (e) => e.jobName === lostName, `Job ${lostName} recorded`);
    await kubectlOk(['delete', 'job', lostName, '-n', namespace, '--wait=false']);
    await waitGone(lostName);
    const retried = await request('POST', '/cronjobs/manual/trigger', undefined, {
      'idempotency-key': lostKey,
    });
    expect(retried.status).toBe(200);
    expect(retried.json).toEqual({ job: lostName, id: lostUid });
    expect(await job(lostName)).toBeUndefined();

    const bad = await request('POST', '/cronjobs/manual/trigger', undefined, {
      'idempotency-key': 'has space',
    });
    expect(bad.status).toBe(400);
    expect(bad.json.errors).toEqual([
      {
        path: 'Idempotency-Key',
        message: 'given "has space", expected 1 to 255 visible ASCII characters',
      },
    ]);
  });
});
