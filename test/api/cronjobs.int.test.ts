import { API_VERSION } from '../../constructs';
import { kubectlJson, kubectlOk } from '../cluster/kubectl';
import { waitFor } from '../cluster/wait';
import { ApiProcess, projectRequest, startApi, token } from './api-process';
import { startStoreApisAtOnce } from '../support/store-apis';

jest.setTimeout(180_000);

interface ExecutionView {
  id: string;
  jobName: string;
  trigger: string;
  status: string;
  exitCode?: number;
  startedAt: string;
  completedAt?: string;
  logsTruncated: boolean;
}

const definitions = [
  {
    apiVersion: API_VERSION,
    kind: 'StatelessApplication',
    metadata: { name: 'api', project: 'shop' },
    spec: { image: 'ghcr.io/acme/api:1.0.0', env: { LOG_LEVEL: 'info' } },
  },
  {
    apiVersion: API_VERSION,
    kind: 'CronJob',
    metadata: { name: 'report', project: 'shop' },
    spec: { template: 'api', schedule: '*/1 * * * *', timeZone: 'Asia/Tokyo', args: ['report.js'] },
  },
  {
    apiVersion: API_VERSION,
    kind: 'CronJob',
    // The test cluster's fake nodes end pods labelled hks.dev/exit-code with that exit code.
    metadata: { name: 'failing', project: 'shop', labels: { 'hks.dev/exit-code': '3' } },
    spec: { image: 'ghcr.io/acme/job:1', schedule: '0 0 1 1 *', backoffLimit: 0 },
  },
];

const { stores, ...storeApis } = startStoreApisAtOnce('shop', definitions, 'c');

