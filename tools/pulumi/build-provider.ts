import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildIntoFolder, goFailure, runGo } from '../../test/cluster/build';
import { findGo } from '../../test/cluster/go';
import type { Log } from '../../test/cluster/log';
import type { ToolchainLayout } from './layout';
import { schemaEmbed, terraformMappingEmbed } from './provider-embeds';
import type { ToolchainVersions } from './versions';
import {
  copyWrapper,
  goOptions,
  cacheMiss,
  providerModule,
  wrapperPin,
  writeSource,
} from './wrapper';

const mainPackage = 'cmd/pulumi-resource-kubernetes';
const versionVariable = `${providerModule}/pkg/version.Version`;

/** Downloads (if needed) a module the build's module copy requires; returns its folder. */
async function moduleFolder(moduleCopy: string, module: string): Promise<string> {
  const { stdout } = await promisify(execFile)(findGo(), ['mod', 'download', '-json', module], {
    cwd: moduleCopy,
    env: { ...process.env, ...goOptions.env },
    maxBuffer: 1 << 20,
  });
  const info = JSON.parse(stdout) as { Dir?: string; Error?: string };
  if (!info.Dir) {
    throw new Error(`go mod download ${module} gave no folder: ${info.Error ?? stdout}`);
  }
  return info.Dir;
}

/**
 * Places the provider's main package in the build's module copy: `main.go` from the module
 * cache and the two JSON files it embeds, generated as upstream's `generate.go` does.
 */
async function prepareMainPackage(moduleCopy: string, pluginVersion: string): Promise<void> {
  const upstream = join(await moduleFolder(moduleCopy, providerModule), mainPackage);
  const dest = join(moduleCopy, mainPackage);
  mkdirSync(dest, { recursive: true });
  copyFileSync(join(upstream, 'main.go'), join(dest, 'main.go'));
  const schema = readFileSync(join(upstream, 'schema.json'), 'utf8');
  writeFileSync(join(dest, 'schema-embed.json'), schemaEmbed(schema, pluginVersion));
  const mapping = readFileSync(join(upstream, 'terraform-mapping.json'), 'utf8');
  writeFileSync(join(dest, 'terraform-mapping-embed.json'), terraformMappingEmbed(mapping));
}

/**
 * Builds `pulumi-resource-kubernetes` into `<cache>/kubernetes-<plugin version>/bin` unless it
 * is there, from the provider module the wrapper pins (the one the Go proxy serves: v4.25 code),
 * reporting the plugin version `@pulumi/kubernetes` asks for.
 */
export async function buildProvider(
  versions: ToolchainVersions,
  layout: ToolchainLayout,
  log: Log,
): Promise<void> {
  const pinned = wrapperPin('provider', providerModule);
  const source = `${providerModule} ${pinned}\n`;
  const miss = cacheMiss(layout.providerDir, ['pulumi-resource-kubernetes'], source);
  if (miss === undefined) {
    return;
  }
  log(`building the kubernetes provider: ${miss}`);
  const label = `pulumi-resource-kubernetes ${versions.kubernetesPlugin} (${providerModule} ${pinned})`;
  await buildIntoFolder(layout.providerDir, label, log, async (partial, logFile) => {
    const moduleCopy = join(partial, 'src');
    copyWrapper('provider', moduleCopy);
    await prepareMainPackage(moduleCopy, versions.kubernetesPlugin);
    const code = await runGo(
      [
        'build',
        '-trimpath',
        '-ldflags',
        `-s -w -X ${versionVariable}=${versions.kubernetesPlugin}`,
        '-o',
        join(partial, 'bin', 'pulumi-resource-kubernetes'),
        `./${mainPackage}`,
      ],
      moduleCopy,
      logFile,
      goOptions,
    );
    if (code !== 0) {
      throw goFailure(label, code, logFile);
    }
    writeSource(partial, source);
  });
}
