import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeconfigPath } from '../cluster/kubeconfig';
import { ScriptProcess, startScript } from './script-process';

/** A running `npm run dev:knative` process. */
export type StandInProcess = Pick<ScriptProcess, 'output' | 'stop'>;

/**
 * Starts the Knative controller stand-in as its own process, as a developer runs it
 * (`npm run dev:knative -- --install-crds`, which installs the Knative Serving CRDs first),
 * against the test cluster, handling only namespaces with `namespacePrefix`; waits until it
 * watches.
 */
export async function startStandIn(namespacePrefix: string): Promise<StandInProcess> {
  const stateDir = mkdtempSync(join(tmpdir(), 'hks-knative-'));
  return startScript(
    'the Knative stand-in',
    'dev/knative/main.ts',
    ['--install-crds', '--state-dir', stateDir, '--namespace-prefix', namespacePrefix],
    { KUBECONFIG: kubeconfigPath() },
    (output) => /\bstarted\b/.test(output),
  );
}
