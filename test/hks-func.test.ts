import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FunctionDefinition, loadDefinitions } from '../constructs';
import { startLocalFunction } from '../cli/local-function';
import {
  readConfigFile,
  requireConfig,
  resolveConfig,
  writeConfigFile,
} from '../cli/hks-func/config';
import { CliIo } from '../cli/hks-func/context';
import { Progress } from '../cli/hks-func/progress';
import { runHksFunc } from '../cli/hks-func/program';

jest.setTimeout(30_000);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'hks-func-test-'));
}

/** Runs hks-func in this process with its own folder, environment and config file. */
async function hksFunc(
  argv: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; fetch?: typeof fetch } = {},
): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const cwd = options.cwd ?? scratch();
  const io: CliIo = {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: { HKS_CONFIG: join(cwd, 'no-config.json'), ...options.env },
    stderrIsTTY: false,
    cwd,
    fetch: options.fetch,
  };
  const code = await runHksFunc(argv, io);
  return { code, stdout, stderr };
}

describe('hks-func configuration', () => {
  it('takes flags over environment over the config file, key by key', () => {
    const file = { apiUrl: 'http://file', token: 'file-token', project: 'file-project' };
    const env = { HKS_API_URL: 'http://env', HKS_TOKEN: 'env-token' };
    expect(resolveConfig({ apiUrl: 'http://flag' }, env, file)).toEqual({
      apiUrl: 'http://flag',
      token: 'env-token',
      project: 'file-project',
    });
    expect(resolveConfig({}, {}, file)).toEqual(file);
    expect(resolveConfig({ project: '' }, { HKS_PROJECT: '' }, {})).toEqual({});
  });

  it('names the flag, the variable and the file for every missing value', () => {
    expect(() => requireConfig({ project: 'shop' }, ['apiUrl', 'token'], '/x/config.json')).toThrow(
      /missing the API URL: expected --api-url, the environment variable HKS_API_URL, or "apiUrl" in \/x\/config.json[^]*missing the API token: expected --token, the environment variable HKS_TOKEN, or "token" in \/x\/config.json/,
    );
  });

  it('login writes the file with mode 0600 and later commands read it', async () => {
    const dir = scratch();
    const config = join(dir, 'hks', 'config.json');
    const env = { HKS_CONFIG: config };
    const login = await hksFunc(
      ['login', '--api-url', 'http://127.0.0.1:8080/', '--token', 'secret', '--project', 'shop'],
      { cwd: dir, env },
    );
    expect(login).toMatchObject({ code: 0 });
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(readConfigFile(config)).toEqual({
      apiUrl: 'http://127.0.0.1:8080',
      token: 'secret',
      project: 'shop',
    });
    // The file's values reach the client; HKS_PROJECT overrides the file's project.
    const seen: string[] = [];
    const fakeFetch = (async (url: string | URL | Request, init?: RequestInit) => {
      seen.push(`${String(url)} ${new Headers(init?.headers).get('authorization')}`);
      return new Response(JSON.stringify({ items: [] }), {
        headers: { 'content-type': 'application/json' },
      });
    }) as typeof fetch;
    const list = await hksFunc(['list', '--output', 'json'], {
      cwd: dir,
      env: { ...env, HKS_PROJECT: 'billing' },
      fetch: fakeFetch,
    });
    expect(list).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(list.stdout)).toEqual({ items: [] });
    expect(seen).toEqual(['http://127.0.0.1:8080/api/v1/projects/billing/functions Bearer secret']);
  });

  it('login needs an API URL and a token from flags or environment', async () => {
    const run = await hksFunc(['login', '--token', 't']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--api-url, the environment variable HKS_API_URL');
  });

  it('refuses a config file that is not JSON, naming it', () => {
    const file = join(scratch(), 'config.json');
    writeFileSync(file, '{nope');
    expect(() => readConfigFile(file)).toThrow(`${file}: given a file that is not JSON`);
    writeConfigFile(file, { apiUrl: 'http://x' });
    expect(readConfigFile(file)).toEqual({ apiUrl: 'http://x' });
  });
});

