import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readOciArchive, referenceTag, writeLayer, writeOciArchive } from './oci-archive';

const sha256 = (data: Buffer): string =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`;

describe('OCI image archives of the test images', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hks-oci-archive-'));
    mkdirSync(join(dir, 'rootfs', 'bin'), { recursive: true });
    writeFileSync(join(dir, 'rootfs', 'bin', 'tool'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    symlinkSync('tool', join(dir, 'rootfs', 'bin', 'alias'));
    writeFileSync(join(dir, 'build.log'), '');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const layerOf = (out: string) =>
    writeLayer(
      {
        dir: join(dir, 'rootfs'),
        paths: ['.'],
        owners: 'root',
        mtimes: 'epoch',
        createdBy: 'test',
      },
      join(dir, out),
      join(dir, 'build.log'),
    );

  it('names a layer by the sha256 of its gzip blob and its diff_id by the uncompressed tar', async () => {
    const layer = await layerOf('layer.tar.gz');
    const blob = readFileSync(layer.path);
    expect(layer.digest).toBe(sha256(blob));
    expect(layer.size).toBe(blob.length);
    expect(layer.diffId).toBe(sha256(gunzipSync(blob)));
    const listing = execFileSync('tar', ['-tvzf', layer.path], { encoding: 'utf8' });
    expect(listing).toMatch(/^-rwxr-xr-x 0\/0 .* 1970-01-01 00:00 \.\/bin\/tool$/m);
    expect(listing).toMatch(/^lrwxrwxrwx 0\/0 .* \.\/bin\/alias -> tool$/m);
  });

  it('writes the same layer twice byte for byte (sorted names, owners and mtimes fixed)', async () => {
    const first = await layerOf('one.tar.gz');
    const second = await layerOf('two.tar.gz');
    expect(second.digest).toBe(first.digest);
  });

  it('writes an OCI layout whose index names the image as containerd imports it', async () => {
    const layer = await layerOf('layer.tar.gz');
    const archive = join(dir, 'image.tar');
    await writeOciArchive(
      {
        reference: 'docker.io/library/busybox:1.36',
        layers: [layer],
        config: { Env: ['PATH=/bin'], Cmd: ['sh'] },
      },
      join(dir, 'oci'),
      archive,
      join(dir, 'build.log'),
    );
    const read = (name: string): Buffer => execFileSync('tar', ['-xOf', archive, name]);
    const blob = (digest: string): Buffer => read(`blobs/sha256/${digest.slice('sha256:'.length)}`);
    const index = JSON.parse(read('index.json').toString());
    expect(JSON.parse(read('oci-layout').toString())).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(index.manifests).toHaveLength(1);
    const [entry] = index.manifests;
    expect(entry.annotations).toEqual({
      'io.containerd.image.name': 'docker.io/library/busybox:1.36',
      'org.opencontainers.image.ref.name': '1.36',
    });
    const manifestBlob = blob(entry.digest);
    expect(sha256(manifestBlob)).toBe(entry.digest);
    expect(entry.size).toBe(manifestBlob.length);
    const manifest = JSON.parse(manifestBlob.toString());
    expect(manifest.layers).toEqual([
      {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: layer.digest,
        size: layer.size,
      },
    ]);
    expect(sha256(blob(manifest.layers[0].digest))).toBe(layer.digest);
    const config = JSON.parse(blob(manifest.config.digest).toString());
    expect(config).toMatchObject({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/bin'], Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    });
  });

  it('reads an archive back: the reference, each layer with its digests and history, the config', async () => {
    const layer = await layerOf('layer.tar.gz');
    const image = {
      reference: 'hks.local/hks-api:0.1.0',
      layers: [layer],
      config: { Env: ['PATH=/bin'], Entrypoint: ['/bin/tool'], User: '65532:65532' },
    };
    const archive = join(dir, 'image.tar');
    await writeOciArchive(image, join(dir, 'oci'), archive, join(dir, 'build.log'));
    const read = await readOciArchive(archive, join(dir, 'read'), join(dir, 'build.log'));
    expect(read).toEqual({
      ...image,
      layers: [{ ...layer, path: join(dir, 'read', 'blobs', 'sha256', layer.digest.slice(7)) }],
    });
    expect(sha256(readFileSync(read.layers[0].path))).toBe(layer.digest);
  });

  it('takes the tag from a reference and refuses one without', () => {
    expect(referenceTag('registry.k8s.io/pause:3.10')).toBe('3.10');
    expect(referenceTag('localhost:5000/a/b:c')).toBe('c');
    expect(() => referenceTag('localhost:5000/busybox')).toThrow(/has no tag/);
  });
});
