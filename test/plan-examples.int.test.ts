import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ApiProcess, internalToken, startApi, testStores } from './api/api-process';
import { planExamples, planFile, planStandIns } from './support/plan-examples';
import { StandInProcess, startStandIn } from './support/knative-stand-in';

jest.setTimeout(180_000);

/**
 * The integration examples of the plan this platform comes from (backup automation, alert
 * handler), their code read from the plan file at test time exactly as written there, run on
 * the platform through the real API with Knative played by the stand-in. What needs the
 * internet or is left undefined by the plan (boto3's S3, `perform_backup`,
 * `scale_deployment`, `send_slack_message`) comes from examples/plan-stand-ins, placed beside
 * the code: execute-once takes one module only, so those runs are temporary functions with
 * `files` (deploy-function, invoke, delete), the same path split in three calls.
 */
const prefix = `p${randomBytes(2).toString('hex')}-`;
const project = 'planex';
let api: ApiProcess;
let standIn: StandInProcess;
let internal: string;

interface ExecutionResult {
  status: string;
  result?: unknown;
  error?: { type: string; message: string };
  logs: string;
}

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${api.url}/internal/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${internal}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

/** Deploys `files` as a temporary function, invokes it once with `input`, deletes it. */
async function runWithFiles(
  handler: string,
  files: Record<string, string>,
  input: unknown,
  env: Record<string, string> = {},
): Promise<ExecutionResult> {
  const created = await call('POST', '/operations/deploy-function', {
    runtime: 'python3.12',
    handler,
    files,
    env,
    ttlSeconds: 300,
  });
  expect(created.status).toBe(201);
  expect(created.json).toMatchObject({ ready: true });
  const id = String(created.json.id);
  try {
    const invoked = await call('POST', `/operations/functions/${id}/invoke`, input);
    expect(invoked.status).toBe(200);
    return invoked.json as unknown as ExecutionResult;
  } finally {
    expect((await call('DELETE', `/operations/functions/${id}`)).status).toBe(204);
  }
}

/** The JSON lines the stand-ins printed, in order. */
const standInLines = (logs: string) =>
  logs
    .split('\n')
    .filter((line) => line.startsWith('{"standIn"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

const examples = planExamples();

beforeAll(async () => {
  standIn = await startStandIn(prefix);
  api = await startApi({
    ...(await testStores()[0].env()),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
    HKS_JANITOR_INTERVAL_SECONDS: '0',
  });
  internal = await internalToken([project]);
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await standIn?.stop();
});

test("the plan's examples are read from the plan file as one-parameter handlers", () => {
  expect(planFile()).toMatch(/plan[/\\]cronjob-and-function-plan\.md$/);
  expect(examples.backup).toContain('\ndef handler(event):\n');
  expect(examples.backup).toContain('s3 = boto3.client(');
  expect(examples.alert).toContain('\ndef handler(event):\n');
  expect(examples.alert).toContain('send_slack_message(');
});

test('backup automation: the backup is made, uploaded to the bucket under the timestamp, and its file returned', async () => {
  const timestamp = '2025-06-09T03:00:00.123456';
  const result = await runWithFiles(
    'plan.backup.handler',
    { ...planStandIns(), 'plan/backup.py': examples.backup },
    {
      db_config: { host: 'db.shop.svc', database: 'shop', user: 'backup' },
      s3_bucket: 'my-backups',
      timestamp,
    },
    { S3_STAND_IN_DIR: `/tmp/hks-plan-s3-${prefix}` },
  );
  expect(result).toMatchObject({
    status: 'succeeded',
    result: { status: 'success', file: expect.stringMatching(/^\/tmp\/.*backup-.*\.sql$/) },
  });
  const file = (result.result as { file: string }).file;
  expect(standInLines(result.logs)).toEqual([
    {
      standIn: 'perform_backup',
      db_config: { host: 'db.shop.svc', database: 'shop', user: 'backup' },
      file,
    },
    {
      standIn: 's3.upload_file',
      bucket: 'my-backups',
      key: `backups/${timestamp}.sql`,
      bytes: expect.any(Number),
    },
  ]);
});

test('alert handler: a critical alert scales the deployment to 5 and notifies on Slack', async () => {
  const result = await runWithFiles(
    'plan.alert.handler',
    { ...planStandIns(), 'plan/alert.py': examples.alert },
    { alert: { severity: 'critical', deployment: 'checkout', message: 'checkout p99 over 2 s' } },
  );
  expect(result).toMatchObject({ status: 'succeeded', result: { action: 'handled' } });
  expect(standInLines(result.logs)).toEqual([
    { standIn: 'scale_deployment', deployment: 'checkout', replicas: 5 },
    { standIn: 'send_slack_message', message: 'checkout p99 over 2 s' },
  ]);
});

test("alert handler through execute-once, as the plan's code alone: a warning is handled without helpers", async () => {
  const response = await call('POST', '/operations/execute', {
    runtime: 'python3.12',
    code: examples.alert,
    input: { alert: { severity: 'warning', deployment: 'checkout', message: 'slow' } },
  });
  expect(response.status).toBe(200);
  expect(response.json).toMatchObject({ status: 'succeeded', result: { action: 'handled' } });
});

test("the Python SDK's FunctionExecutor(api_url, token).execute(code, input=..., timeout=...) runs the plan's alert handler", async () => {
  const script = [
    'import json, os, sys',
    'from hks_sdk import FunctionExecutor',
    'executor = FunctionExecutor(os.environ["API_URL"], os.environ["AUTH_TOKEN"])',
    'result = executor.execute(os.environ["CODE"], input={"alert": {"severity": "info"}}, timeout=30)',
    'print(json.dumps({"status": result.status, "result": result.result, "isDict": isinstance(result, dict)}))',
  ].join('\n');
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('python3', ['-c', script], {
      env: {
        PATH: process.env.PATH ?? '',
        PYTHONPATH: join(__dirname, '..', 'sdk', 'python'),
        PYTHONDONTWRITEBYTECODE: '1',
        API_URL: api.url,
        AUTH_TOKEN: internal,
        HKS_PROJECT: project,
        CODE: examples.alert,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`exit ${code}: ${stderr}`)),
    );
  });
  // It runs as written; what it returns is an ExecutionResult, not the plan's dict.
  expect(JSON.parse(output)).toEqual({
    status: 'succeeded',
    result: { action: 'handled' },
    isDict: false,
  });
});
