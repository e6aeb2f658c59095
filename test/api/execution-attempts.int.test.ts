import { randomBytes } from 'node:crypto';
import { API_VERSION } from '../../constructs';
import { kubectlJson, kubectlOk } from '../cluster/kubectl';
import { executionLogs, waitForEndedExecution } from '../support/executions';
import { ApiProcess, projectRequest, startApi, testStores, token } from './api-process';

jest.setTimeout(240_000);

const PROJECT = 'exattempts';

const cronJob = (name: string, spec: Record<string, unknown>, labels?: Record<string, string>) => ({
  apiVersion: API_VERSION,
  kind: 'CronJob',
  metadata: { name, project: PROJECT, ...(labels ? { labels } : {}) },
  spec: { image: 'ghcr.io/acme/job:1', schedule: '0 0 1 1 *', suspend: true, ...spec },
});

/*
 * The attempts of executions on the test cluster's kwok fake nodes, where a pod labelled
 * `hks.dev/exit-code` ends Failed with that exit code (test/cluster/kwok/stages.yaml) and the
 * Job controller makes a new pod for each retry. test/api/real-node-executions.int.test.ts
 * counts the restarts of a real container.
 */
describe.each(testStores())(
  'The attempts of an execution, through the API ($name store)',
  (store) => {
    const prefix = `a${randomBytes(2).toString('hex')}-`;
    const namespace = `${prefix}${PROJECT}`;
    let api: ApiProcess;
    let headers: Record<string, string>;
    const request = (method: string, path: string, body?: unknown) =>
      projectRequest(api, PROJECT, headers, method, path, body);
    const trigger = async (cronjob: string) => {
      const res = await request('POST', `/cronjobs/${cronjob}/trigger`);
      expect(res.status).toBe(201);
      return String(res.json.id);
    };

    beforeAll(async () => {
      api = await startApi({ ...(await store.env()), HKS_NAMESPACE_PREFIX: prefix });
      headers = {
        authorization: `Bearer ${await token([PROJECT])}`,
        'content-type': 'application/json',
      };
      for (const definition of [
        cronJob('once', {}),
        cronJob('retried', { backoffLimit: 1 }, { 'hks.dev/exit-code': '4' }),
      ]) {
        const res = await request('POST', '/applications', definition);
        expect(res.status).toBe(201);
      }
    }, 60_000);

    afterAll(async () => {
      await api?.stop();
      await kubectlOk(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
    });

    test('a run that succeeds at once: 1 attempt', async () => {
      const id = await trigger('once');
      const execution = await waitForEndedExecution(request, 'once', id);
      expect(execution).toMatchObject({ status: 'succeeded', exitCode: 0, attempts: 1 });
    });

    test('backoffLimit 1, failing: 2 attempts, two pods, listed with the count', async () => {
      const id = await trigger('retried');
      const execution = await waitForEndedExecution(request, 'retried', id);
      expect(execution).toMatchObject({
        status: 'failed',
        exitCode: 4,
        reason: 'BackoffLimitExceeded',
        logCapture: 'captured',
        attempts: 2,
      });
      const pods = await kubectlJson<{ items: unknown[] }>([
        'get',
        'pods',
        '-n',
        namespace,
        '-l',
        `batch.kubernetes.io/controller-uid=${id}`,
      ]);
      expect(pods.items).toHaveLength(2);
      expect(await executionLogs(request, 'retried', id)).toMatch(/^--- attempt 1 of 2: pod /);
      const listed = await request('GET', '/cronjobs/retried/executions');
      expect(listed.json.items).toEqual([expect.objectContaining({ id, attempts: 2 })]);
      const project = await request('GET', '/executions?cronjob=retried');
      expect(project.json.items).toEqual([expect.objectContaining({ id, attempts: 2 })]);
    });

    test('the OpenAPI document describes the attempts of an execution', async () => {
      const doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
        paths: Record<string, Record<string, unknown>>;
      };
      const get = doc.paths['/api/v1/projects/{project}/cronjobs/{name}/executions/{id}']?.get as {
        responses: Record<
          string,
          { content: Record<string, { schema: { properties: Record<string, object> } }> }
        >;
      };
      const { properties } = get.responses['200'].content['application/json'].schema;
      expect(properties.attempts).toMatchObject({
        type: 'integer',
        minimum: 0,
        description: expect.stringContaining('backoffLimit retries'),
      });
    });
  },
);
