import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The release files of one Knative version that the installer uses. */
export const RELEASE_FILES = {
  /** Serving core, CRDs included (so `serving-crds.yaml` is not installed as well). */
  servingCore: 'serving-core.yaml',
  /** net-kourier: its controller and the Envoy gateway. */
  kourier: 'kourier.yaml',
  /** The Job that writes `<load-balancer-ip>.sslip.io` into `config-domain` (magic DNS). */
  defaultDomain: 'serving-default-domain.yaml',
} as const;

/** A Knative release version as written in release tags, without the leading `v`. */
const VERSION = /^(\d+)\.(\d+)\.(\d+)$/;

/**
 * Checks a Knative version and returns it without a leading `v`.
 *
 * @param version e.g. `1.13.0` (or `v1.13.0`)
 * @param field the field named in the error
 * @throws Error naming the field, the value given and what is expected
 */
export function checkKnativeVersion(version: string, field = 'knativeVersion'): string {
  const bare = version.startsWith('v') ? version.slice(1) : version;
  if (!VERSION.test(bare)) {
    throw new Error(
      `${field}: given ${JSON.stringify(version)}, expected a Knative release version such as "1.13.0"`,
    );
  }
  return bare;
}

/**
 * The official download URLs of a release's files, by file name.
 *
 * @param version e.g. `1.13.0`
 */
export function releaseFileUrls(version: string): Record<string, string> {
  const v = checkKnativeVersion(version);
  const serving = `https://github.com/knative/serving/releases/download/knative-v${v}`;
  const kourier = `https://github.com/knative/net-kourier/releases/download/knative-v${v}`;
  return {
    [RELEASE_FILES.servingCore]: `${serving}/${RELEASE_FILES.servingCore}`,
    [RELEASE_FILES.kourier]: `${kourier}/${RELEASE_FILES.kourier}`,
    [RELEASE_FILES.defaultDomain]: `${serving}/${RELEASE_FILES.defaultDomain}`,
  };
}

/**
 * Downloads one URL as text.
 *
 * @throws Error naming the URL and the cause, with what to do without internet access
 */
export async function downloadText(url: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(60_000) });
  } catch (error) {
    const cause = error instanceof Error ? (error.cause ?? error).toString() : String(error);
    throw new Error(
      `could not download ${url}: ${cause}. Without internet access, download the release files ` +
        'on a machine that has it (npm run knative:fetch), copy the folder over and set ' +
        'knativeManifestDir to it',
    );
  }
  if (!response.ok) {
    throw new Error(`could not download ${url}: HTTP ${response.status} ${response.statusText}`);
  }
  return response.text();
}

/**
 * Downloads a release's files into `dir` (created if needed). Each file is written under a
 * temporary name first and renamed when complete, so an interrupted download leaves no
 * partial file behind.
 *
 * @returns the paths written
 */
export async function downloadReleaseFiles(version: string, dir: string): Promise<string[]> {
  const urls = releaseFileUrls(version);
  const texts = await Promise.all(Object.values(urls).map((url) => downloadText(url)));
  mkdirSync(dir, { recursive: true });
  return Object.keys(urls).map((file, index) => {
    const path = join(dir, file);
    writeFileSync(`${path}.partial`, texts[index]);
    renameSync(`${path}.partial`, path);
    return path;
  });
}
