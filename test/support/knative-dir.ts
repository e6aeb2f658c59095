import { join, resolve } from 'node:path';

/** Repository root. */
const repoRoot = resolve(__dirname, '..', '..');

/**
 * Folder of the upstream Knative v1.13.0 manifests: `HKS_KNATIVE_DIR`, by default
 * `../shared/knative/v1.13.0` next to the repository. Read, never copied in.
 */
export function knativeManifestDir(): string {
  return resolve(
    repoRoot,
    process.env.HKS_KNATIVE_DIR ?? join('..', 'shared', 'knative', 'v1.13.0'),
  );
}
