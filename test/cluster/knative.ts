import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from './config';
import { kubectlOk } from './kubectl';

/**
 * Folder of the Knative release manifests: `HKS_KNATIVE_DIR`, by default
 * `../shared/knative/v1.13.0` next to the repository. They are read, never copied in.
 */
export function knativeDir(): string {
  return resolve(
    repoRoot,
    process.env.HKS_KNATIVE_DIR ?? join('..', 'shared', 'knative', 'v1.13.0'),
  );
}

/**
 * The Knative Serving CRD files (`serving/config/core/300-resources/*.yaml`), sorted.
 * Each file holds one CRD and starts without `---`, so apply them one by one.
 */
export function knativeServingCrdFiles(): string[] {
  const dir = join(knativeDir(), 'serving', 'config', 'core', '300-resources');
  if (!existsSync(dir)) {
    throw new Error(
      `Knative Serving CRDs not found in ${dir}; set HKS_KNATIVE_DIR to the Knative release folder`,
    );
  }
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Installs the Knative Serving CRDs (server-side apply, one file at a time; no webhooks, no
 * controller) and waits until they are Established.
 */
export async function installKnativeServingCrds(): Promise<void> {
  for (const file of knativeServingCrdFiles()) {
    await kubectlOk([
      'apply',
      '--server-side',
      '--force-conflicts',
      '--field-manager=hks-tests',
      '-f',
      file,
    ]);
  }
  await kubectlOk([
    'wait',
    '--for=condition=Established',
    '--timeout=30s',
    'crd',
    '-l',
    'knative.dev/crd-install=true',
  ]);
}
