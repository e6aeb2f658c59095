import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  createWriteStream,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/** A compressed layer blob on disk and the digests an image manifest and config name it by. */
export interface LayerBlob {
  /** The `.tar.gz` file. */
  readonly path: string;
  /** `sha256:` of the compressed blob (manifest `layers[].digest`). */
  readonly digest: string;
  /** `sha256:` of the uncompressed tar (config `rootfs.diff_ids`). */
  readonly diffId: string;
  /** Size of the compressed blob in bytes. */
  readonly size: number;
  /** What the layer holds, for the config's `history`. */
  readonly createdBy: string;
}

/** Which part of a folder goes into a layer, and how owners and times are written. */
export interface LayerSource {
  /** Folder the paths are relative to. */
  readonly dir: string;
  /** Paths inside `dir` to archive, e.g. `['.']` or `['usr/local', 'etc/ld.so.cache']`. */
  readonly paths: readonly string[];
  /** `root`: every entry owned by 0:0; `keep`: the owners on disk (numeric). */
  readonly owners: 'root' | 'keep';
  /**
   * `epoch`: every mtime 0, for a layer that does not depend on them; `keep`: the times on
   * disk (Python compares a `.pyc` with its source's mtime, so the interpreter keeps its own).
   */
  readonly mtimes: 'epoch' | 'keep';
  /** GNU tar `--exclude` patterns. @default none */
  readonly excludes?: readonly string[];
  /** What the layer holds, for the config's `history`. */
  readonly createdBy: string;
}

/** The runtime part of an OCI image config (`config` in the config blob). */
export interface ImageRunConfig {
  readonly Env: readonly string[];
  readonly Cmd?: readonly string[];
  readonly Entrypoint?: readonly string[];
  readonly User?: string;
  readonly WorkingDir?: string;
}

const sha256 = (data: string | Buffer): string =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A pass-through stream that feeds everything it sees into a hash and counts the bytes. */
function tap(hash: ReturnType<typeof createHash>, counter: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      counter.bytes += chunk.length;
      callback(null, chunk);
    },
  });
}

/** GNU tar arguments writing `source` to stdout: sorted names, numeric owners. */
export function tarArguments(source: LayerSource): string[] {
  return [
    '--create',
    '--file=-',
    '--format=gnu',
    '--sort=name',
    '--numeric-owner',
    ...(source.owners === 'root' ? ['--owner=0', '--group=0'] : []),
    ...(source.mtimes === 'epoch' ? ['--mtime=@0'] : []),
    ...(source.excludes ?? []).map((pattern) => `--exclude=${pattern}`),
    '--directory',
    source.dir,
    '--',
    ...source.paths,
  ];
}

/**
 * Archives a folder (GNU tar) into a gzip'd layer blob, computing the uncompressed and the
 * compressed sha256 while it streams. tar's messages go to `logFile`.
 */
export async function writeLayer(
  source: LayerSource,
  outFile: string,
  logFile: string,
): Promise<LayerBlob> {
  const log = openSync(logFile, 'a');
  const child = spawn('tar', tarArguments(source), { stdio: ['ignore', 'pipe', log] });
  closeSync(log);
  const exited = new Promise<number>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolvePromise(code ?? 1));
  });
  const diffHash = createHash('sha256');
  const blobHash = createHash('sha256');
  const uncompressed = { bytes: 0 };
  const compressed = { bytes: 0 };
  const stdout = child.stdout;
  if (stdout === null) {
    throw new Error('tar started without a stdout pipe');
  }
  await pipeline(
    stdout,
    tap(diffHash, uncompressed),
    createGzip({ level: 6 }),
    tap(blobHash, compressed),
    createWriteStream(outFile),
  );
  const code = await exited;
  if (code !== 0) {
    throw new Error(
      `tar of ${source.dir} (${source.paths.join(' ')}) exited ${code}; see ${logFile}`,
    );
  }
  return {
    path: outFile,
    digest: `sha256:${blobHash.digest('hex')}`,
    diffId: `sha256:${diffHash.digest('hex')}`,
    size: compressed.bytes,
    createdBy: source.createdBy,
  };
}

/** Runs GNU tar with its output appended to `logFile`; resolves with its exit status. */
async function tar(args: readonly string[], logFile: string): Promise<number> {
  const log = openSync(logFile, 'a');
  const child = spawn('tar', args, { stdio: ['ignore', log, log] });
  closeSync(log);
  return new Promise<number>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (exit) => resolvePromise(exit ?? 1));
  });
}

