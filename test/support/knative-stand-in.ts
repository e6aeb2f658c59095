import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installKnativeServingCrds } from '../cluster/knative';
import { kubeconfigPath } from '../cluster/kubeconfig';
import { kubectlOk } from '../cluster/kubectl';
import { waitFor } from '../cluster/wait';
import { ScriptProcess, startScript } from './script-process';

/** A running `npm run dev:knative` process. */
export type StandInProcess = Pick<ScriptProcess, 'output' | 'stop'>;

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
  return startScript(
    'the Knative stand-in',
    'dev/knative/main.ts',
    ['--state-dir', stateDir, '--namespace-prefix', namespacePrefix],
    { KUBECONFIG: kubeconfigPath() },
    (output) => /\bstarted\b/.test(output),
  );
}
