import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { KubeRequestError, KubeRest } from '../../api/kube-rest';

/** Field manager of the CRDs the stand-in installs. */
const FIELD_MANAGER = 'hks-dev-knative';
const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/**
 * The Knative release folder: `HKS_KNATIVE_DIR`, by default `../shared/knative/v1.13.0` next to
 * the repository (as the tests use it). Its files are read, never copied into the repository.
 */
export function defaultKnativeDir(): string {
  const root = join(__dirname, '..', '..');
  return resolve(root, process.env.HKS_KNATIVE_DIR ?? join('..', 'shared', 'knative', 'v1.13.0'));
}

interface Crd {
  readonly kind?: string;
  readonly metadata?: { readonly name?: string };
  readonly spec?: {
    readonly group?: string;
    readonly names?: { readonly plural?: string };
    readonly versions?: readonly { readonly name: string; readonly served?: boolean }[];
  };
}

/**
 * Installs the Knative Serving CRDs of a Knative release folder (server-side apply, one file
 * each) and waits until their resources are served: what the stand-in needs on a cluster
 * without Knative, such as the test control plane.
 * @returns the names of the CRDs applied
 * @throws Error naming the folder when it holds no Serving CRDs
 */
export async function installServingCrds(
  config: KubeConfig,
  knativeDir: string,
): Promise<string[]> {
  const dir = join(knativeDir, 'serving', 'config', 'core', '300-resources');
  if (!existsSync(dir)) {
    throw new Error(
      `no Knative Serving CRDs in ${dir}: pass --knative-dir (or set HKS_KNATIVE_DIR) to a Knative release folder`,
    );
  }
  const crds = readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => parse(readFileSync(join(dir, file), 'utf8')) as Crd)
    .filter((doc) => doc?.kind === 'CustomResourceDefinition' && doc.metadata?.name);
  const rest = new KubeRest(config);
  try {
    const query = new URLSearchParams({ fieldManager: FIELD_MANAGER, force: 'true' });
    for (const crd of crds) {
      await rest.request(
        'PATCH',
        `${CRDS}/${crd.metadata?.name}?${query}`,
        crd,
        'application/apply-patch+yaml',
      );
    }
    // A new CRD answers 429 until its storage is ready: wait until each can be listed.
    const deadline = Date.now() + 30_000;
    for (const crd of crds) {
      const version = crd.spec?.versions?.find((v) => v.served)?.name ?? 'v1';
      const path = `/apis/${crd.spec?.group}/${version}/${crd.spec?.names?.plural}?limit=1`;
      for (;;) {
        try {
          await rest.request('GET', path);
          break;
        } catch (error) {
          const retry = error instanceof KubeRequestError && [404, 429, 503].includes(error.code);
          if (!retry || Date.now() > deadline) throw error;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
  } finally {
    rest.close();
  }
  return crds.map((crd) => crd.metadata?.name ?? '');
}
