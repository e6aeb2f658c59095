import { useCronJobProject } from '../support/cronjob-project';
import { executionLogs, waitForEndedExecution } from '../support/executions';
import { testStores } from './api-process';

jest.setTimeout(240_000);

const PROJECT = 'exreasons';

/*
 * On the test cluster's kwok fake nodes (test/cluster/kwok/stages.yaml) a container ends
 * `Completed` with 0, or `Error` with the exit code of the pod's `hks.dev/exit-code` label.
 * test/api/real-node-executions.int.test.ts has the reasons of real containers.
 */
describe.each(testStores())(
  'The reasons an execution ended, through the API ($name store)',
  (store) => {
    const project = useCronJobProject(store, PROJECT, [
      { name: 'succeeds' },
      { name: 'fails', spec: { backoffLimit: 0 }, labels: { 'hks.dev/exit-code': '3' } },
    ]);
    const { request, trigger } = project;

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
      const doc = (await (await fetch(`${project.api.url}/openapi.json`)).json()) as {
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
