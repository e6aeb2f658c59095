import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The package's name, as its package.json says. */
const PACKAGE_NAME = 'hks-platform';

interface PackageManifest {
  readonly name?: string;
  readonly version: string;
}

function readManifest(dir: string): PackageManifest | undefined {
  const file = join(dir, 'package.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as PackageManifest) : undefined;
}

/** The nearest folder from `start` up whose package.json is this package's. */
function findPackageDir(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (readManifest(dir)?.name === PACKAGE_NAME) return dir;
    if (dir === dirname(dir)) {
      throw new Error(`no package.json of ${PACKAGE_NAME} in ${start} or a folder above it`);
    }
  }
}

/**
 * The folder of this package, the one holding its package.json: the repository when the
 * TypeScript sources run (tsx, jest), and the same folder when the compiled code runs from
 * `lib/` (`npm run build`, the installed package, the API image's `/app`). Files read at run
 * time (the runtimes' bootstraps, the console, the JSON Schema) are found from here, not from
 * a module's own folder, which is one level deeper in `lib/`.
 */
export const PACKAGE_DIR = findPackageDir(__dirname);

/** A path inside this package, e.g. `packagePath('runtimes', 'node', 'bootstrap.js')`. */
export function packagePath(...segments: string[]): string {
  return join(PACKAGE_DIR, ...segments);
}

/** The package's version, from its package.json. */
export function packageVersion(): string {
  const manifest = readManifest(PACKAGE_DIR);
  if (manifest === undefined) throw new Error(`${PACKAGE_DIR}/package.json is gone`);
  return manifest.version;
}
