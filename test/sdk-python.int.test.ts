jest.setTimeout(600_000);

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ApiProcess, internalToken, startApi, testStores, token } from './api/api-process';
import { installKnativeServingCrds } from './cluster/knative';
import { kubectl } from './cluster/kubectl';
import { StandInProcess, startStandIn } from './support/knative-stand-in';

/**
 * The Python SDK's pytest suite (sdk/python/tests) against a real API process and the Knative
 * stand-in on the test cluster: unit tests, the SDK's API tests and the README's examples.
 */
const ROOT = join(__dirname, '..');
const PROJECT = 'sdkpy';

/** Runs a command to its end; resolves with its exit code and interleaved output. */
function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

describe('Python SDK (pytest) against the real API', () => {
  const prefix = `t${randomBytes(2).toString('hex')}-`;
  let api: ApiProcess;
  let standIn: StandInProcess;

  beforeAll(async () => {
    await installKnativeServingCrds();
    // dev/knative's stand-in as its own process (@kubernetes/client-node is ESM-only; jest
    // cannot load it in-process), handling only this suite's namespaces.
    standIn = await startStandIn(prefix);
    api = await startApi({
      ...(await testStores()[0].env()),
      HKS_NAMESPACE_PREFIX: prefix,
      HKS_RECORDER: 'off',
    });
  }, 120_000);

  afterAll(async () => {
    await api?.stop();
    await standIn?.stop();
    await kubectl([
      'delete',
      'namespace',
      `${prefix}${PROJECT}`,
      '--wait=false',
      '--ignore-not-found',
    ]);
  });

  test('python3 -m pytest sdk/python/tests passes, nothing skipped', async () => {
    const { code, output } = await run(
      'python3',
      ['-m', 'pytest', 'sdk/python/tests', '-q', '-rs'],
      {
        ...process.env,
        CI: '1', // the API tests must run, not skip
        PYTHONPATH: join(ROOT, 'sdk', 'python'),
        PYTHONDONTWRITEBYTECODE: '1',
        HKS_API_URL: api.url,
        HKS_TOKEN: await token([PROJECT]),
        // The API accepts internal tokens of at most 10 minutes.
        HKS_INTERNAL_TOKEN: await internalToken([PROJECT], '10m'),
        HKS_PROJECT: PROJECT,
      },
    );
    if (code !== 0)
      throw new Error(
        `pytest exited with ${code}:\n${output}\n--- API output ---\n${api.output()}` +
          `\n--- Knative stand-in output ---\n${standIn.output()}`,
      );
    expect(output).toMatch(/\d+ passed/);
    expect(output).not.toMatch(/\d+ (skipped|errors?|failed)/);
  });
});