describe.each(stores)(
  'CronJobs and their executions through the API ($name store)',
  ({ name, prefix }) => {
    const namespace = `${prefix}shop`;
    let env: Record<string, string>;
    let api: ApiProcess;
    let headers: Record<string, string>;
    const request = (method: string, path: string, body?: unknown) =>
      projectRequest(api, 'shop', headers, method, path, body);
    const executions = async (cronjob: string, query = '') =>
      (await request('GET', `/cronjobs/${cronjob}/executions${query}`)).json
        .items as ExecutionView[];
    const waitForExecution = async (
      cronjob: string,
      match: (e: ExecutionView) => boolean,
      what: string,
    ) => {
      let found: ExecutionView | undefined;
      await waitFor(
        what,
        120_000,
        async () => {
          found = (await executions(cronjob, '?limit=100')).find(match);
          // Ended, and its pods read: the status is stored as soon as the Job ends, the exit
          // code and logs once they are captured.
          return (
            found !== undefined &&
            found.status !== 'running' &&
            ['captured', 'lost'].includes((found as { logCapture?: string }).logCapture ?? '')
          );
        },
        undefined,
        500,
      );
      return found as ExecutionView;
    };

    beforeAll(async () => {
      ({ env, api } = await storeApis.apiOf(name));
      headers = {
        authorization: `Bearer ${await token(['shop'])}`,
        'content-type': 'application/json',
      };
    });

    afterAll(async () => {
      // Started by the file's beforeAll even when this block's own failed.
      await storeApis.stop(name, api);
      await kubectlOk(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
    });

    test('GET a CronJob: definition, live status and the next 5 runs in its time zone', async () => {
      const res = await request('GET', '/cronjobs/report');
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({
        name: 'report',
        timeZone: 'Asia/Tokyo',
        status: { exists: true, suspended: false },
      });
      const runs = (res.json.nextRuns as string[]).map((r) => new Date(r).getTime());
      expect(runs).toHaveLength(5);
      expect(runs[1] - runs[0]).toBe(60_000);
      expect((await request('GET', '/cronjobs/api')).status).toBe(404);
    });

    test('a manual run is recorded with trigger, exit code 0 and its logs', async () => {
      const triggered = await request('POST', '/cronjobs/report/trigger');
      expect(triggered.status).toBe(201);
      const job = await kubectlJson<{
        metadata: {
          annotations: Record<string, string>;
          ownerReferences: { kind: string; name: string }[];
        };
      }>(['get', 'job', String(triggered.json.job), '-n', namespace]);
      expect(job.metadata.annotations['cronjob.kubernetes.io/instantiate']).toBe('manual');
      expect(job.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'CronJob', name: 'report' }),
      ]);
      const execution = await waitForExecution(
        'report',
        (e) => e.id === triggered.json.id,
        'the manual run recorded',
      );
      expect(execution).toMatchObject({
        trigger: 'manual',
        status: 'succeeded',
        exitCode: 0,
        jobName: triggered.json.job,
        logsTruncated: false,
      });
      expect(execution.completedAt).toBeDefined();
      const one = await request('GET', `/cronjobs/report/executions/${execution.id}`);
      expect(one.json).toMatchObject({ id: execution.id, status: 'succeeded' });
      const logs = await request('GET', `/cronjobs/report/executions/${execution.id}/logs`);
      expect(logs.text).toContain('hello from a kwok fake container');
      expect((await request('GET', '/cronjobs/report/executions/no-such-id')).status).toBe(404);
    });

    test('a failing job records its non-zero exit code', async () => {
      const triggered = await request('POST', '/cronjobs/failing/trigger');
      expect(triggered.status).toBe(201);
      const execution = await waitForExecution(
        'failing',
        (e) => e.id === triggered.json.id,
        'the failed run recorded',
      );
      expect(execution).toMatchObject({ status: 'failed', exitCode: 3, trigger: 'manual' });
      expect((await executions('failing', '?status=succeeded')).length).toBe(0);
      expect((await executions('failing', '?status=failed')).map((e) => e.id)).toEqual([
        execution.id,
      ]);
    });

    test('a scheduled run is recorded as scheduled', async () => {
      const execution = await waitForExecution(
        'report',
        (e) => e.trigger === 'scheduled',
        'a scheduled run of */1 * * * *',
      );
      expect(execution).toMatchObject({ status: 'succeeded', exitCode: 0 });
    });

    test('paging: newest first, cursors, filters, and bad queries', async () => {
      await request('POST', '/cronjobs/report/trigger');
      await waitFor(
        'three executions',
        60_000,
        async () =>
          (await executions('report', '?limit=100')).filter((e) => e.status !== 'running').length >=
          3,
        undefined,
        500,
      );
      const all = await executions('report', '?limit=100');
      const sorted = [...all].sort((a, b) =>
        a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : a.id < b.id ? 1 : -1,
      );
      expect(all.map((e) => e.id)).toEqual(sorted.map((e) => e.id));
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await request(
          'GET',
          `/cronjobs/report/executions?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        );
        seen.push(...(page.json.items as ExecutionView[]).map((e) => e.id));
        cursor = page.json.nextCursor as string | undefined;
      } while (cursor);
      expect(seen).toEqual(all.map((e) => e.id));
      expect(
        (await request('GET', '/cronjobs/report/executions?cursor=garbage')).json.errors,
      ).toEqual([
        {
          path: 'cursor',
          message: 'given "garbage", expected a cursor returned as nextCursor by a previous page',
        },
      ]);
      expect((await request('GET', '/cronjobs/report/executions?limit=0')).json.errors).toEqual([
        { path: 'limit', message: 'given 0, expected at least 1' },
      ]);
      expect((await request('GET', '/cronjobs/report/executions?status=done')).status).toBe(400);
    });

    test('PATCH schedule and time zone, validated; suspend and resume', async () => {
      const bad = await request('PATCH', '/cronjobs/report/schedule', {
        schedule: 'TZ=UTC 0 4 * * *',
      });
      expect(bad.status).toBe(400);
      expect(bad.json.errors).toEqual([
        { path: 'schedule', message: expect.stringContaining('expected no CRON_TZ=/TZ= prefix') },
      ]);
      expect((await request('PATCH', '/cronjobs/report/schedule', {})).status).toBe(400);
      expect(
        (await request('PATCH', '/cronjobs/report/schedule', { timeZone: 'Asia/Tokio' })).json
          .errors,
      ).toEqual([
        {
          path: 'timeZone',
          message:
            'given "Asia/Tokio", expected an IANA time zone such as Asia/Tokyo, Europe/Berlin or UTC',
        },
      ]);
      const cluster = async () =>
        kubectlJson<{ spec: { schedule: string; timeZone?: string; suspend: boolean } }>([
          'get',
          'cronjob',
          'report',
          '-n',
          namespace,
        ]);
      expect((await cluster()).spec.schedule).toBe('*/1 * * * *');

      const changed = await request('PATCH', '/cronjobs/report/schedule', {
        schedule: '0 4 * * *',
        timeZone: 'Europe/Berlin',
      });
      expect(changed.status).toBe(200);
      expect((await cluster()).spec).toMatchObject({
        schedule: '0 4 * * *',
        timeZone: 'Europe/Berlin',
      });
      expect((await request('PATCH', '/cronjobs/report/schedule', { timeZone: null })).status).toBe(
        200,
      );
      expect((await cluster()).spec.timeZone).toBeUndefined();

      expect((await request('POST', '/cronjobs/report/suspend')).status).toBe(200);
      expect((await cluster()).spec.suspend).toBe(true);
      expect((await request('GET', '/cronjobs/report')).json).toMatchObject({
        status: { suspended: true },
      });
      expect((await request('POST', '/cronjobs/report/resume')).status).toBe(200);
      expect((await cluster()).spec.suspend).toBe(false);
      expect((await request('GET', '/applications/report')).json.version).toBe(5);
    });

    test('killed with SIGKILL, restarted, and run twice at once: every job recorded exactly once', async () => {
      await api.stop('SIGKILL');
      // A run while the API is down (as kubectl would start it).
      await kubectlOk(['create', 'job', 'while-down', '--from=cronjob/report', '-n', namespace]);
      await waitFor('job while-down complete', 60_000, async () => {
        const job = await kubectlJson<{ status?: { succeeded?: number } }>([
          'get',
          'job',
          'while-down',
          '-n',
          namespace,
        ]);
        return job.status?.succeeded === 1;
      });
      // The two replicas start side by side, as a Deployment's would.
      const [restarted, second] = await Promise.all([startApi(env), startApi(env)]);
      api = restarted;
      try {
        const recorded = await waitForExecution(
          'report',
          (e) => e.jobName === 'while-down',
          'the backfilled run',
        );
        expect(recorded).toMatchObject({ trigger: 'manual', status: 'succeeded', exitCode: 0 });
        const triggered = await request('POST', '/cronjobs/report/trigger');
        await waitForExecution(
          'report',
          (e) => e.id === triggered.json.id,
          'a run seen by two replicas',
        );
      } finally {
        await second.stop('SIGKILL');
      }
      await api.stop('SIGKILL');
      api = await startApi(env);
      await new Promise((r) => setTimeout(r, 2000));
      const all = await executions('report', '?limit=100');
      const ids = all.map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(all.filter((e) => e.jobName === 'while-down')).toHaveLength(1);
    });

    test('deleting a CronJob keeps its history unless purged', async () => {
      expect((await request('DELETE', '/applications/failing')).status).toBe(200);
      expect((await executions('failing')).length).toBe(1);
    });
  },
);
