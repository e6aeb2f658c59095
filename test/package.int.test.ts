/**
 * The package as another project gets it: `npm run build`, `npm pack` (whose prepack builds lib/
 * afresh), the tarball installed into a scratch project, its exports required and type-checked
 * by tsc from a construct author's TypeScript file, which then synthesizes a chart; the
 * installed `hks-func` bin; and the compiled API (lib/api/main.js under plain node) against the
 * test cluster, serving what it reads from the package's folder at run time.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ApiProcess, startApi, token } from './api/api-process';

jest.setTimeout(600_000);

const ROOT = join(__dirname, '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

interface Run {
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a command to its end; a non-zero exit throws with its output. */
async function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  const started = Date.now();
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, {
      cwd,
      env: process.env,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 300_000,
    });
    return { stdout, stderr, ms: Date.now() - started };
  } catch (error) {
    const failed = error as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) failed: ${failed.message}\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`,
    );
  }
}

const work = mkdtempSync(join(tmpdir(), 'hks-package-'));
const scratch = join(work, 'scratch');
const figures: string[] = [];
let tarball: string;
let packed: string[];

beforeAll(async () => {
  figures.push(`npm run build ${(await run('npm', ['run', 'build'], ROOT)).ms} ms`);
  const pack = await run('npm', ['pack', '--json', '--pack-destination', work], ROOT);
  const [result] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, result.filename);
  packed = result.files.map((file) => file.path);
  figures.push(`npm pack (prepack: a clean build) ${pack.ms} ms`);
  mkdirSync(scratch);
  writeFileSync(
    join(scratch, 'package.json'),
    JSON.stringify({ name: 'scratch', version: '1.0.0', private: true }),
  );
  // --ignore-scripts: no native build of better-sqlite3, which only the API's store loads.
  const install = await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      tarball,
      `cdk8s@${manifest.dependencies.cdk8s}`,
      `@types/node@${manifest.devDependencies['@types/node']}`,
    ],
    scratch,
  );
  figures.push(`npm install of the tarball ${install.ms} ms`);
});

afterAll(() => {
  process.stdout.write(`package figures: ${figures.join('; ')}\n`);
});

describe('the packed tarball', () => {
  test('ships the compiled code, its declarations and what it reads at run time', () => {
    for (const path of [
      'package.json',
      'bin/hks-func.js',
      'bin/hks-synth.js',
      'lib/cli/synth.bundle.js',
      'lib/constructs/index.js',
      'lib/constructs/index.d.ts',
      'lib/stacks/index.js',
      'lib/sdk/typescript/index.d.ts',
      'lib/api/main.js',
      'lib/api/definition-worker.js',
      'lib/cli/hks-func/main.js',
      'runtimes/node/bootstrap.js',
      'runtimes/python/bootstrap.py',
      'console/index.html',
      'console/app/main.js',
      'schema/definition.schema.json',
    ])
      expect(packed).toContain(path);
  });

  test('ships no TypeScript sources, tests, development tools or build state', () => {
    const unwanted = packed.filter(
      (path) =>
        (path.endsWith('.ts') && !path.endsWith('.d.ts')) ||
        /^(test|bench|dev|tools|examples|knative\/imports|images|node_modules)\//.test(path) ||
        /^lib\/(test|bench|dev|tools|examples)\//.test(path) ||
        path.endsWith('.tsbuildinfo') ||
        path.includes('__pycache__'),
    );
    expect(unwanted).toEqual([]);
  });
});

describe('the package installed into another project', () => {
  test('require() finds the exports map: constructs, SDK, package.json; nothing else', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '-e',
        `const p = require('hks-platform');
         const sdk = require('hks-platform/sdk');
         let deep;
         try { require('hks-platform/lib/constructs/index.js'); } catch (e) { deep = e.code; }
         console.log(JSON.stringify({
           constructs: [typeof p.CronJobApplication, typeof p.FunctionService, typeof p.Schedule.cron],
           sdk: typeof sdk.HksClient,
           version: require('hks-platform/package.json').version,
           deep,
         }));`,
      ],
      scratch,
    );
    expect(JSON.parse(stdout)).toEqual({
      constructs: ['function', 'function', 'function'],
      sdk: 'function',
      version: manifest.version,
      deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  });

  test("a construct author's TypeScript type-checks against the declarations and synthesizes a chart", async () => {
    mkdirSync(join(scratch, 'src'), { recursive: true });
    writeFileSync(
      join(scratch, 'src', 'chart.ts'),
      `import { App } from 'cdk8s';
