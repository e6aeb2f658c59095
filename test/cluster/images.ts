import { spawn } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheKey, cached, imagesCacheDir } from './image-build';
import {
  baseKeyParts,
  bookwormBase,
  buildBaseLayer,
  type ImageRecipe,
  imageRecipes,
  readBaseLayer,
} from './image-recipes';
import { type Log, formatSeconds } from './log';
import type { LayerBlob } from './oci-archive';
import { writeOciArchive } from './oci-archive';

export { imagesCacheDir };

/** One built image: the archive containerd imports and the references it carries. */
export interface BuiltImage {
  /** e.g. `docker.io/library/busybox:1.36`, as `ctr images ls` names it after the import. */
  readonly reference: string;
  /** OCI image layout archive (tar). */
  readonly archive: string;
}

const formatMegabytes = (bytes: number): string => `${(bytes / 1_000_000).toFixed(1)} MB`;

/**
 * Builds (or reuses from the cache) every test image; returns them in a stable order:
 * pause, busybox, python, node (see test/cluster/README.md, "Test images").
 */
export function buildTestImages(log: Log): Promise<BuiltImage[]> {
  return buildImages(imageRecipes, log, 'test images');
}

/**
 * Builds (or reuses from the cache) the images of `recipes`, in their order.
 *
 * Each image is cached in `<cache>/<name>-<key>/image.tar`, the key hashing its recipe
 * (recipe version, packages, the host files copied in), so an unchanged recipe costs a few
 * `stat` calls and hashing the copied host binaries; the Debian base layer that python and
 * node share is cached the same way and built only when one of them is.
 *
 * @param what names the images in the closing progress line, e.g. `test images`
 */
export async function buildImages(
  recipes: readonly ImageRecipe[],
  log: Log,
  what: string,
): Promise<BuiltImage[]> {
  const started = Date.now();
  const baseFolder = `${bookwormBase.name}-${cacheKey(baseKeyParts())}`;
  let baseLayer: Promise<LayerBlob> | undefined;
  const base = (): Promise<LayerBlob> =>
    (baseLayer ??= cached(
      { label: bookwormBase.label, folder: baseFolder, product: 'layer.json' },
      buildBaseLayer,
      log,
    ).then(({ dir }) => readBaseLayer(dir)));
  const images: BuiltImage[] = [];
  let built = 0;
  for (const recipe of recipes) {
    const parts = [...(await recipe.keyParts()), ...(recipe.usesBase ? [baseFolder] : [])];
    const entry = await cached(
      {
        label: recipe.reference,
        folder: `${recipe.name}-${cacheKey(parts)}`,
        product: 'image.tar',
      },
      async (step) => {
        writeFileSync(join(step.outDir, 'recipe.json'), `${JSON.stringify(parts, null, 2)}\n`);
        const content = await recipe.build(step, base);
        await writeOciArchive(
          { reference: recipe.reference, ...content },
          join(step.workDir, 'oci'),
          join(step.outDir, 'image.tar'),
          step.logFile,
        );
      },
      log,
    );
    built += entry.built ? 1 : 0;
    images.push({ reference: recipe.reference, archive: join(entry.dir, 'image.tar') });
  }
  const sizes = images.map(
    (image) => `${image.reference} ${formatMegabytes(statSync(image.archive).size)}`,
  );
  log(
    `${what} ${built > 0 ? `built (${built})` : 'cached'} in ${formatSeconds(Date.now() - started)}: ` +
      sizes.join(', '),
  );
  return images;
}

/** The `ctr` CLI: `HKS_CTR`, else `ctr` on PATH (Debian package containerd). */
export function ctrBinary(): string {
  return process.env.HKS_CTR ?? 'ctr';
}

/** Runs `ctr --address <address> -n k8s.io <args>`; returns stdout, throws with stderr. */
export function ctr(address: string, args: readonly string[]): Promise<string> {
  const child = spawn(ctrBinary(), ['--address', address, '--namespace', 'k8s.io', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  return new Promise((resolvePromise, reject) => {
    child.on('error', (error) =>
      reject(
        new Error(
          `could not run ${ctrBinary()} (install the Debian package containerd): ${error.message}`,
        ),
      ),
    );
    child.on('close', (code) => {
      if (code === 0) {
        resolvePromise(Buffer.concat(out).toString('utf8'));
      } else {
        const stderr = Buffer.concat(err).toString('utf8').trim();
        reject(new Error(`ctr ${args.join(' ')} exited ${code}: ${stderr}`));
      }
    });
  });
}

/**
 * Imports archives into a containerd (namespace k8s.io, where the CRI plugin keeps its
 * images) through its ctr CLI, unpacked for its default snapshotter (ctr honours
 * `CONTAINERD_SNAPSHOTTER`), and checks that each reference is listed afterwards.
 */
export async function importImages(
  containerdAddress: string,
  images: readonly BuiltImage[],
  log: Log,
): Promise<void> {
  for (const image of images) {
    const started = Date.now();
    await ctr(containerdAddress, ['images', 'import', image.archive]);
    log(`imported ${image.reference} in ${formatSeconds(Date.now() - started)}`);
  }
  const listed = new Set((await ctr(containerdAddress, ['images', 'ls', '--quiet'])).split('\n'));
  const missing = images.filter((image) => !listed.has(image.reference));
  if (missing.length > 0) {
    throw new Error(
      `containerd at ${containerdAddress} lists no image named ${missing.map((image) => image.reference).join(', ')} after the import; it has: ${[...listed].filter(Boolean).join(', ')}`,
    );
  }
}