describe('hks-func argument validation (exit 2, naming flag, value and expectation)', () => {
  const configured = { HKS_API_URL: 'http://127.0.0.1:1', HKS_TOKEN: 't', HKS_PROJECT: 'shop' };
  it.each([
    [
      ['cron', 'history', 'job', '--limit', 'abc'],
      "'--limit <n>' argument 'abc' is invalid. Expected an integer from 1 to 100",
    ],
    [
      ['cron', 'history', 'job', '--limit', '500'],
      "'--limit <n>' argument '500' is invalid. Expected an integer from 1 to 100",
    ],
    [
      ['cron', 'history', 'job', '--status', 'done'],
      "'--status <status>' argument 'done' is invalid. Allowed choices are running, succeeded, failed",
    ],
    [
      ['logs', 'fn', '--since', 'yesterday'],
      "'--since <duration>' argument 'yesterday' is invalid. Expected a number and s, m or h",
    ],
    [
      ['list', '--output', 'xml'],
      "'--output <format>' argument 'xml' is invalid. Allowed choices are text, json",
    ],
    [
      ['list', '--api-url', 'localhost:8080'],
      "'--api-url <url>' argument 'localhost:8080' is invalid. Expected an http:// or https:// URL",
    ],
    [
      ['init', 'fn', '--runtime', 'ruby'],
      "'--runtime <runtime>' argument 'ruby' is invalid. Allowed choices are python, node",
    ],
    [['init', 'fn'], "required option '--runtime <runtime>' not specified"],
    [['invoke'], "missing required argument 'name'"],
    [['invoke', 'fn', '--data', '{"a":'], '--data: given "{\\"a\\":", which is not JSON'],
    [['invoke', 'fn', '--data', '@missing.json'], '--data: given "@missing.json" (ENOENT'],
    [['run-local', '--port', 'http'], '--port: given "http", expected a port number'],
    [['deploy', 'nowhere'], 'nowhere:0: given a path that does not exist'],
    [['frobnicate'], "unknown command 'frobnicate'"],
  ])('%j', async (argv, message) => {
    const run = await hksFunc(argv, { env: configured });
    expect(run.stderr).toContain(message);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
  });

  it('reports usage errors as JSON on stderr with --output json', async () => {
    const run = await hksFunc(['cron', 'history', 'job', '--limit', '0', '--output', 'json'], {
      env: configured,
    });
    expect(run.code).toBe(2);
    const error = JSON.parse(run.stderr.split('\n')[0]) as { error: { message: string } };
    expect(error.error.message).toContain("'--limit <n>' argument '0' is invalid");
  });

  it('reports invalid definitions as the loader gives them, applying nothing', async () => {
    const dir = scratch();
    writeFileSync(
      join(dir, 'bad.yaml'),
      'apiVersion: hks.hexabase.io/v1\nkind: Function\nmetadata: { name: fn, project: shop }\nspec:\n  runtime: ruby\n  code: x\n',
    );
    let calls = 0;
    const run = await hksFunc(['deploy'], {
      cwd: dir,
      env: configured,
      fetch: (async () => {
        calls++;
        return new Response('{}');
      }) as typeof fetch,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      '1 problem in application definitions:\n  bad.yaml:1: spec.runtime:',
    );
    expect(run.stderr).toContain('Nothing was applied.');
    expect(calls).toBe(0);
  });

  it('prints help with the exit codes, exit 0', async () => {
    const run = await hksFunc(['cron', 'logs', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: hks-func cron logs');
    expect(run.stdout).toContain('3  not found');
  });

  it('maps API errors to exit codes: 404 is 3, other statuses 1, with the problem shown', async () => {
    const problem = (status: number, title: string, detail: string) =>
      (async () =>
        new Response(JSON.stringify({ type: 'x', title, status, detail }), {
          status,
          headers: { 'content-type': 'application/problem+json' },
        })) as typeof fetch;
    const missing = await hksFunc(['describe', 'ghost'], {
      env: configured,
      fetch: problem(404, 'Not found', 'No Function "ghost" in project "shop"'),
    });
    expect(missing).toMatchObject({ code: 3, stdout: '' });
    expect(missing.stderr).toContain('404 Not found: No Function "ghost" in project "shop"');
    const failing = await hksFunc(['cron', 'trigger', 'job', '--output', 'json'], {
      env: configured,
      fetch: problem(409, 'Not applied', 'CronJob job does not exist'),
    });
    expect(failing.code).toBe(1);
    expect(JSON.parse(failing.stderr)).toMatchObject({
      error: { status: 409, problem: { title: 'Not applied' }, exitCode: 1 },
    });
  });
});

describe('hks-func init', () => {
  it.each([
    ['python', 'python3.12', 'main.py'],
    ['node', 'nodejs20', 'index.js'],
  ] as const)(
    'scaffolds a %s Function the loader accepts and the bootstrap runs',
    async (flag, runtime, file) => {
      const dir = scratch();
      const run = await hksFunc(['init', 'hello', '--runtime', flag, '--project', 'shop'], {
        cwd: dir,
      });
      expect(run).toMatchObject({ code: 0 });
      expect(run.stdout).toContain(`Created hello/hello.yaml and hello/src/${file}`);

      const [checked] = loadDefinitions(join(dir, 'hello'), dir);
      const definition = checked.definition as FunctionDefinition;
      expect(definition).toMatchObject({
        kind: 'Function',
        metadata: { name: 'hello', project: 'shop' },
        spec: { runtime, source: './src' },
      });
      expect(Object.keys(definition.spec.files ?? {})).toEqual([file]);

      const started = startLocalFunction(definition, { port: '0' }, 'pipe');
      if (typeof started === 'string') throw new Error(started);
      try {
        const port = await listeningPort(started.child.stdout);
        const res = await fetch(`http://127.0.0.1:${port}/`, {
          method: 'POST',
          body: JSON.stringify({ name: 'Ada' }),
        });
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ message: 'Hello, Ada!' });
      } finally {
        started.child.kill('SIGTERM');
        expect(await started.exited).toBe(0);
      }

      // A second init refuses to overwrite and leaves the files alone.
      const yaml = readFileSync(join(dir, 'hello', 'hello.yaml'), 'utf8');
      const again = await hksFunc(['init', 'hello', '--runtime', flag, '--project', 'shop'], {
        cwd: dir,
      });
      expect(again.code).toBe(2);
      expect(again.stderr).toContain('hello/hello.yaml');
      expect(again.stderr).toContain('init never overwrites');
      expect(readFileSync(join(dir, 'hello', 'hello.yaml'), 'utf8')).toBe(yaml);
    },
  );

  it('checks the name and needs a project, naming where it comes from', async () => {
    const bad = await hksFunc(['init', 'Hello_World', '--runtime', 'node', '--project', 'shop']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('<name>: given "Hello_World", expected a name');
    const noProject = await hksFunc(['init', 'hello', '--runtime', 'node']);
    expect(noProject.code).toBe(2);
    expect(noProject.stderr).toContain('--project, the environment variable HKS_PROJECT');
  });

  it('refuses reserved projects and platform names before any request', async () => {
    let requests = 0;
    const fetch = (() => {
      requests++;
      return Promise.reject(new Error('no request expected'));
    }) as typeof globalThis.fetch;
    const env = { HKS_API_URL: 'http://127.0.0.1:9', HKS_TOKEN: 't' };
    const reserved = await hksFunc(['list', '--project', 'kube-system'], { env, fetch });
    expect(reserved.code).toBe(2);
    expect(reserved.stderr).toContain(
      '--project / HKS_PROJECT: given "kube-system", expected a project name outside the reserved namespaces',
    );
    const fromEnv = await hksFunc(['cron', 'list'], {
      env: { ...env, HKS_PROJECT: 'default' },
      fetch,
    });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('given "default"');
    const platformName = await hksFunc([
      'init',
      'hks-workload',
      '--runtime',
      'node',
      '--project',
      'shop',
    ]);
    expect(platformName.code).toBe(2);
    expect(platformName.stderr).toContain('expected a name not starting with "hks-"');
    expect(requests).toBe(0);
  });
});

function listeningPort(stream: NodeJS.ReadableStream | null): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no listening line in:\n${text}`)), 10_000);
    stream?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      for (const line of text.split('\n')) {
        if (!line.includes('"listening"')) continue;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
  });
}

describe('hks-func progress on stderr', () => {
  const io = (isTTY: boolean, out: string[]): CliIo => ({
    stdout: () => undefined,
    stderr: (t) => out.push(t),
    env: {},
    stderrIsTTY: isTTY,
    cwd: '.',
  });

  it('writes plain lines, one per change, when stderr is not a terminal', () => {
    const out: string[] = [];
    const progress = new Progress(io(false, out), true);
    progress.update('waiting for hello (RevisionMissing)');
    progress.update('waiting for hello (RevisionMissing)');
    progress.update('waiting for hello');
    progress.done('hello is ready');
    expect(out).toEqual([
      'waiting for hello (RevisionMissing)\n',
      'waiting for hello\n',
      'hello is ready\n',
    ]);
  });

  it('redraws a spinner in place on a terminal, and writes nothing when disabled', () => {
    const out: string[] = [];
    const progress = new Progress(io(true, out), true);
    progress.update('waiting for hello');
    progress.done('hello is ready');
    expect(out[0].startsWith('\r\x1b[K')).toBe(true);
    expect(out[0].endsWith(' waiting for hello')).toBe(true);
    expect(out[out.length - 1]).toBe('\r\x1b[Khello is ready\n');
    const silent: string[] = [];
    const off = new Progress(io(true, silent), false);
    off.update('x');
    off.done('y');
    expect(silent).toEqual([]);
  });
});