/** `registry.k8s.io/pause:3.10` → `3.10`. */
export function referenceTag(reference: string): string {
  const name = reference.slice(reference.lastIndexOf('/') + 1);
  const colon = name.lastIndexOf(':');
  if (colon < 0) {
    throw new Error(`image reference "${reference}" has no tag; expected e.g. "busybox:1.36"`);
  }
  return name.slice(colon + 1);
}

/** Everything one OCI image archive holds. */
export interface OciImage {
  /** Fully qualified reference the archive names the image by, e.g. `docker.io/library/busybox:1.36`. */
  readonly reference: string;
  /** Layers, lowest first. */
  readonly layers: readonly LayerBlob[];
  readonly config: ImageRunConfig;
}

/**
 * Writes an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/*`) for one
 * linux/amd64 image into `stagingDir` and archives it (GNU tar, no compression) as
 * `outFile`, which `ctr images import` takes. The index entry carries the reference in
 * `io.containerd.image.name` (containerd's name for it) and the tag in
 * `org.opencontainers.image.ref.name` (the OCI convention, as `ctr export` writes it).
 *
 * Layer blobs are hard-linked into the staging folder when they are on the same file
 * system (copied otherwise), so a base layer shared by several images is stored once.
 */
export async function writeOciArchive(
  image: OciImage,
  stagingDir: string,
  outFile: string,
  logFile: string,
): Promise<void> {
  const blobs = join(stagingDir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const putBlob = (data: string): { digest: string; size: number } => {
    const digest = sha256(data);
    writeFileSync(join(blobs, digest.slice('sha256:'.length)), data);
    return { digest, size: Buffer.byteLength(data) };
  };
  for (const layer of image.layers) {
    const target = join(blobs, layer.digest.slice('sha256:'.length));
    try {
      linkSync(layer.path, target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        continue;
      }
      if (code !== 'EXDEV') {
        throw error;
      }
      copyFileSync(layer.path, target);
    }
  }
  const created = '1970-01-01T00:00:00Z';
  const config = putBlob(
    JSON.stringify({
      created,
      architecture: 'amd64',
      os: 'linux',
      config: image.config,
      rootfs: { type: 'layers', diff_ids: image.layers.map((layer) => layer.diffId) },
      history: image.layers.map((layer) => ({ created, created_by: layer.createdBy })),
    }),
  );
  const manifest = putBlob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: image.layers.map((layer) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: layer.digest,
        size: layer.size,
      })),
    }),
  );
  writeFileSync(join(stagingDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(stagingDir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          platform: { architecture: 'amd64', os: 'linux' },
          annotations: {
            'io.containerd.image.name': image.reference,
            'org.opencontainers.image.ref.name': referenceTag(image.reference),
          },
        },
      ],
    }),
  );
  const code = await tar(
    [
      '--create',
      `--file=${outFile}`,
      '--format=gnu',
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mtime=@0',
      '--directory',
      stagingDir,
      '--',
      'oci-layout',
      'index.json',
      'blobs',
    ],
    logFile,
  );
  if (code !== 0 || statSync(outFile).size === 0) {
    throw new Error(`tar of the OCI layout in ${stagingDir} exited ${code}; see ${logFile}`);
  }
}

/**
 * The image of an OCI archive with one manifest, as {@link writeOciArchive} writes them:
 * unpacked into `dir` (its layers are the blobs there), with its reference, layers (digests,
 * diff_ids and history from its config) and run configuration. For building an image on top
 * of another.
 */
export async function readOciArchive(
  archive: string,
  dir: string,
  logFile: string,
): Promise<OciImage> {
  mkdirSync(dir, { recursive: true });
  const code = await tar(['--extract', `--file=${archive}`, '--directory', dir], logFile);
  if (code !== 0) {
    throw new Error(`tar --extract of ${archive} exited ${code}; see ${logFile}`);
  }
  const blob = (digest: string) => join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const json = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
  const index = json<{
    manifests: { digest: string; annotations?: Record<string, string> }[];
  }>(join(dir, 'index.json'));
  if (index.manifests.length !== 1) {
    throw new Error(`${archive} holds ${index.manifests.length} manifests, expected one`);
  }
  const [entry] = index.manifests;
  const manifest = json<{
    config: { digest: string };
    layers: { digest: string; size: number }[];
  }>(blob(entry.digest));
  const config = json<{
    config: ImageRunConfig;
    rootfs: { diff_ids: string[] };
    history?: { created_by?: string }[];
  }>(blob(manifest.config.digest));
  return {
    reference: entry.annotations?.['io.containerd.image.name'] ?? '',
    layers: manifest.layers.map((layer, i) => ({
      path: blob(layer.digest),
      digest: layer.digest,
      diffId: config.rootfs.diff_ids[i],
      size: layer.size,
      createdBy: config.history?.[i]?.created_by ?? '',
    })),
    config: config.config,
  };
}
