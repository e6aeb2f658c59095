import { randomBytes } from 'node:crypto';
import { API_VERSION } from '../../constructs';
import { kubectlOk } from '../cluster/kubectl';
import { waitFor } from '../cluster/wait';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import {
  ApiProcess,
  internalToken,
  metricsText,
  projectRequest,
  startApi,
  testStores,
  token,
} from './api-process';

jest.setTimeout(240_000);

const PROJECT = 'metricsconv';

/**
 * The metrics through the real API: invocations of a function (the Knative stand-in runs the
 * real bootstrap) and of execute-once by the FaaS conventions, and a CronJob scheduled on the
 * kwok fake nodes in the executions and lag metrics.
 */
const prefix = `m${randomBytes(2).toString('hex')}-`;
let api: ApiProcess;
let standIn: StandInProcess;
let headers: Record<string, string>;
const request = (method: string, path: string, body?: unknown) =>
  projectRequest(api, PROJECT, headers, method, path, body);

/** The value of the one series of `name` with exactly these labels, 0 when there is none. */
function valueOf(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

/** The value of a series without labels, 0 when there is none. */
function count(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

beforeAll(async () => {
  standIn = await startStandIn(prefix);
  api = await startApi({ ...(await testStores()[0].env()), HKS_NAMESPACE_PREFIX: prefix });
  headers = {
    authorization: `Bearer ${await token([PROJECT])}`,
    'content-type': 'application/json',
  };
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await standIn?.stop();
  await kubectlOk([
    'delete',
    'namespace',
    `${prefix}${PROJECT}`,
    '--wait=false',
    '--ignore-not-found',
  ]);
});

test('an invoke and an execute-once are counted in faas_invocations_total with bounded labels', async () => {
  const created = await request('POST', '/applications', {
    apiVersion: API_VERSION,
    kind: 'Function',
    metadata: { name: 'tally', project: PROJECT },
    spec: {
      runtime: 'python3.12',
      code: 'def handler(event, context):\n    if event.get("fail"):\n        raise ValueError("no")\n    return {"ok": True}\n',
    },
  });
  expect(created.status).toBe(201);
  await waitFor('function tally ready', 60_000, async () => {
    const res = await request('GET', '/functions/tally');
    return res.status === 200 && res.json.ready === true;
  });
  const invoke = (body: unknown) =>
    fetch(`${api.url}/api/v1/projects/${PROJECT}/functions/tally/invoke`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    });
  expect((await invoke({})).status).toBe(200);
  expect((await invoke({ fail: true })).status).toBe(500);

  const executed = await fetch(`${api.url}/internal/v1/operations/execute`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await internalToken([PROJECT])}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      runtime: 'python3.12',
      code: 'def handler(event, context):\n    return 1\n',
    }),
  });
  expect(((await executed.json()) as { status: string }).status).toBe('succeeded');

  // A path no route declares: no series of its own.
  const random = `/api/v1/nothing-${randomBytes(4).toString('hex')}`;
  expect((await fetch(`${api.url}${random}`, { headers })).status).toBe(404);

  // The history's records are written after the answer: the counts come right after.
  let text = '';
  const http = `project="${PROJECT}",faas_name="tally",faas_trigger="http"`;
  const execute = `project="${PROJECT}",faas_name="(temporary)",faas_trigger="execute"`;
  await waitFor('the invocations in the metrics', 10_000, async () => {
    text = await metricsText(api);
    return valueOf(text, 'faas_invocations_total', execute) === 1;
  });
  expect(valueOf(text, 'faas_invocations_total', http)).toBe(1);
  expect(valueOf(text, 'faas_errors_total', `${http},error_type="failed"`)).toBe(1);
  expect(valueOf(text, 'faas_invoke_duration_seconds_count', http)).toBe(2);
  expect(valueOf(text, 'faas_invoke_duration_seconds_count', execute)).toBe(1);
  // The first invoke started the function's instance; the second found it running.
  expect(valueOf(text, 'faas_coldstarts_total', http)).toBe(1);
  expect(valueOf(text, 'faas_coldstarts_total', execute)).toBe(1);
  // No temporary function's own name, no raw path.
  expect(text).not.toMatch(/exec-[0-9a-f]{12}/);
  expect(text).not.toContain(random);
  expect(text).not.toContain('nothing-');
  expect(text).toMatch(
    /hks_http_request_duration_seconds_count\{[^}]*route="unmatched"[^}]*status="404"/,
  );
});

test('a CronJob scheduled on the kwok nodes shows in executions by status, schedule lag and recorder lag', async () => {
  const before = await metricsText(api);
  const created = await request('POST', '/applications', {
    apiVersion: API_VERSION,
    kind: 'CronJob',
    metadata: { name: 'ticker', project: PROJECT },
    // Every minute: the first run comes at the next minute's start.
    spec: { image: 'ghcr.io/acme/job:1', schedule: '* * * * *' },
  });
  expect(created.status).toBe(201);
  let text = '';
  await waitFor('a scheduled run recorded', 150_000, async () => {
    text = await metricsText(api);
    return (
      count(text, 'hks_schedule_lag_seconds_count') >
      count(before, 'hks_schedule_lag_seconds_count')
    );
  });
  expect(count(text, 'hks_recorder_lag_seconds_count')).toBeGreaterThan(
    count(before, 'hks_recorder_lag_seconds_count'),
  );
  expect(
    valueOf(text, 'hks_executions_recorded_total', 'status="succeeded"'),
  ).toBeGreaterThanOrEqual(1);
  const lag =
    count(text, 'hks_schedule_lag_seconds_sum') / count(text, 'hks_schedule_lag_seconds_count');
  const recorderLag =
    count(text, 'hks_recorder_lag_seconds_sum') / count(text, 'hks_recorder_lag_seconds_count');
  console.log(`schedule lag ${lag.toFixed(2)} s, recorder lag ${recorderLag.toFixed(2)} s (mean)`);
  // The Job starts after its scheduled time, within the controller's deadline.
  expect(lag).toBeGreaterThanOrEqual(0);
  expect(lag).toBeLessThan(60);
  await request('DELETE', '/applications/ticker');
});
