/**
 * The Pulumi toolchain for real: `npm run pulumi:build` builds it on first use (about 20 min and
 * 5 GB of memory on two cores; at once when cached), then `npm run pulumi -- <args>` runs the
 * built CLI: its version, the kubernetes plugin installed offline, the exit code passed through,
 * the local file backend, and a TypeScript program (test/fixtures/pulumi-toolchain: one
 * ConfigMap through an explicit provider) previewed without a cluster and brought up and
 * destroyed on the test cluster — the language host and the provider at work.
 */
import { spawn } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { repoRoot, toolchainConfig } from '../tools/pulumi/config';
import { pulumiEnvironment } from '../tools/pulumi/environment';
import { toolchainLayout } from '../tools/pulumi/layout';
import { toolchainVersions } from '../tools/pulumi/versions';
import { kubeconfigPath } from './cluster/kubeconfig';
import { kubectl, kubectlJson } from './cluster/kubectl';
import { createTestNamespace, deleteTestNamespace } from './cluster/namespace';

/** A cold build on two shared cores takes 15–25 min; CI allows for it. */
const buildTimeoutMs = 60 * 60_000;
jest.setTimeout(180_000);

const versions = toolchainVersions();
const fixture = join(__dirname, 'fixtures', 'pulumi-toolchain');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end; `echo` copies its stderr to ours (the build's progress lines). */
function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; echo?: boolean } = {},
): Promise<Run> {
  const child = spawn(command, args, {
    cwd: options.cwd ?? repoRoot,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (options.echo) process.stderr.write(chunk);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

let scratch: string;
/** The environment of every `npm run pulumi` below: a backend of its own, a passphrase. */
let env: NodeJS.ProcessEnv;

/**
 * `npm run pulumi -- <args>` called in `cwd` (the repository by default); outside the
 * repository with `--prefix`, as a user would to run a program kept elsewhere.
 */
const npmPulumi = (args: readonly string[], cwd?: string, runEnv = env): Promise<Run> =>
  run('npm', ['--prefix', repoRoot, 'run', 'pulumi', '--', ...args], { env: runEnv, cwd });

/** Fails with the command's output when it did not exit 0. */
function expectOk(result: Run): Run {
  if (result.code !== 0) {
    throw new Error(`exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
  return result;
}

/** A copy of the fixture program in `<scratch>/<name>`, with the repository's node_modules. */
function project(name: string): string {
  const dir = join(scratch, name);
  cpSync(fixture, dir, { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'hks-pulumi-toolchain-'));
  env = {
    ...process.env,
    PULUMI_BACKEND_URL: `file://${join(scratch, 'state')}`,
    PULUMI_CONFIG_PASSPHRASE: 'hks-pulumi-toolchain-test',
  };
  mkdirSync(join(scratch, 'state'));
  const build = await run('npm', ['run', 'pulumi:build'], { echo: true });
  expectOk(build);
}, buildTimeoutMs);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

it('runs pulumi at the version of @pulumi/pulumi in package.json', async () => {
  const { stdout } = expectOk(await npmPulumi(['version']));
  expect(stdout).toMatch(new RegExp(`^v${versions.pulumi.replace(/\./g, '\\.')}$`, 'm'));
});

it('has the kubernetes plugin of @pulumi/kubernetes installed', async () => {
  const { stdout } = expectOk(await npmPulumi(['plugin', 'ls']));
  const version = versions.kubernetesPlugin.replace(/\./g, '\\.');
  expect(stdout).toMatch(new RegExp(`^kubernetes\\s+resource\\s+${version}\\s`, 'm'));
});

it("passes pulumi's exit code through", async () => {
  const args = ['stack', 'select', 'hks-no-such-stack', '--non-interactive'];
  const layout = toolchainLayout(toolchainConfig(), versions);
  const direct = await run(layout.pulumi, args, {
    env: pulumiEnvironment(layout, toolchainConfig(), env),
  });
  expect(direct.code).not.toBe(0);
  const wrapped = await npmPulumi(args);
  expect(wrapped.code).toBe(direct.code);
  expect(wrapped.stderr).toContain('hks-no-such-stack');
});

it('uses the file backend in .hks/pulumi unless PULUMI_BACKEND_URL is set', async () => {
  const { PULUMI_BACKEND_URL: _ignored, ...withoutBackend } = env;
  const local = expectOk(await npmPulumi(['whoami', '--verbose'], undefined, withoutBackend));
  expect(local.stdout).toContain(`Backend URL: file://${join(repoRoot, '.hks', 'pulumi')}`);
  const own = expectOk(await npmPulumi(['whoami', '--verbose']));
  expect(own.stdout).toContain(`Backend URL: ${env.PULUMI_BACKEND_URL}`);
});

/** The steps of `pulumi preview --json`, as (operation, type) pairs. */
function previewSteps(stdout: string): { op: string; type: string }[] {
  const preview = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
    steps: { op: string; urn: string }[];
  };
  return preview.steps.map(({ op, urn }) => ({ op, type: urn.split('::')[2] }));
}

it('previews a TypeScript program with the language host and the provider, no cluster needed', async () => {
  const dir = project('offline');
  const kubeconfig = join(scratch, 'unreachable.kubeconfig');
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'none', cluster: { server: 'https://127.0.0.1:9' } }],
      users: [{ name: 'none', user: { token: 'none' } }],
      contexts: [{ name: 'none', context: { cluster: 'none', user: 'none' } }],
      'current-context': 'none',
    }),
  );
  expectOk(await npmPulumi(['stack', 'init', 'offline', '--non-interactive'], dir));
  const config = ['-c', `kubeconfig=${kubeconfig}`, '-c', 'namespace=default'];
  const preview = expectOk(await npmPulumi(['preview', '--json', ...config], dir));
  expect(previewSteps(preview.stdout)).toEqual(
    expect.arrayContaining([
      { op: 'create', type: 'pulumi:providers:kubernetes' },
      { op: 'create', type: 'kubernetes:core/v1:ConfigMap' },
    ]),
  );
});

describe('on the test cluster', () => {
  let namespace: string;
  beforeAll(async () => {
    namespace = await createTestNamespace('pulumi-toolchain');
  });
  afterAll(async () => {
    if (namespace) await deleteTestNamespace(namespace);
  });

  it('creates the ConfigMap with pulumi up and removes it with pulumi destroy', async () => {
    const dir = project('cluster');
    expectOk(await npmPulumi(['stack', 'init', 'cluster', '--non-interactive'], dir));
    const config = ['-c', `kubeconfig=${kubeconfigPath()}`, '-c', `namespace=${namespace}`];
    expectOk(await npmPulumi(['up', '--yes', '--skip-preview', ...config], dir));

    const map = await kubectlJson<{ data: Record<string, string> }>([
      'get',
      'configmap',
      'hks-pulumi-toolchain',
      '-n',
      namespace,
    ]);
    expect(map.data).toEqual({ greeting: 'hello from the pulumi toolchain' });
    const output = expectOk(await npmPulumi(['stack', 'output', 'configMapName'], dir));
    expect(output.stdout).toMatch(/^hks-pulumi-toolchain$/m);
    const state = readFileSync(
      join(scratch, 'state', '.pulumi', 'stacks', 'hks-pulumi-toolchain-fixture', 'cluster.json'),
      'utf8',
    );
    expect(state).toContain('kubernetes:core/v1:ConfigMap');

    expectOk(await npmPulumi(['destroy', '--yes', '--skip-preview'], dir));
    const gone = await kubectl(['get', 'configmap', 'hks-pulumi-toolchain', '-n', namespace]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('NotFound');
  });
});
