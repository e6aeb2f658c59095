#!/usr/bin/env -S npx tsx
/**
 * `npm run knative:fetch -- <version> [--out <dir>]`
 *
 * Downloads the official Knative Serving and Kourier release files of a version
 * (serving-core.yaml, kourier.yaml, serving-default-domain.yaml) into a cache folder, for
 * air-gapped clusters: copy the folder over and set the stack's `knativeManifestDir` to it.
 * Exit codes: 0 downloaded, 1 download failed, 2 bad usage.
 */
import { Command } from 'commander';
import { parseArguments } from './parse-arguments';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkKnativeVersion, downloadReleaseFiles } from '../knative';

/** Default cache folder of a version: `$XDG_CACHE_HOME/hks/knative/v<version>`. */
export function defaultCacheDir(version: string): string {
  const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(cache, 'hks', 'knative', `v${version}`);
}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('knative:fetch')
    .argument('<version>', 'Knative release, e.g. 1.13.0')
    .option('--out <dir>', 'folder to write to (default: ~/.cache/hks/knative/v<version>)');
  const usage = parseArguments(program, argv);
  if (usage !== undefined) return usage;
  let version: string;
  try {
    version = checkKnativeVersion(program.args[0], 'version');
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const out = resolve(program.opts<{ out?: string }>().out ?? defaultCacheDir(version));
  try {
    const files = await downloadReleaseFiles(version, out);
    process.stdout.write(
      `Knative ${version}: wrote ${files.length} files to ${out}\n` +
        `Use them with: pulumi config set knativeManifestDir ${out}\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`knative:fetch: ${(error as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
