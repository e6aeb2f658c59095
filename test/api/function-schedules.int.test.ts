/**
 * Functions' schedules through real API processes on the real control plane, the functions
 * run by the Knative stand-in: a schedule really calls its function with its input and the
 * answer is recorded (run and invocation history, trigger timer with faas.cron and faas.time);
 * two replicas on one store and a SIGKILL of the leader between runs record every slot
 * exactly once, the slots missed while no replica led by the catch-up rule; suspend, resume,
 * a manual run; bad schedules refused in a CronJob's words with nothing applied. The schedule
 * clock runs 30 times as fast (HKS_SCHEDULER_CLOCK_SPEED): a cron minute every 2 s.
 */
import { randomBytes } from 'node:crypto';
import { runHksFunc } from '../../cli/hks-func/program';
import { API_VERSION } from '../../constructs';
import { HksClient } from '../../sdk/typescript';
import { kubectl } from '../cluster/kubectl';
import { sleep, waitFor } from '../cluster/wait';
import { TEST_API_IDENTITY } from '../support/api-identity';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import { ApiProcess, projectRequest, startApi, testStores, token } from './api-process';

jest.setTimeout(400_000);

const SPEED = 30;
const MINUTE_MS = 60_000;
const LEASE_SECONDS = 6;
const prefix = `fs${randomBytes(2).toString('hex')}-`;
let standIn: StandInProcess;

interface Run {
  scheduledTime: string;
  trigger: 'timer' | 'manual';
  status: string;
  cron: string;
  invocationId?: string;
  claimedBy?: string;
  output?: string;
  reason?: string;
}

interface Invocation {
  id: string;
  trigger: string;
  cron?: string;
  scheduledTime?: string;
  status: string;
}

const backup = (project: string, schedules: unknown) => ({
  apiVersion: API_VERSION,
  kind: 'Function',
  metadata: { name: 'backup', project },
  spec: {
    runtime: 'python3.12',
    code: [
      'def handler(event, context):',
      '    print("backing up", event.get("s3_bucket"))',
      '    return {"requestId": context.request_id, "input": event, "timer": context.timer}',
      '',
    ].join('\n'),
    schedules,
  },
});

const INPUT = { db_config: { host: 'db.internal', name: 'app' }, s3_bucket: 'backups' };
const NIGHTLY = {
  name: 'nightly',
  cron: '* * * * *',
  input: INPUT,
  startingDeadlineSeconds: 3600,
};

beforeAll(async () => {
  standIn = await startStandIn(prefix);
}, 120_000);

afterAll(async () => {
  await standIn?.stop();
});

