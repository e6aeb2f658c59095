import { join } from 'node:path';
import type { PulumiToolchainConfig } from './config';
import type { ToolchainVersions } from './versions';

/** Where each piece of a built toolchain lives in the cache. */
export interface ToolchainLayout {
  /** `<cache>/<pulumi version>`: the CLI and the language host, its build log and sources. */
  readonly cliDir: string;
  /** `<cache>/<pulumi version>/bin`, put first on `PATH`. */
  readonly cliBin: string;
  readonly pulumi: string;
  readonly languageHost: string;
  /** `<cache>/kubernetes-<plugin version>`: the provider, its build log and sources. */
  readonly providerDir: string;
  readonly provider: string;
  /** `PULUMI_HOME` of the toolchain (the installed plugin lives in its `plugins/`). */
  readonly home: string;
}

export function toolchainLayout(
  config: PulumiToolchainConfig,
  versions: ToolchainVersions,
): ToolchainLayout {
  const cliDir = join(config.cacheDir, versions.pulumi);
  const cliBin = join(cliDir, 'bin');
  const providerDir = join(config.cacheDir, `kubernetes-${versions.kubernetesPlugin}`);
  return {
    cliDir,
    cliBin,
    pulumi: join(cliBin, 'pulumi'),
    languageHost: join(cliBin, 'pulumi-language-nodejs'),
    providerDir,
    provider: join(providerDir, 'bin', 'pulumi-resource-kubernetes'),
    home: join(config.cacheDir, 'home'),
  };
}
