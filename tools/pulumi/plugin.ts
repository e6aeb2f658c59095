import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Log } from '../../test/cluster/log';
import type { ToolchainLayout } from './layout';

/** Folder of the installed kubernetes plugin in the toolchain's `PULUMI_HOME`. */
export function installedPluginDir(layout: ToolchainLayout, pluginVersion: string): string {
  return join(layout.home, 'plugins', `resource-kubernetes-v${pluginVersion}`);
}

function isInstalled(layout: ToolchainLayout, pluginVersion: string): boolean {
  const dir = installedPluginDir(layout, pluginVersion);
  const binary = join(dir, 'pulumi-resource-kubernetes');
  return (
    existsSync(binary) &&
    !existsSync(`${dir}.partial`) &&
    statSync(binary).mtimeMs >= statSync(layout.provider).mtimeMs
  );
}

/**
 * Installs the built provider as the kubernetes plugin `pluginVersion`, offline
 * (`pulumi plugin install resource kubernetes <version> --file <binary>`), unless the
 * installed copy is at least as new as the build.
 *
 * @param env the environment `pulumi` runs in (its `PULUMI_HOME` receives the plugin)
 */
export async function ensurePlugin(
  layout: ToolchainLayout,
  pluginVersion: string,
  env: NodeJS.ProcessEnv,
  log: Log,
): Promise<void> {
  if (isInstalled(layout, pluginVersion)) {
    return;
  }
  log(`installing ${layout.provider} as the kubernetes plugin ${pluginVersion} in ${layout.home}`);
  const args = ['plugin', 'install', 'resource', 'kubernetes', pluginVersion];
  try {
    await promisify(execFile)(layout.pulumi, [...args, '--file', layout.provider, '--reinstall'], {
      env,
      timeout: 300_000,
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `pulumi ${args.join(' ')} --file ${layout.provider} failed: ${stderr || stdout || String(error)}`,
    );
  }
}
