import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { KubeObject, objectKey } from './kube-object';
import { parseManifests } from './parse-manifests';
import { downloadText, RELEASE_FILES, releaseFileUrls } from './release-files';

/** The objects of a Knative Serving + Kourier install, before any transform. */
export interface KnativeManifests {
  /** Serving core, CRDs included. */
  readonly serving: readonly KubeObject[];
  /** net-kourier (objects in `kourier-system` and `knative-serving`). */
  readonly kourier: readonly KubeObject[];
  /** The magic DNS (sslip.io) default-domain Job and what it needs; empty when not shipped. */
  readonly defaultDomain: readonly KubeObject[];
}

/**
 * Reads the manifests from a local folder in one of two layouts:
 *
 * - release files: `serving-core.yaml`, `kourier.yaml` and optionally
 *   `serving-default-domain.yaml` (what `npm run knative:fetch` writes; `serving-crds.yaml`
 *   is ignored since `serving-core.yaml` holds the CRDs too);
 * - upstream source trees: `serving/config/core/**.yaml`, `net-kourier/config/*.yaml` and
 *   `serving/config/post-install/default-domain.yaml`.
 *
 * @throws Error naming the folder and the layouts expected, a file that does not parse, or an
 *   object found twice
 */
export function readLocalManifests(dir: string): KnativeManifests {
  if (existsSync(join(dir, RELEASE_FILES.servingCore))) {
    const read = (file: string, required: boolean): KubeObject[] => {
      const path = join(dir, file);
      if (!existsSync(path)) {
        if (!required) return [];
        throw new Error(
          `knativeManifestDir: ${dir} has ${RELEASE_FILES.servingCore} but no ${file}, expected both release files`,
        );
      }
      return parseManifests(readFileSync(path, 'utf8'), path);
    };
    return checked({
      serving: read(RELEASE_FILES.servingCore, true),
      kourier: read(RELEASE_FILES.kourier, true),
      defaultDomain: read(RELEASE_FILES.defaultDomain, false),
    });
  }
  const core = join(dir, 'serving', 'config', 'core');
  const kourier = join(dir, 'net-kourier', 'config');
  if (existsSync(core) && existsSync(kourier)) {
    const defaultDomain = join(dir, 'serving', 'config', 'post-install', 'default-domain.yaml');
    return checked({
      serving: readTree(core, true),
      kourier: readTree(kourier, false),
      defaultDomain: existsSync(defaultDomain)
        ? parseManifests(readFileSync(defaultDomain, 'utf8'), defaultDomain)
        : [],
    });
  }
  throw new Error(
    `knativeManifestDir: given ${JSON.stringify(dir)}, expected a folder holding the release files ` +
      `${RELEASE_FILES.servingCore} and ${RELEASE_FILES.kourier} (npm run knative:fetch writes them), ` +
      'or the source trees serving/config/core/ and net-kourier/config/',
  );
}

/**
 * Downloads the official release files of a version and parses them.
 *
 * @param version e.g. `1.13.0`
 * @param magicDns whether to download `serving-default-domain.yaml` too
 */
export async function downloadManifests(
  version: string,
  magicDns: boolean,
): Promise<KnativeManifests> {
  const urls = releaseFileUrls(version);
  const get = async (file: string): Promise<KubeObject[]> =>
    parseManifests(await downloadText(urls[file]), urls[file]);
  const [serving, kourier, defaultDomain] = await Promise.all([
    get(RELEASE_FILES.servingCore),
    get(RELEASE_FILES.kourier),
    magicDns ? get(RELEASE_FILES.defaultDomain) : Promise.resolve([]),
  ]);
  return checked({ serving, kourier, defaultDomain });
}

/** Every `.yaml` file under a folder (recursively or not), sorted by path, parsed. */
function readTree(dir: string, recursive: boolean): KubeObject[] {
  const files: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder).sort()) {
      const path = join(folder, entry);
      if (statSync(path).isDirectory()) {
        if (recursive) walk(path);
      } else if (entry.endsWith('.yaml')) {
        files.push(path);
      }
    }
  };
  walk(dir);
  return files
    .sort((a, b) => (relative(dir, a) < relative(dir, b) ? -1 : 1))
    .flatMap((path) => parseManifests(readFileSync(path, 'utf8'), path));
}

/** Refuses a set that holds an object twice (e.g. the CRDs from serving-crds.yaml as well). */
function checked(manifests: KnativeManifests): KnativeManifests {
  const seen = new Set<string>();
  for (const object of [...manifests.serving, ...manifests.kourier, ...manifests.defaultDomain]) {
    const key = objectKey(object);
    if (seen.has(key)) {
      throw new Error(`Knative manifests: ${key} is defined twice, expected each object once`);
    }
    seen.add(key);
  }
  return manifests;
}
