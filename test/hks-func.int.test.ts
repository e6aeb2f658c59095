import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startKnativeStandIn, StartedKnativeStandIn } from '../dev/knative';
import { ApiProcess, startApi, testStores, token } from './api/api-process';
import { kubeconfigPath } from './cluster/kubeconfig';
import { waitFor } from './cluster/wait';

jest.setTimeout(240_000);

/**
 * `hks-func` as a real process against the real API process, on the real control plane;
 * Knative's controller is played by the stand-in (dev/knative), which runs the real bootstrap.
 */
const ROOT = join(__dirname, '..');
const MAIN = join(ROOT, 'cli', 'hks-func', 'main.ts');
const TSX = pathToFileURL(require.resolve('tsx')).href;
const prefix = `h${randomBytes(2).toString('hex')}-`;
const work = mkdtempSync(join(tmpdir(), 'hks-func-int-'));
let api: ApiProcess;
let standIn: StartedKnativeStandIn;
let env: Record<string, string>;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node --import tsx cli/hks-func/main.ts ...args` in the scratch folder. */
function hksFunc(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
      cwd: work,
      env: { ...process.env, ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs hks-func and expects exit 0, returning stdout (the whole run in the failure message). */
async function ok(args: string[]): Promise<string> {
  const run = await hksFunc(args);
  if (run.code !== 0)
    throw new Error(`hks-func ${args.join(' ')} exited ${run.code}:\n${run.stderr}${run.stdout}`);
  return run.stdout;
}

async function okJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await ok([...args, '--output', 'json'])) as T;
}

beforeAll(async () => {
  standIn = await startKnativeStandIn({
    installCrds: true,
    kubeconfig: kubeconfigPath(),
    namespacePrefix: prefix,
    stateDir: join(work, 'knative'),
  });
  api = await startApi({ ...(await testStores()[0].env()), HKS_NAMESPACE_PREFIX: prefix });
  env = {
    HKS_API_URL: api.url,
    HKS_TOKEN: await token(['shop'], undefined, '30m'),
    HKS_PROJECT: 'shop',
    HKS_CONFIG: join(work, 'config.json'),
  };
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await standIn?.stop();
});

describe('hks-func cron', () => {
  interface Execution {
    id: string;
    status: string;
    trigger: string;
  }

  test('create, list, trigger, history, logs, suspend and resume', async () => {
    const file = join(work, 'report.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: hks.hexabase.io/v1',
        'kind: CronJob',
        'metadata: { name: report, project: shop }',
        'spec:',
        '  image: ghcr.io/acme/report:1',
        "  schedule: '0 3 1 1 *'",
        '  timeZone: Asia/Tokyo',
        '',
      ].join('\n'),
    );
    expect(await ok(['cron', 'create', file])).toContain('CronJob report: created (version 1)');
    expect(await ok(['cron', 'create', file])).toContain('CronJob report: updated (version 2)');

    const list = await okJson<{ items: { name: string; timeZone: string; suspended: boolean }[] }>([
      'cron',
      'list',
    ]);
    expect(list.items).toEqual([
      expect.objectContaining({ name: 'report', timeZone: 'Asia/Tokyo', suspended: false }),
    ]);

    const triggered = await okJson<{ job: string; id: string }>(['cron', 'trigger', 'report']);
    expect(triggered.job).toMatch(/^report-manual-/);

    let history: Execution[] = [];
    await waitFor('the manual run to finish', 120_000, async () => {
      history = (await okJson<{ items: Execution[] }>(['cron', 'history', 'report'])).items;
      return history.some((e) => e.id === triggered.id && e.status !== 'running');
    });
    expect(history[0]).toMatchObject({ id: triggered.id, trigger: 'manual', status: 'succeeded' });
    const succeeded = await okJson<{ items: Execution[] }>([
      'cron',
      'history',
      'report',
      '--status',
      'failed',
      '--limit',
      '5',
    ]);
    expect(succeeded.items).toEqual([]);
    expect(await ok(['cron', 'history', 'report'])).toMatch(
      new RegExp(
        `^ID\\s+JOB\\s+TRIGGER\\s+STATUS\\s+EXIT\\s+ATTEMPTS[^]*${triggered.id}\\s+${triggered.job}\\s+manual\\s+succeeded\\s+0\\s+1\\s`,
      ),
    );

    // Logs of the latest execution, of a named one, and following a finished one (ends).
    const latest = await hksFunc(['cron', 'logs', 'report']);
    expect(latest.code).toBe(0);
    const named = await hksFunc(['cron', 'logs', 'report', triggered.id]);
    expect(named).toMatchObject({ code: 0, stdout: latest.stdout });
    const followed = await hksFunc(['cron', 'logs', 'report', '--follow']);
    expect(followed).toMatchObject({ code: 0, stdout: latest.stdout });

    expect(await ok(['cron', 'suspend', 'report'])).toContain('Suspended report');
    expect((await okJson<typeof list>(['cron', 'list'])).items[0].suspended).toBe(true);
    expect(await ok(['cron', 'resume', 'report'])).toContain('Resumed report');
    expect((await okJson<typeof list>(['cron', 'list'])).items[0].suspended).toBe(false);
  });

  test('unknown CronJobs and executions exit 3, with the API problem on stderr', async () => {
    const ghost = await hksFunc(['cron', 'trigger', 'ghost']);
    expect(ghost).toMatchObject({ code: 3, stdout: '' });
    expect(ghost.stderr).toContain('404 Not found: No CronJob "ghost" in project "shop"');
    const noExecution = await hksFunc(['cron', 'logs', 'report', 'no-such-id', '--output', 'json']);
    expect(noExecution.code).toBe(3);
    expect(JSON.parse(noExecution.stderr)).toMatchObject({
      error: { status: 404, exitCode: 3, problem: { title: 'Not found' } },
    });
  });

  test('another project is refused: exit 1 with the 403 problem', async () => {
    const run = await hksFunc(['cron', 'list', '--project', 'billing']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('403');
  });
});

describe('hks-func functions', () => {
  const dir = join(work, 'hello');

  test('init, deploy (waiting for readiness), list, describe', async () => {
    expect(await ok(['init', 'hello', '--runtime', 'python', '--dir', dir])).toContain(
      'Created hello/hello.yaml and hello/src/main.py',
    );
    const deploy = await hksFunc(['deploy', dir]);
    expect(deploy.stderr).toContain('Function shop/hello: created (version 1)');
    expect(deploy.stderr).toContain('hello is ready');
    expect(deploy.code).toBe(0);
    expect(deploy.stdout).toMatch(/^Function hello: created \(version 1\) {2}http:\/\/\S+\n$/);

    const list = await okJson<{ items: { name: string; ready: boolean; url?: string }[] }>([
      'list',
    ]);
    expect(list.items).toEqual([
      expect.objectContaining({ name: 'hello', ready: true, url: expect.stringMatching(/^http/) }),
    ]);
    expect(await ok(['list'])).toMatch(
      /^NAME\s+READY\s+REVISION\s+AGE\s+URL\nhello\s+True\s+hello-00001/,
    );

    const describe = await ok(['describe', 'hello']);
    expect(describe).toContain('Ready:      True');
    expect(describe).toContain('100%  hello-00001 (latest)');
    expect(describe).toMatch(/Revisions:\n\s+NAME\s+READY[^]*hello-00001\s+True\s+100%/);
  });

  test('invoke with --data JSON or @file; the function’s own errors exit 1', async () => {
    expect(JSON.parse(await ok(['invoke', 'hello', '--data', '{"name": "Ada"}']))).toEqual({
      message: 'Hello, Ada!',
    });
    writeFileSync(join(work, 'event.json'), '{"name": "Grace"}');
    expect(await okJson(['invoke', 'hello', '--data', '@event.json'])).toMatchObject({
      status: 200,
      requestId: expect.any(String),
      body: { message: 'Hello, Grace!' },
    });
    // A handler that throws: its 500 is the function's answer, not an API problem.
    writeFileSync(
      join(work, 'broken.yaml'),
      [
        'apiVersion: hks.hexabase.io/v1',
        'kind: Function',
        'metadata: { name: broken, project: shop }',
        'spec:',
        '  runtime: nodejs20',
        '  code: |',
        "    exports.handler = async () => { throw new TypeError('nope'); };",
        '',
      ].join('\n'),
    );
    await ok(['deploy', join(work, 'broken.yaml')]);
    const broken = await hksFunc(['invoke', 'broken']);
    expect(broken).toMatchObject({ code: 1, stdout: '' });
    expect(broken.stderr).toContain('broken answered 500: TypeError: nope');
    const missing = await hksFunc(['invoke', 'ghost', '--data', '{}']);
    expect(missing.code).toBe(3);
  });

  test('invoke --logs: the invocation\u2019s own output on stderr, or in the JSON result', async () => {
    const run = await hksFunc(['invoke', 'hello', '--data', '{"name": "Tail"}', '--logs']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ message: 'Hello, Tail!' });
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ message: 'greeting', name: 'Tail' });
    const json = await okJson<{ logs: string; invocation: { status: number; requestId: string } }>([
      'invoke',
      'hello',
      '--data',
      '{"name": "Json"}',
      '--logs',
    ]);
    expect(json.logs).toContain('"name": "Json"');
    expect(json.invocation).toMatchObject({ status: 200, requestId: expect.any(String) });
    // A handler's error: its stack after the output, then the failure.
    const broken = await hksFunc(['invoke', 'broken', '--logs']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(
      /TypeError: nope\n\s+at [^]*broken answered 500: TypeError: nope/,
    );
  });

  test('logs, also followed', async () => {
    await ok(['invoke', 'hello', '--data', '{"name": "Logs"}']);
    await waitFor('the invocation in the logs', 30_000, async () =>
      (await ok(['logs', 'hello', '--since', '5m'])).includes('Logs'),
    );
    // --follow prints the lines there are and keeps going until stopped.
    const child = spawn(process.execPath, ['--import', TSX, MAIN, 'logs', 'hello', '--follow'], {
      cwd: work,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor('followed logs', 30_000, async () => out.includes('Logs'));
      await ok(['invoke', 'hello', '--data', '{"name": "Later"}']);
      await waitFor('a new line while following', 30_000, async () => out.includes('Later'));
    } finally {
      child.kill('SIGTERM');
    }
  });

  test('deploy again updates; delete removes; describe then exits 3', async () => {
    const again = await hksFunc(['deploy', dir, '--output', 'json']);
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
    expect(JSON.parse(again.stdout)).toMatchObject({
      applied: [{ kind: 'Function', name: 'hello', version: 2, created: false }],
      functions: [{ name: 'hello', ready: true }],
    });
    expect(await ok(['delete', 'hello'])).toContain('Deleted hello');
    await ok(['delete', 'broken']);
    const gone = await hksFunc(['describe', 'hello']);
    expect(gone.code).toBe(3);
    expect(gone.stderr).toContain('404');
  });

  test('the bin shim runs the same program', async () => {
    const run = await new Promise<Run>((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'hks-func.js'), 'list', '--help'], {
        cwd: work,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr: '' }));
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: hks-func list');
  });
});