import { CronJobApplication, FunctionService, ProjectChart, Schedule, StatelessApplication } from 'hks-platform';

const app = new App({ outdir: process.argv[2] });
const shop = new ProjectChart(app, 'shop', { project: 'shop' });
const api = new StatelessApplication(shop, 'api', { image: 'ghcr.io/acme/shop-api:1.4.2', port: 8080 });
new CronJobApplication(shop, 'nightly-report', {
  template: api,
  schedule: Schedule.cron('0 3 * * *'),
  timeZone: 'Asia/Tokyo',
  args: ['report.js'],
});
new FunctionService(shop, 'hello', {
  runtime: 'nodejs20',
  handler: 'index.handler',
  files: { 'index.js': 'exports.handler = async (event) => ({ hello: event.name });' },
});
app.synth();
`,
    );
    // The declarations themselves are checked too (no skipLibCheck): none may name a type of a
    // development dependency or a file the package does not ship.
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'node16',
          moduleResolution: 'node16',
          strict: true,
          outDir: 'out',
          types: ['node'],
        },
        include: ['src'],
      }),
    );
    const checked = await run(process.execPath, [TSC, '-p', '.'], scratch);
    figures.push(`tsc of the author's file ${checked.ms} ms`);
    const out = join(work, 'synth');
    await run(process.execPath, [join('out', 'chart.js'), out], scratch);
    const objects = parseAllDocuments(readFileSync(join(out, 'shop.k8s.yaml'), 'utf8')).map(
      (doc) => doc.toJS() as { kind: string; metadata: { name: string } },
    );
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'Namespace/shop',
        'Deployment/api',
        'CronJob/nightly-report',
        'Service/hello',
      ]),
    );
    // The Function's ConfigMap holds the node bootstrap, read from the installed package.
    const bootstrap = readFileSync(join(ROOT, 'runtimes', 'node', 'bootstrap.js'), 'utf8');
    const configMaps = objects.filter((o) => o.kind === 'ConfigMap') as unknown as {
      data?: Record<string, string>;
    }[];
    expect(configMaps.some((c) => Object.values(c.data ?? {}).includes(bootstrap))).toBe(true);
  });

  test('the SDK type-checks from another project (skipLibCheck, as tsc --init sets it)', async () => {
    writeFileSync(
      join(scratch, 'src', 'client.ts'),
      `import { HksApiError, HksClient } from 'hks-platform/sdk';

export async function list(token: string): Promise<string[]> {
  const hks = new HksClient({ apiUrl: 'http://localhost:8080', token });
  try {
    return (await hks.functions.list('shop')).map((f) => f.name);
  } catch (error) {
    if (error instanceof HksApiError) return [String(error.status)];
    throw error;
  }
}
`,
    );
    await run(process.execPath, [TSC, '-p', '.', '--skipLibCheck', '--noEmit'], scratch);
  });

  test('npx hks-func runs the compiled CLI', async () => {
    const help = await run('npx', ['--no-install', 'hks-func', '--help'], scratch);
    figures.push(`npx hks-func --help ${help.ms} ms`);
    expect(help.stdout).toContain('Usage: hks-func');
    expect(help.stdout).toContain('run-local');
  });

  test('npx hks-synth runs the bundled synth, byte for byte as the compiled modules', async () => {
    mkdirSync(join(scratch, 'apps'));
    const shop = readFileSync(join(ROOT, 'apps', 'shop.yaml'), 'utf8');
    writeFileSync(join(scratch, 'apps', 'shop.yaml'), shop);
    const synth = await run('npx', ['--no-install', 'hks-synth', '--out', 'dist'], scratch);
    figures.push(`npx hks-synth of apps/shop.yaml ${synth.ms} ms`);
    const compiled = join(ROOT, 'lib', 'cli', 'synth.js');
    await run(process.execPath, [compiled, '--out', 'dist-compiled'], scratch);
    const written = readFileSync(join(scratch, 'dist', 'shop.k8s.yaml'), 'utf8');
    expect(written).toContain('kind: Deployment');
    expect(written).toBe(readFileSync(join(scratch, 'dist-compiled', 'shop.k8s.yaml'), 'utf8'));
  });

  test("the installed hks-func's run-local starts the runtime's bootstrap from the package", async () => {
    mkdirSync(join(scratch, 'hello'));
    writeFileSync(
      join(scratch, 'hello', 'hello.yaml'),
      JSON.stringify({
        apiVersion: 'hks.hexabase.io/v1',
        kind: 'Function',
        metadata: { name: 'hello', project: 'pkgbuild' },
        spec: {
          runtime: 'nodejs20',
          handler: 'index.handler',
          code: 'exports.handler = async (event) => ({ hello: event.name });',
        },
      }),
    );
    const child = spawn(
      join(scratch, 'node_modules', '.bin', 'hks-func'),
      ['run-local', 'hello', '--port', '0'],
      { cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line: ${output}`)), 30_000);
        child.once('exit', (code) => reject(new Error(`run-local exited with ${code}: ${output}`)));
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const line = output.split('\n').find((l) => l.includes('"listening"'));
          if (line === undefined) return;
          clearTimeout(timer);
          resolve((JSON.parse(line) as { port: number }).port);
        });
      });
      const response = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        body: JSON.stringify({ name: 'Ada' }),
      });
      expect([response.status, await response.json()]).toEqual([200, { hello: 'Ada' }]);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe("the repository's commands run lib/", () => {
  test('npm run synth writes the manifests of apps/', async () => {
    const out = join(work, 'dist');
    await run('npm', ['run', '-s', 'synth', '--', '--apps', 'apps', '--out', out], ROOT);
    expect(readdirSync(out).sort()).toEqual(readdirSync(join(ROOT, 'dist')).sort());
  });

  test('npm run schema --check reads the schema file of the package folder', async () => {
    await run('npm', ['run', '-s', 'schema', '--', '--check'], ROOT);
  });
});

describe('the compiled API from lib/, on the test cluster', () => {
  let api: ApiProcess;
  beforeAll(async () => {
    api = await startApi({}, { compiled: true });
  });
  afterAll(async () => api?.stop());

  test('runs under plain node: no tsx in the process', () => {
    expect(api.child.spawnargs.slice(1)).toEqual([join(ROOT, 'lib', 'api', 'main.js')]);
  });

  test('is ready, and serves the console and its vendor files from the package folder', async () => {
    expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
    const page = await fetch(`${api.url}/console/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="importmap"');
    expect((await fetch(`${api.url}/console/vendor/preact.mjs`)).status).toBe(200);
  });

  test("a Function's dry run (on a definition worker) carries the runtime's bootstrap", async () => {
    const res = await fetch(`${api.url}/api/v1/projects/pkgbuild/applications?dryRun=true`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await token(['pkgbuild'])}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        apiVersion: 'hks.hexabase.io/v1',
        kind: 'Function',
        metadata: { name: 'hello', project: 'pkgbuild' },
        spec: {
          runtime: 'python3.12',
          handler: 'main.handler',
          code: 'def handler(event):\n  return 1\n',
        },
      }),
    });
    const body = (await res.json()) as {
      manifests: { kind: string; data?: Record<string, string> }[];
    };
    expect(res.status).toBe(200);
    const bootstrap = readFileSync(join(ROOT, 'runtimes', 'python', 'bootstrap.py'), 'utf8');
    expect(
      body.manifests.some(
        (m) => m.kind === 'ConfigMap' && Object.values(m.data ?? {}).includes(bootstrap),
      ),
    ).toBe(true);
  });
});
