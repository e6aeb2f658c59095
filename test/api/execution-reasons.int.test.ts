import { randomBytes } from 'node:crypto';
import { API_VERSION } from '../../constructs';
import { kubectlOk } from '../cluster/kubectl';
import { executionLogs, waitForEndedExecution } from '../support/executions';
import { ApiProcess, projectRequest, startApi, testStores, token } from './api-process';

jest.setTimeout(240_000);

const PROJECT = 'exreasons';

const cronJob = (name: string, spec: Record<string, unknown>, labels?: Record<string, string>) => ({
  apiVersion: API_VERSION,
  kind: 'CronJob',
  metadata: { name, project: PROJECT, ...(labels ? { labels } : {}) },
  spec: { image: 'ghcr.io/acme/job:1', schedule: '0 0 1 1 *', suspend: true, ...spec },
});

/*
 * On the test cluster's kwok fake nodes (test/cluster/kwok/stages.yaml) a container ends
 * `Completed` with 0, or `Error` with the exit code of the pod's `hks.dev/exit-code` label.
 * test/api/real-node-executions.int.test.ts has the reasons of real containers.
 */
describe.each(testStores())(
  'The reasons an execution ended, through the API ($name store)',
  (store) => {
    const prefix = `r${randomBytes(2).toString('hex')}-`;
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
        cronJob('succeeds', {}),
        cronJob('fails', { backoffLimit: 0 }, { 'hks.dev/exit-code': '3' }),
      ]) {
        const res = await request('POST', '/applications', definition);
        expect(res.status).toBe(201);
      }
    }, 60_000);

    afterAll(async () => {
      await api?.stop();
      await kubectlOk([
        'delete',
        'namespace',
        `${prefix}${PROJECT}`,
        '--wait=false',
        '--ignore-not-found',
      ]);
    });

    test('a succeeded run: Complete with its reason, the container Completed', async () => {
      const id = await trigger('succeeds');
      const execution = await waitForEndedExecution(request, 'succeeds', id);
      expect(execution).toMatchObject({
        status: 'succeeded',
        exitCode: 0,
        reason: 'CompletionsReached',
        terminationReason: 'Completed',
        logCapture: 'captured',
      });
    });

    test('a failed run: BackoffLimitExceeded, the container Error with its exit code', async () => {
      const id = await trigger('fails');
      const execution = await waitForEndedExecution(request, 'fails', id);
      expect(execution).toMatchObject({
        status: 'failed',
        exitCode: 3,
        reason: 'BackoffLimitExceeded',
        terminationReason: 'Error',
        logCapture: 'captured',
      });
      // Listed with the same fields.
      const page = await request('GET', '/cronjobs/fails/executions');
      expect(page.json.items).toEqual([
        expect.objectContaining({ id, reason: 'BackoffLimitExceeded', terminationReason: 'Error' }),
      ]);
      expect(await executionLogs(request, 'fails', id)).toContain(
        'hello from a kwok fake container',
      );
    });

    test('the OpenAPI document describes both reasons of an execution', async () => {
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
      expect(properties.reason).toMatchObject({
        type: 'string',
        description: expect.stringContaining('DeadlineExceeded'),
      });
      expect(properties.terminationReason).toMatchObject({
        type: 'string',
        description: expect.stringContaining('OOMKilled'),
      });
    });
  },
);
