import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './config';

/** The versions the toolchain is built at, as the npm packages ask for them. */
export interface ToolchainVersions {
  /** The Pulumi CLI and language host: the version of `@pulumi/pulumi`, e.g. `3.248.0`. */
  readonly pulumi: string;
  /** The kubernetes plugin: the version of `@pulumi/kubernetes`, e.g. `4.34.2`. */
  readonly kubernetesPlugin: string;
}

interface PackageLock {
  readonly packages?: Readonly<Record<string, { readonly version?: string }>>;
}

/**
 * The version of an npm package that a package-lock.json (lockfileVersion 2 or 3) installs.
 *
 * @param lock the parsed package-lock.json
 * @param name the package, e.g. `@pulumi/pulumi`
 */
export function lockedVersion(lock: PackageLock, name: string): string {
  const version = lock.packages?.[`node_modules/${name}`]?.version;
  if (!version || !/^\d+\.\d+\.\d+$/.test(version)) {
    throw new Error(
      `package-lock.json: expected "node_modules/${name}" with a version x.y.z, got ${JSON.stringify(version ?? null)}; run npm install`,
    );
  }
  return version;
}

/** The toolchain's versions from the repository's package-lock.json. */
export function toolchainVersions(root: string = repoRoot): ToolchainVersions {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as PackageLock;
  return {
    pulumi: lockedVersion(lock, '@pulumi/pulumi'),
    // @pulumi/kubernetes asks the engine for the plugin of its own version (its package.json's
    // "pulumi": { "version" } field is written from it).
    kubernetesPlugin: lockedVersion(lock, '@pulumi/kubernetes'),
  };
}