describe.each(testStores())('function schedules ($name store)', (testStore) => {
  const project = `fsched-${testStore.name}`;
  const lease = `hks-test-schedules-${randomBytes(3).toString('hex')}`;
  let env: Record<string, string>;
  let headers: Record<string, string>;
  const apis: ApiProcess[] = [];
  const request = (api: ApiProcess, method: string, path: string, body?: unknown) =>
    projectRequest(api, project, headers, method, path, body);
  const runs = async (api: ApiProcess): Promise<Run[]> => {
    const res = await request(api, 'GET', '/functions/backup/schedules/nightly/runs?limit=100');
    expect(res.status).toBe(200);
    return (res.json.items as Run[]).slice().reverse();
  };
  const timerInvocations = async (api: ApiProcess): Promise<Invocation[]> => {
    const res = await request(api, 'GET', '/functions/backup/invocations?trigger=timer&limit=100');
    expect(res.status).toBe(200);
    return res.json.items as Invocation[];
  };
  const leading = (api: ApiProcess) => api.output().includes('"msg":"function scheduler started"');

  beforeAll(async () => {
    env = {
      ...(await testStore.env()),
      HKS_NAMESPACE_PREFIX: prefix,
      HKS_RECORDER: 'off',
      HKS_LEADER_LEASE_NAMESPACE: TEST_API_IDENTITY.namespace,
      HKS_LEADER_LEASE_NAME: lease,
      HKS_LEADER_LEASE_DURATION_SECONDS: String(LEASE_SECONDS),
      HKS_LEADER_RENEW_DEADLINE_SECONDS: '4',
      HKS_LEADER_RETRY_PERIOD_SECONDS: '1',
      HKS_SCHEDULER_TICK_MS: '200',
      HKS_SCHEDULER_CLOCK_SPEED: String(SPEED),
      HKS_SCHEDULER_CLOCK_ANCHOR: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    headers = {
      authorization: `Bearer ${await token([project])}`,
      'content-type': 'application/json',
    };
  });

  afterAll(async () => {
    for (const api of apis)
      if (api.child.exitCode === null && api.child.signalCode === null) await api.stop('SIGKILL');
    await kubectl([
      'delete',
      'lease',
      lease,
      '-n',
      TEST_API_IDENTITY.namespace,
      '--ignore-not-found',
    ]);
  });

  test('bad schedules are refused in the words of a CronJob, naming the field; nothing is applied', async () => {
    const api = await startApi({ ...env, HKS_FUNCTION_SCHEDULES: 'off' });
    apis.push(api);
    const cases: [Record<string, unknown>, string, string][] = [
      [{ cron: '0 3 * *' }, 'cron', 'schedule'],
      [{ timeZone: 'Mars/Olympus' }, 'timeZone', 'timeZone'],
      [{ concurrencyPolicy: 'Sometimes' }, 'concurrencyPolicy', 'concurrencyPolicy'],
    ];
    for (const [field, path, cronJobPath] of cases) {
      const res = await request(
        api,
        'POST',
        '/applications',
        backup(project, [{ ...NIGHTLY, ...field }]),
      );
      expect(res.status).toBe(400);
      const cronJob = await request(api, 'POST', '/applications', {
        apiVersion: API_VERSION,
        kind: 'CronJob',
        metadata: { name: 'bad-cron', project },
        spec: {
          image: 'ghcr.io/acme/job:1',
          schedule: '0 3 * * *',
          [cronJobPath]: Object.values(field)[0],
        },
      });
      expect(cronJob.status).toBe(400);
      const message = (json: Record<string, unknown>, at: string) =>
        (json.errors as { path: string; message: string }[]).find((e) => e.path === at)?.message;
      const ours = message(res.json, `spec.schedules[0].${path}`);
      expect(ours).toBeDefined();
      expect(ours).toBe(message(cronJob.json, `spec.${cronJobPath}`));
    }
    const replace = await request(
      api,
      'POST',
      '/applications',
      backup(project, [{ ...NIGHTLY, concurrencyPolicy: 'Replace' }]),
    );
    expect(replace.status).toBe(400);
    expect(replace.text).toContain('spec.schedules[0].concurrencyPolicy');
    expect(replace.text).toContain('cannot be stopped');
    const tooBig = await request(
      api,
      'POST',
      '/applications',
      backup(project, [{ ...NIGHTLY, input: { blob: 'x'.repeat(70_000) } }]),
    );
    expect(tooBig.status).toBe(400);
    expect(tooBig.text).toContain('spec.schedules[0].input');
    expect((await request(api, 'GET', '/applications/backup')).status).toBe(404);
    await api.stop();
    apis.pop();
  });

  test('the leader calls the function on each slot, a SIGKILL between runs loses or doubles none; suspend, resume and a manual run', async () => {
    const first = await startApi(env);
    apis.push(first);
    await waitFor('the first replica to lead', 30_000, async () => leading(first), undefined, 100);
    const second = await startApi(env);
    apis.push(second);
    expect((await request(first, 'POST', '/applications', backup(project, [NIGHTLY]))).status).toBe(
      201,
    );
    await waitFor('backup ready', 60_000, async () => {
      const res = await request(first, 'GET', '/functions/backup');
      return res.status === 200 && res.json.ready === true;
    });

    // Runs by the first leader, really answered by the function.
    await waitFor(
      '3 runs by the first leader',
      60_000,
      async () => (await runs(second)).filter((r) => r.status === 'succeeded').length >= 3,
    );
    expect(leading(second)).toBe(false);
    const [one] = (await runs(second)).filter((r) => r.status === 'succeeded');
    expect(one.trigger).toBe('timer');
    expect(one.cron).toBe('* * * * *');
    expect(Date.parse(one.scheduledTime) % MINUTE_MS).toBe(0);
    // The function saw the run's id, its input and faas.cron/faas.time (context.timer).
    expect(JSON.parse(one.output ?? '')).toEqual({
      requestId: one.invocationId,
      input: INPUT,
      timer: { cron: '* * * * *', time: one.scheduledTime },
    });
    const recorded = (await timerInvocations(second)).find((i) => i.id === one.invocationId);
    expect(recorded).toMatchObject({
      trigger: 'timer',
      cron: '* * * * *',
      scheduledTime: one.scheduledTime,
      status: 'succeeded',
    });

    // SIGKILL between two runs (each lasts milliseconds; a slot every 2 s).
    await waitFor(
      'a run just ended',
      10_000,
      async () => {
        const latest = (await runs(second)).at(-1);
        return latest?.status === 'succeeded';
      },
      undefined,
      100,
    );
    await first.stop('SIGKILL');
    const killedAt = Date.now();
    await waitFor(
      'the second replica to lead',
      60_000,
      async () => leading(second),
      undefined,
      200,
    );
    console.log(`takeover after the SIGKILL: ${((Date.now() - killedAt) / 1000).toFixed(1)} s`);
    await waitFor('3 runs by the second leader', 60_000, async () => {
      const all = await runs(second);
      return (
        all.filter((r) => r.status === 'succeeded' && r.claimedBy !== one.claimedBy).length >= 3
      );
    });

    // Suspend: no new runs; resume: runs again, without catching the suspended slots up.
    const suspended = await request(second, 'PATCH', '/functions/backup/schedules/nightly', {
      suspend: true,
    });
    expect(suspended.status).toBe(200);
    expect(suspended.json).toMatchObject({ suspend: true, nextRuns: [] });
    await sleep(1000);
    const atSuspend = (await runs(second)).length;
    await sleep(5000);
    const whileSuspended = await runs(second);
    expect(whileSuspended.length).toBe(atSuspend);
    const resumed = await request(second, 'PATCH', '/functions/backup/schedules/nightly', {
      suspend: false,
    });
    expect(resumed.status).toBe(200);
    await waitFor(
      'a run after the resume',
      30_000,
      async () => (await runs(second)).length > atSuspend,
    );

    // Every slot from the first to the last has exactly one run; each called slot exactly one
    // invocation in the history, none twice.
    const all = (await runs(second)).filter((r) => r.trigger === 'timer');
    const times = all.map((r) => Date.parse(r.scheduledTime));
    // Slots while suspended are not owed: contiguous up to the suspend.
    const lastBeforeSuspend = Date.parse(whileSuspended.at(-1)?.scheduledTime ?? '');
    const beforeResume = times.filter((t) => t <= lastBeforeSuspend);
    for (let i = 1; i < beforeResume.length; i++)
      expect(beforeResume[i] - beforeResume[i - 1]).toBe(MINUTE_MS);
    const counts = all.reduce<Record<string, number>>(
      (c, r) => ({ ...c, [r.status]: (c[r.status] ?? 0) + 1 }),
      {},
    );
    console.log(`timer runs by status: ${JSON.stringify(counts)}`);
    // The takeover gap: the slots in it are missed, the latest of them run on takeover.
    expect(counts.missed ?? 0).toBeGreaterThanOrEqual(1);
    expect(counts.lost ?? 0).toBe(0);
    const history = await timerInvocations(second);
    const called = all.filter((r) => r.status === 'succeeded');
    for (const run of called)
      expect(
        history.filter((i) => i.scheduledTime === run.scheduledTime && i.cron === run.cron),
      ).toHaveLength(1);
    expect(new Set(history.map((i) => i.id)).size).toBe(history.length);

    // A manual run: answered with the function's output, recorded as manual and in the history.
    // Forbid (the default): refused while a timer run still runs (409), so asked again then.
    let manual = await request(second, 'POST', '/functions/backup/schedules/nightly/trigger');
    for (let i = 0; manual.status === 409 && i < 20; i++) {
      expect(manual.json.title).toBe('Run still running');
      await sleep(100);
      manual = await request(second, 'POST', '/functions/backup/schedules/nightly/trigger');
    }
    expect(manual.status).toBe(201);
    expect(manual.json).toMatchObject({ trigger: 'manual', status: 'succeeded' });
    expect(JSON.parse(String(manual.json.output))).toMatchObject({
      input: INPUT,
      timer: { cron: '* * * * *', time: manual.json.scheduledTime },
    });
    await waitFor('the manual run in the history', 10_000, async () =>
      (await timerInvocations(second)).some((i) => i.id === manual.json.invocationId),
    );
    const listed = await request(second, 'GET', '/functions/backup/schedules');
    expect(listed.status).toBe(200);
    const [view] = listed.json.items as { name: string; nextRuns: string[]; lastRun?: Run }[];
    expect(view.name).toBe('nightly');
    expect(view.nextRuns).toHaveLength(3);
    expect(view.lastRun?.trigger).toBe('manual');
    const unknown = await request(second, 'POST', '/functions/backup/schedules/weekly/trigger');
    expect(unknown.status).toBe(404);
    expect(String(unknown.json.detail)).toContain('(schedules: ["nightly"])');
  });

  test('the CLI and the TypeScript SDK: list, suspend, a manual run of a suspended schedule, resume', async () => {
    const api = apis.at(-1) as ApiProcess;
    const userToken = headers.authorization.slice('Bearer '.length);
    const cli = async (...args: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await runHksFunc(
        [...args, '--api-url', api.url, '--token', userToken, '--project', project],
        {
          stdout: (t) => (stdout += t),
          stderr: (t) => (stderr += t),
          env: { HKS_CONFIG: '/nonexistent/hks-config.json' },
          stderrIsTTY: false,
          cwd: process.cwd(),
        },
      );
      return { code, stdout, stderr };
    };
    const listed = await cli('schedule', 'list', 'backup');
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const [header, row] = listed.stdout.trimEnd().split('\n');
    expect(header.split(/\s{2,}/)).toEqual([
      'NAME',
      'CRON',
      'ZONE',
      'POLICY',
      'SUSPENDED',
      'NEXT',
      'LAST RUN',
    ]);
    expect(row.split(/\s+/).slice(0, 8)).toEqual([
      'nightly',
      '*',
      '*',
      '*',
      '*',
      '*',
      'UTC',
      'Forbid',
    ]);

    expect(await cli('schedule', 'suspend', 'backup', 'nightly')).toMatchObject({
      code: 0,
      stdout: 'backup/nightly suspended\n',
    });
    const client = new HksClient({ apiUrl: api.url, token: userToken });
    const [view] = await client.schedules.list(project, 'backup');
    expect(view).toMatchObject({ name: 'nightly', suspend: true, nextRuns: [] });
    // Suspended: no new timer runs, but a manual run is still possible (as a CronJob's).
    await waitFor('no run still running', 60_000, async () =>
      (await client.schedules.runs(project, 'backup', 'nightly')).every(
        (r) => r.status !== 'running',
      ),
    );
    const triggered = await cli('schedule', 'trigger', 'backup', 'nightly');
    expect(triggered.code).toBe(0);
    expect(triggered.stdout).toMatch(
      /^run \S+ \(manual\): succeeded 200\ninvocation [0-9a-f-]{36}\n\{/,
    );
    const [latest] = await client.schedules.runs(project, 'backup', 'nightly', 1);
    expect(latest).toMatchObject({ trigger: 'manual', status: 'succeeded' });
    const resumed = await client.schedules.resume(project, 'backup', 'nightly');
    expect(resumed).toMatchObject({ suspend: false });
    expect(resumed.nextRuns).toHaveLength(3);
    const unknown = await cli('schedule', 'trigger', 'backup', 'weekly');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('has no schedule "weekly"');
  });

  test('a run whose replica is killed during the call is closed as lost after its deadline, never called again; Forbid skips meanwhile', async () => {
    const leader = apis.at(-1) as ApiProcess;
    const follower = await startApi(env);
    apis.push(follower);
    const slow = {
      apiVersion: API_VERSION,
      kind: 'Function',
      metadata: { name: 'slow', project },
      spec: {
        runtime: 'python3.12',
        code: 'import time\n\ndef handler(event):\n    time.sleep(event["sleep"])\n    return event\n',
        timeoutSeconds: 5,
        schedules: [
          { name: 'tick', cron: '* * * * *', input: { sleep: 4 }, startingDeadlineSeconds: 3600 },
        ],
      },
    };
    expect((await request(leader, 'POST', '/applications', slow)).status).toBe(201);
    const slowRuns = async (): Promise<Run[]> => {
      const res = await request(follower, 'GET', '/functions/slow/schedules/tick/runs?limit=100');
      return res.status === 200 ? (res.json.items as Run[]).slice().reverse() : [];
    };
    let killed: Run | undefined;
    await waitFor(
      'a call under way',
      90_000,
      async () => {
        killed = (await slowRuns()).find((r) => r.status === 'running');
        return killed !== undefined;
      },
      undefined,
      100,
    );
    await leader.stop('SIGKILL');
    await waitFor('the follower to lead', 60_000, async () => leading(follower), undefined, 200);
    // Its deadline: the function's 5 s timeout and 15 s of margin after the claim.
    let closed: Run | undefined;
    await waitFor(
      'the killed run closed',
      60_000,
      async () => {
        closed = (await slowRuns()).find((r) => r.scheduledTime === killed?.scheduledTime);
        return closed?.status !== 'running';
      },
      undefined,
      500,
    );
    expect(closed).toMatchObject({ status: 'lost', invocationId: killed?.invocationId });
    expect(closed?.reason).toContain('not run again');
    const all = await slowRuns();
    const after = all.filter(
      (r) => Date.parse(r.scheduledTime) > Date.parse(killed?.scheduledTime ?? ''),
    );
    console.log(
      `slow runs by status: ${JSON.stringify(all.reduce<Record<string, number>>((c, r) => ({ ...c, [r.status]: (c[r.status] ?? 0) + 1 }), {}))}`,
    );
    // While it counted as running, Forbid skipped the times due (or the rule missed them).
    expect(after.some((r) => r.status === 'skipped')).toBe(true);
    // The killed call never reached the history (its replica died before the answer).
    const history = await request(
      follower,
      'GET',
      '/functions/slow/invocations?trigger=timer&limit=100',
    );
    const ids = (history.json.items as Invocation[]).map((i) => i.id);
    expect(ids).not.toContain(killed?.invocationId);
    expect(new Set(all.map((r) => r.scheduledTime)).size).toBe(all.length);
  });
});
