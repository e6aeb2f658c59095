import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consoleActionLog, startKnativeStandIn } from '../../dev/knative';
import { kubeconfigPath } from '../cluster/kubeconfig';

/** A running Knative stand-in, with its action log. */
export interface StandInProcess {
  /** Its action lines so far, in the plain format of `npm run dev:knative`. */
  readonly output: () => string;
  stop(): Promise<void>;
}

/**
 * Starts the Knative controller stand-in as its own process against the test cluster,
 * installing the Knative Serving CRDs first (`npm run dev:knative -- --install-crds`), handling
 * only namespaces with `namespacePrefix`, in a fresh state folder; resolves once it watches.
 */
export async function startStandIn(namespacePrefix: string): Promise<StandInProcess> {
  let output = '';
  const standIn = await startKnativeStandIn({
    kubeconfig: kubeconfigPath(),
    stateDir: mkdtempSync(join(tmpdir(), 'hks-knative-')),
    namespacePrefix,
    installCrds: true,
    log: consoleActionLog('plain', (line) => (output += line)),
  });
  return { output: () => output, stop: () => standIn.stop() };
}
