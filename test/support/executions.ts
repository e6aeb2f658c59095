import type { ExecutionView } from '../../api/routes/cronjobs';
import type { ApiResponse } from '../api/api-process';
import { waitFor } from '../cluster/wait';

/** Sends one request to a project's routes (`projectRequest` bound to an API and a token). */
export type ProjectRequest = (method: string, path: string, body?: unknown) => Promise<ApiResponse>;

/** An execution as `GET .../executions/{id}` answers it. */
export type Execution = ExecutionView;

/**
 * Waits until the execution of a triggered Job has ended and its logs are final (captured or
 * lost), and returns it as the API answers then.
 */
export async function waitForEndedExecution(
  request: ProjectRequest,
  cronjob: string,
  id: string,
  timeoutMs = 150_000,
): Promise<Execution> {
  let found: Execution | undefined;
  await waitFor(
    `execution ${id} of CronJob ${cronjob} ended with its logs final`,
    timeoutMs,
    async () => {
      const res = await request('GET', `/cronjobs/${cronjob}/executions/${id}`);
      found = res.status === 200 ? (res.json as unknown as Execution) : undefined;
      return (
        found !== undefined &&
        found.status !== 'running' &&
        (found.logCapture === 'captured' || found.logCapture === 'lost')
      );
    },
    undefined,
    500,
  );
  return found as Execution;
}

/** The logs of an execution as the API serves them. */
export async function executionLogs(
  request: ProjectRequest,
  cronjob: string,
  id: string,
): Promise<string> {
  const res = await request('GET', `/cronjobs/${cronjob}/executions/${id}/logs`);
  if (res.status !== 200) throw new Error(`GET logs of ${id}: ${res.status} ${res.text}`);
  return res.text;
}
