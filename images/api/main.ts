#!/usr/bin/env -S npx tsx
/**
 * `npm run image:api -- [--out <file>] [--import <containerd socket>]`
 *
 * Builds the API's container image (images/api/api-image.ts) as an OCI archive, without a
 * container daemon, and puts it at `--out`; `--import` also imports it into a containerd
 * (namespace k8s.io, where the kubelet looks). Needs root, the Debian packages mmdebstrap
 * (and containerd's ctr for --import), a Python 3.12 and Node 20 on this machine.
 * Exit codes: 0 built, 1 the build failed, 2 bad usage.
 */
import { Command } from 'commander';
import { copyFileSync, linkSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArguments } from '../../cli/parse-arguments';
import { importImages } from '../../test/cluster/images';
import { stderrLog } from '../../test/cluster/log';
import { buildApiImage } from './api-image';

interface ImageOptions {
  readonly out: string;
  readonly import?: string;
}

/** Where `npm run image:api` puts the archive unless `--out` says otherwise. */
export const DEFAULT_ARCHIVE = join(__dirname, '..', '..', '.hks', 'images', 'hks-api.tar');

/** Hard-links the cached archive to `out` (a copy across file systems). */
function place(archive: string, out: string): void {
  mkdirSync(dirname(out), { recursive: true });
  rmSync(out, { force: true });
  try {
    linkSync(archive, out);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    copyFileSync(archive, out);
  }
}

async function run(options: ImageOptions): Promise<number> {
  const image = await buildApiImage(stderrLog);
  const out = resolve(options.out);
  place(image.archive, out);
  if (options.import !== undefined) await importImages(options.import, [image], stderrLog);
  const inside = relative(process.cwd(), out);
  const shown = inside.startsWith('..') ? out : inside;
  process.stdout.write(
    `${image.reference}: ${shown} (${(statSync(out).size / 1e6).toFixed(1)} MB, OCI archive)\n` +
      `  push:   skopeo copy oci-archive:${shown} docker://<registry>/hks-api:<tag>\n` +
      `  import: ctr -n k8s.io images import ${shown}   (on each node, no registry)\n`,
  );
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('image:api')
    .description("Build the HKS API's container image as an OCI archive (no container daemon).")
    .option('--out <file>', 'where to put the archive', relative(process.cwd(), DEFAULT_ARCHIVE))
    .option(
      '--import <socket>',
      'also import it into the containerd at this socket (ctr -n k8s.io)',
    );
  const usage = parseArguments(program, argv);
  if (usage !== undefined) return usage;
  try {
    return await run(program.opts<ImageOptions>());
  } catch (error) {
    process.stderr.write(`image:api: ${(error as Error).message}\n`);
    return 1;
  }
}

void main(process.argv.slice(2)).then((code) => process.exit(code));
