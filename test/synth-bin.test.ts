/**
 * The hks-synth bin as a user runs it: node_modules/.bin/hks-synth of a project that has the
 * package installed (linked here, as npm links bins), running the bundled CLI that
 * `npm run build` writes (lib/cli/synth.bundle.js). The bundle must behave exactly as the
 * compiled modules it is made of: the same files byte for byte, the same messages and exit codes
 * as `node lib/cli/synth.js` of the same build.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cronJobDoc, statelessDoc, writeAppsDir } from './support/definitions';

const ROOT = join(__dirname, '..');
const BUNDLE = join(ROOT, 'lib', 'cli', 'synth.bundle.js');
const COMPILED = join(ROOT, 'lib', 'cli', 'synth.js');

/** A project with the package installed: node_modules/hks-platform and its linked bin. */
function userProject(): string {
  const project = mkdtempSync(join(tmpdir(), 'hks-synth-user-'));
  mkdirSync(join(project, 'node_modules', '.bin'), { recursive: true });
  writeFileSync(join(project, 'package.json'), '{ "name": "user-project", "private": true }\n');
  symlinkSync(ROOT, join(project, 'node_modules', 'hks-platform'));
  symlinkSync(
    join('..', 'hks-platform', 'bin', 'hks-synth.js'),
    join(project, 'node_modules', '.bin', 'hks-synth'),
  );
  return project;
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], cwd: string): Run {
  const env = { ...process.env };
  delete env.CDK8S_OUTDIR;
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The files of a folder with their contents. */
function contents(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((name) => [name, readFileSync(join(dir, name), 'utf8')]),
  );
}

let project: string;
let bin: string;
/** The bin and the unbundled compiled CLI, each writing into its own folder. */
const both = (args: (out: string) => string[]) => {
  const scratch = mkdtempSync(join(project, 'out-'));
  const [binOut, compiledOut] = [join(scratch, 'bin'), join(scratch, 'compiled')];
  return {
    bin: { ...run(bin, args(binOut), project), out: binOut },
    compiled: {
      ...run(process.execPath, [COMPILED, ...args(compiledOut)], project),
      out: compiledOut,
    },
  };
};

beforeAll(() => {
  for (const built of [BUNDLE, COMPILED]) {
    if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build first`);
  }
  project = userProject();
  bin = join(project, 'node_modules', '.bin', 'hks-synth');
});

test("node_modules/.bin/hks-synth writes apps/'s manifests byte for byte as the compiled CLI", () => {
  const { bin: viaBin, compiled } = both((out) => ['--apps', join(ROOT, 'apps'), '--out', out]);
  expect(viaBin.code).toBe(0);
  expect(viaBin.stderr).toBe('');
  expect(viaBin.stdout.replace('/bin/', '/compiled/')).toBe(compiled.stdout);
  expect(Object.keys(contents(viaBin.out)).length).toBeGreaterThan(0);
  expect(contents(viaBin.out)).toEqual(contents(compiled.out));
});

test('invalid definitions: the same problems, exit code and nothing written', () => {
  const apps = writeAppsDir({
    'shop.yaml': [
      statelessDoc('api', { resources: { cpu: 'lots' } }),
      cronJobDoc('job', { schedule: 'CRON_TZ=UTC 0 3 * * *', timeZone: 'Mars/Olympus' }),
    ],
    'broken.yaml': 'a: 1\na: 2\n',
  });
  const { bin: viaBin, compiled } = both((out) => ['--apps', apps, '--out', out]);
  expect(viaBin.code).toBe(1);
  expect(viaBin.stderr).toContain('Nothing was written.');
  expect(viaBin.stderr).toContain('spec.resources.cpu: given "lots"');
  expect([viaBin.code, viaBin.stdout, viaBin.stderr]).toEqual([
    compiled.code,
    compiled.stdout,
    compiled.stderr,
  ]);
  expect(existsSync(viaBin.out)).toBe(false);
});

test('--check, --help and bad flags answer as the compiled CLI', () => {
  const apps = writeAppsDir({ 'a.yaml': [statelessDoc('api'), cronJobDoc('job')] });
  const out = join(project, 'checked');
  expect(run(bin, ['--apps', apps, '--out', out], project).code).toBe(0);
  const upToDate = run(bin, ['--apps', apps, '--out', out, '--check'], project);
  expect(upToDate).toMatchObject({ code: 0, stdout: expect.stringMatching(/is up to date/) });
  writeFileSync(join(out, 'shop.k8s.yaml'), 'edited by hand\n');
  const drift = run(bin, ['--apps', apps, '--out', out, '--check'], project);
  expect(drift).toMatchObject({
    code: 1,
    stderr: expect.stringContaining('changed: shop.k8s.yaml'),
  });

  for (const args of [['--help'], ['--frobnicate'], ['--namespace-prefix', 'Team_']]) {
    const viaBin = run(bin, args, project);
    const compiled = run(process.execPath, [COMPILED, ...args], project);
    expect([viaBin.code, viaBin.stdout, viaBin.stderr]).toEqual([
      compiled.code,
      compiled.stdout,
      compiled.stderr,
    ]);
  }
  expect(run(bin, ['--help'], project)).toMatchObject({
    code: 0,
    stdout: expect.stringContaining('--apps <dir>'),
  });
  expect(run(bin, ['--frobnicate'], project).code).toBe(2);
});
