import { mkdirSync } from 'node:fs';
import { delimiter } from 'node:path';
import type { PulumiToolchainConfig } from './config';
import type { ToolchainLayout } from './layout';

/**
 * The environment the toolchain's `pulumi` runs in: its bin folder (the CLI and the language
 * host) first on `PATH`, its own `PULUMI_HOME` (where the kubernetes plugin is installed), no
 * update checks, no registry look-ups, no plugin downloads, and the local file backend
 * `file://<repo>/.hks/pulumi` unless `PULUMI_BACKEND_URL` is set.
 */
export function pulumiEnvironment(
  layout: ToolchainLayout,
  config: PulumiToolchainConfig,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  return {
    ...base,
    PATH: [layout.cliBin, base.PATH].filter(Boolean).join(delimiter),
    PULUMI_HOME: layout.home,
    PULUMI_SKIP_UPDATE_CHECK: '1',
    PULUMI_DISABLE_REGISTRY_RESOLVE: 'true',
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
    PULUMI_BACKEND_URL: base.PULUMI_BACKEND_URL || `file://${config.backendDir}`,
  };
}

/** Creates the local backend's folder when the environment uses it (no `PULUMI_BACKEND_URL`). */
export function prepareBackend(
  config: PulumiToolchainConfig,
  base: NodeJS.ProcessEnv = process.env,
): void {
  if (!base.PULUMI_BACKEND_URL) {
    mkdirSync(config.backendDir, { recursive: true });
  }
}
