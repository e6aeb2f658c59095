import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installKnativeServingCrds } from '../cluster/knative';
import { kubeconfigPath } from '../cluster/kubeconfig';
import { kubectlOk } from '../cluster/kubectl';
import { waitFor } from '../cluster/wait';

const ROOT = join(__dirname, '..', '..');

/** A running `npm run dev:knative` process. */
export interface StandInProcess {
  readonly output: () => string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts the Knative controller stand-in as its own process (as a developer runs it) against
 * the test cluster, handling only namespaces with `namespacePrefix`, and waits until it watches.
 * Installs the Knative Serving CRDs first.
 */
export async function startStandIn(namespacePrefix: string): Promise<StandInProcess> {
  await installKnativeServingCrds();
  // Freshly installed CRDs answer 429 until their storage is initialised.
  await waitFor('the Knative resources to be served', 30_000, async () => {
    await kubectlOk(['get', 'services.serving.knative.dev,revisions.serving.knative.dev', '-A']);
    return true;
  });
  const stateDir = mkdtempSync(join(tmpdir(), 'hks-knative-'));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'dev', 'knative', 'main.ts'),
      '--state-dir',
      stateDir,
      '--namespace-prefix',
      namespacePrefix,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, KUBECONFIG: kubeconfigPath() },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 30_000;
  while (!/\bstarted\b/.test(output)) {
    if (child.exitCode !== null)
      throw new Error(`the Knative stand-in exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline)
      throw new Error(`the Knative stand-in did not start within 30 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
