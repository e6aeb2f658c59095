import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import { ApiProcess, internalToken, startApi, testStores } from './api-process';

jest.setTimeout(180_000);

/**
 * The execute result's envelope through the real API, with the Knative stand-in running the
 * runtimes as processes: streams apart and in order, errors as data, the timeout that really
 * stops the code, the output cap.
 */
const prefix = `ee${randomBytes(2).toString('hex')}-`;
let api: ApiProcess;
let standIn: StandInProcess;
let internal: string;
const LIMIT = 2048;

interface Envelope {
  status: string;
  result?: unknown;
  error?: { type: string; message: string; stack?: string };
  stdout: string;
  stderr: string;
  output: string;
  logs: string;
  truncated?: { stdout: boolean; stderr: boolean; output: boolean; limitBytes: number };
  stopped?: boolean;
}

async function execute(body: unknown): Promise<Envelope> {
  const res = await fetch(`${api.url}/internal/v1/operations/execute`, {
    method: 'POST',
    headers: { authorization: `Bearer ${internal}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Envelope;
}

beforeAll(async () => {
  standIn = await startStandIn(prefix);
  api = await startApi({
    ...(await testStores()[0].env()),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
    HKS_JANITOR_INTERVAL_SECONDS: '0',
    HKS_EXECUTE_OUTPUT_LIMIT_BYTES: String(LIMIT),
  });
  internal = await internalToken(['envelope']);
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await standIn?.stop();
});

test('python: stdout and stderr apart, both in order in output; logs the same as output', async () => {
  const result = await execute({
    runtime: 'python3.12',
    code: 'import sys\n\ndef handler(event):\n    print("out 1")\n    print("err 1", file=sys.stderr)\n    print("out 2")\n    return 7\n',
  });
  expect(result).toMatchObject({
    status: 'succeeded',
    result: 7,
    stdout: 'out 1\nout 2\n',
    stderr: 'err 1\n',
    output: 'out 1\nerr 1\nout 2\n',
  });
  expect(result.logs).toBe(result.output);
  expect(result.truncated).toBeUndefined();
});

test('node: stdout and stderr apart, a thrown error with its type, message and stack', async () => {
  const result = await execute({
    runtime: 'nodejs20',
    code: 'exports.handler = async () => {\n  console.log("out 1");\n  console.error("err 1");\n  console.log("out 2");\n  throw new RangeError("too far");\n};\n',
  });
  expect(result).toMatchObject({
    status: 'failed',
    stdout: 'out 1\nout 2\n',
    stderr: 'err 1\n',
    output: 'out 1\nerr 1\nout 2\n',
    error: { type: 'RangeError', message: 'too far' },
  });
  expect(result.error?.stack).toMatch(/RangeError: too far\n\s+at /);
});

test('python: a raised error has its type, message and stack', async () => {
  const result = await execute({
    runtime: 'python3.12',
    code: 'def handler(event):\n    raise KeyError("missing")\n',
  });
  expect(result.status).toBe('failed');
  expect(result.error).toMatchObject({
    type: 'KeyError',
    message: expect.stringContaining('missing'),
  });
  expect(result.error?.stack).toContain('raise KeyError');
});

test('timeout: the function is deleted and its process gone before the answer', async () => {
  const result = await execute({
    runtime: 'python3.12',
    timeoutSeconds: 2,
    code: 'import os, time\n\ndef handler(event):\n    print("pid", os.getpid(), flush=True)\n    while True:\n        time.sleep(0.1)\n',
  });
  expect(result).toMatchObject({ status: 'timeout', stopped: true, error: { type: 'Timeout' } });
  const pid = Number(/pid (\d+)/.exec(result.stdout)?.[1]);
  expect(pid).toBeGreaterThan(0);
  // The process that ran the handler (a sync thread no timeout can interrupt) is gone.
  expect(existsSync(`/proc/${pid}`)).toBe(false);
});

test('the output cap: each stream cut at the limit and the cut reported', async () => {
  const result = await execute({
    runtime: 'python3.12',
    code: `import sys\n\ndef handler(event):\n    sys.stdout.write("o" * ${LIMIT * 2})\n    sys.stderr.write("e" * 10)\n    return 1\n`,
  });
  expect(result.status).toBe('succeeded');
  expect(result.truncated).toEqual({
    stdout: true,
    stderr: false,
    output: true,
    limitBytes: LIMIT,
  });
  expect(result.stdout).toBe('o'.repeat(LIMIT));
  expect(result.stderr).toBe('e'.repeat(10));
  expect(Buffer.byteLength(result.output)).toBe(LIMIT);
});
