import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type GoRunOptions, pinnedVersion } from '../../test/cluster/build';

/** A committed Go wrapper module under tools/pulumi/go. */
export type Wrapper = 'cli' | 'provider';

/** How the toolchain's Go builds run: niced (shared machines), exactly the committed pins. */
export const goOptions: GoRunOptions = {
  niceness: 10,
  env: { GOFLAGS: '-mod=readonly -buildvcs=false' },
};

/** Folder of a committed wrapper module. */
export function wrapperDir(wrapper: Wrapper): string {
  return join(__dirname, 'go', wrapper);
}

/** Modules the CLI wrapper must require at the version of `@pulumi/pulumi`. */
export const cliModules = ['github.com/pulumi/pulumi/pkg/v3', 'github.com/pulumi/pulumi/sdk/v3'];

/** The provider module the provider wrapper builds. */
export const providerModule = 'github.com/pulumi/pulumi-kubernetes/provider/v4';

/** The version a wrapper's go.mod requires `module` at; throws when it requires none. */
export function wrapperPin(wrapper: Wrapper, module: string): string {
  const version = pinnedVersion(readFileSync(join(wrapperDir(wrapper), 'go.mod'), 'utf8'), module);
  if (version === undefined) {
    throw new Error(`tools/pulumi/go/${wrapper}/go.mod requires no ${module}`);
  }
  return version;
}

/**
 * Refuses a CLI wrapper that pins another Pulumi than `@pulumi/pulumi` of package-lock.json.
 *
 * @param pulumiVersion e.g. `3.248.0`
 */
export function checkCliWrapper(pulumiVersion: string): void {
  for (const module of cliModules) {
    const pinned = wrapperPin('cli', module);
    if (pinned !== `v${pulumiVersion}`) {
      throw new Error(
        `tools/pulumi/go/cli/go.mod requires ${module} ${pinned}, but package-lock.json has ` +
          `@pulumi/pulumi ${pulumiVersion}; keep them in step (v${pulumiVersion})`,
      );
    }
  }
}

/** Copies a wrapper's go.mod and go.sum into `dest` (created), the build's own module folder. */
export function copyWrapper(wrapper: Wrapper, dest: string): void {
  mkdirSync(dest, { recursive: true });
  for (const file of ['go.mod', 'go.sum']) {
    copyFileSync(join(wrapperDir(wrapper), file), join(dest, file));
  }
}

const sourceFile = 'source.txt';

/**
 * Why a cache folder cannot be used, or undefined when it holds every binary, built from what
 * `source` describes (the pinned modules): a folder keyed by a label alone (the plugin
 * version) is rebuilt when its pins change.
 */
export function cacheMiss(
  dir: string,
  binaries: readonly string[],
  source: string,
): string | undefined {
  const missing = binaries.find((binary) => !existsSync(join(dir, 'bin', binary)));
  if (missing) {
    return `${join(dir, 'bin', missing)} is missing`;
  }
  const stamp = join(dir, sourceFile);
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== source) {
    return `${stamp} does not name the pins ${source.trim().split('\n').join(', ')}`;
  }
  return undefined;
}

/** Records what a (partial) cache folder was built from; see {@link cacheMiss}. */
export function writeSource(dir: string, source: string): void {
  writeFileSync(join(dir, sourceFile), source);
}
