import type { Log } from '../../test/cluster/log';
import { withBuildLock } from './build-lock';
import { buildCli } from './build-cli';
import { buildProvider } from './build-provider';
import { type PulumiToolchainConfig, toolchainConfig } from './config';
import { pulumiEnvironment } from './environment';
import { type ToolchainLayout, toolchainLayout } from './layout';
import { ensurePlugin } from './plugin';
import { type ToolchainVersions, toolchainVersions } from './versions';

/** A built toolchain, ready to run. */
export interface Toolchain {
  readonly config: PulumiToolchainConfig;
  readonly versions: ToolchainVersions;
  readonly layout: ToolchainLayout;
  /** The environment `pulumi` runs in (see `pulumiEnvironment`). */
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Builds what is missing of the toolchain (the CLI and language host, then the provider),
 * installs the provider as the kubernetes plugin; a warm cache costs a few `stat` calls.
 * One process at a time does so (see `withBuildLock`).
 */
export async function ensureToolchain(
  log: Log,
  base: NodeJS.ProcessEnv = process.env,
): Promise<Toolchain> {
  const config = toolchainConfig(base);
  const versions = toolchainVersions();
  const layout = toolchainLayout(config, versions);
  const env = pulumiEnvironment(layout, config, base);
  await withBuildLock(config.cacheDir, log, async () => {
    await buildCli(config, versions, layout, log);
    await buildProvider(versions, layout, log);
    await ensurePlugin(layout, versions.kubernetesPlugin, env, log);
  });
  return { config, versions, layout, env };
}
