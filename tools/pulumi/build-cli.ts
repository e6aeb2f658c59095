import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from '../../test/cluster/log';
import { buildIntoFolder, goFailure, runGo } from '../../test/cluster/build';
import type { PulumiToolchainConfig } from './config';
import type { ToolchainLayout } from './layout';
import type { ToolchainVersions } from './versions';
import {
  checkCliWrapper,
  cliModules,
  copyWrapper,
  goOptions,
  cacheMiss,
  writeSource,
} from './wrapper';

const cliPackage = 'github.com/pulumi/pulumi/pkg/v3/cmd/pulumi';
const versionVariable = 'github.com/pulumi/pulumi/sdk/v3/go/common/version.Version';
/** Package folder of the language host inside the build's copy of the CLI wrapper. */
const languageHostPackage = 'pulumi-language-nodejs';

/** Folder of the language host's sources for one Pulumi version. */
export function languageHostSources(config: PulumiToolchainConfig, pulumiVersion: string): string {
  return join(config.sourcesDir, `language-nodejs-v${pulumiVersion}`);
}

/** Copies the language host's Go files (and its licence) into the build's module copy. */
function copyLanguageHost(sources: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  for (const file of readdirSync(sources)) {
    if ((file.endsWith('.go') && !file.endsWith('_test.go')) || file === 'LICENSE') {
      copyFileSync(join(sources, file), join(dest, file));
    }
  }
}

/**
 * Builds `pulumi` and `pulumi-language-nodejs` at the version of `@pulumi/pulumi` into
 * `<cache>/<version>/bin` unless they are there. The language host is built as a package of
 * a copy of the CLI wrapper module (same dependencies, same build cache), its sources copied
 * from `HKS_PULUMI_SOURCES`; both binaries report the version through the same linker flag.
 */
export async function buildCli(
  config: PulumiToolchainConfig,
  versions: ToolchainVersions,
  layout: ToolchainLayout,
  log: Log,
): Promise<void> {
  checkCliWrapper(versions.pulumi);
  const version = `v${versions.pulumi}`;
  const source = cliModules.map((module) => `${module} ${version}\n`).join('');
  const miss = cacheMiss(layout.cliDir, ['pulumi', 'pulumi-language-nodejs'], source);
  if (miss === undefined) {
    return;
  }
  log(`building the Pulumi CLI: ${miss}`);
  const sources = languageHostSources(config, versions.pulumi);
  if (!existsSync(join(sources, 'main.go'))) {
    throw new Error(
      `the Node.js language host's sources are not in ${sources} (no main.go): set ` +
        `HKS_PULUMI_SOURCES to the folder holding language-nodejs-${version}/`,
    );
  }
  const label = `pulumi ${version} and pulumi-language-nodejs`;
  await buildIntoFolder(layout.cliDir, label, log, async (partial, logFile) => {
    const moduleCopy = join(partial, 'src');
    copyWrapper('cli', moduleCopy);
    copyLanguageHost(sources, join(moduleCopy, languageHostPackage));
    const code = await runGo(
      [
        'build',
        '-trimpath',
        '-ldflags',
        `-s -w -X ${versionVariable}=${version}`,
        '-o',
        join(partial, 'bin') + '/',
        cliPackage,
        `./${languageHostPackage}`,
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
