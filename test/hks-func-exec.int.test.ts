import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from '../cli/hks-func/context';
import { runHksFunc } from '../cli/hks-func/program';
import { StandInProcess, startStandIn } from './support/knative-stand-in';
import { ApiProcess, internalToken, startApi, testStores } from './api/api-process';

jest.setTimeout(180_000);

/**
 * `hks-func exec` through the real API and the Knative stand-in: the code's stdout and stderr
 * on the CLI's own, the result, the status, and exit 1 for a failed or timed-out run.
 */
const project = 'cliexec';
const prefix = `cx${randomBytes(2).toString('hex')}-`;
let api: ApiProcess;
let standIn: StandInProcess;
let internal: string;
let folder: string;

async function exec(file: string, code: string, ...flags: string[]) {
  writeFileSync(join(folder, file), code);
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: {
      HKS_CONFIG: join(folder, 'no-config.json'),
      HKS_API_URL: api.url,
      HKS_TOKEN: internal,
      HKS_PROJECT: project,
    },
    stderrIsTTY: false,
    cwd: folder,
  };
  const exitCode = await runHksFunc(['exec', file, ...flags], io);
  return { exitCode, stdout, stderr };
}

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'hks-func-exec-'));
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

test('a succeeded run: stdout to stdout, stderr to stderr, the result, exit 0', async () => {
  const run = await exec(
    'main.py',
    'import sys\ndef handler(event, context):\n    print("to out")\n    print("to err", file=sys.stderr)\n    return {"doubled": event["n"] * 2}\n',
    '--data',
    '{"n": 21}',
  );
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toBe('to out\n{"doubled":42}\n');
  expect(run.stderr).toMatch(/^to err\n\[hks: exec-\S+ succeeded in \d+ ms\]\n$/);
});

test('a failed run exits 1 naming the error; json mode prints the whole envelope', async () => {
  const code =
    'exports.handler = async () => { console.error("about to fail"); throw new TypeError("no such thing"); };\n';
  const text = await exec('index.js', code);
  expect(text.exitCode).toBe(1);
  expect(text.stderr).toContain('about to fail\n');
  expect(text.stderr).toContain('[hks: ');
  expect(text.stderr).toContain('execution failed: TypeError: no such thing');

  const json = await exec('index.js', code, '--output', 'json');
  expect(json.exitCode).toBe(1);
  const envelope = JSON.parse(json.stdout) as Record<string, unknown>;
  expect(envelope).toMatchObject({
    status: 'failed',
    error: { type: 'TypeError', message: 'no such thing' },
    stderr: expect.stringContaining('about to fail') as unknown,
  });
});

test('a run past its time limit exits 1 with status timeout', async () => {
  const run = await exec(
    'main.py',
    'import time\ndef handler(event, context):\n    time.sleep(30)\n',
    '--timeout',
    '2',
  );
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain('execution timeout');
});

test('a file of no known runtime is a usage error naming it', async () => {
  const run = await exec('handler.rb', 'def handler; end\n');
  expect(run.exitCode).toBe(2);
  expect(run.stderr).toContain('<file>: given "handler.rb"');
});
