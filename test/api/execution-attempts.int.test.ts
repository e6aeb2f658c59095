import { kubectlJson } from '../cluster/kubectl';
import { useCronJobProject } from '../support/cronjob-project';
import { executionLogs, waitForEndedExecution } from '../support/executions';
import { testStores } from './api-process';

jest.setTimeout(240_000);

const PROJECT = 'exattempts';

/*
 * The attempts of executions on the test cluster's kwok fake nodes, where a pod labelled
 * `hks.dev/exit-code` ends Failed with that exit code (test/cluster/kwok/stages.yaml) and the
 * Job controller makes a new pod for each retry. test/api/real-node-executions.int.test.ts
 * counts the restarts of a real container.
 */
describe.each(testStores())(
  'The attempts of an execution, through the API ($name store)',
  (store) => {
    const project = useCronJobProject(store, PROJECT, [
      { name: 'once' },
      { name: 'retried', spec: { backoffLimit: 1 }, labels: { 'hks.dev/exit-code': '4' } },
    ]);
    const { namespace, request, trigger } = project;

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
      expect(properties.attempts).toMatchObject({
        type: 'integer',
        minimum: 0,
        description: expect.stringContaining('backoffLimit retries'),
      });
    });
  },
);
