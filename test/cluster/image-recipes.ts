import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BuildStep, fileSha256, requireTool } from './image-build';
import { mountsUnder } from './mounts';
import { type ImageRunConfig, type LayerBlob, writeLayer } from './oci-archive';

/** PATH of every test image (the Docker official images' order). */
export const imagePath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The layers and run configuration of one image; the reference comes from its recipe. */
export interface ImageContent {
  readonly layers: readonly LayerBlob[];
  readonly config: ImageRunConfig;
}

/** How one test image is made. */
export interface ImageRecipe {
  /** The reference manifests use, docker.io names normalised, e.g. `docker.io/library/busybox:1.36`. */
  readonly reference: string;
  /** Prefix of its cache folder, e.g. `busybox-1.36`. */
  readonly name: string;
  /** Whether its lowest layer is the shared {@link bookwormBase}. */
  readonly usesBase: boolean;
  /**
   * Everything the image is made from (recipe version, packages, the host files copied in
   * or their digests), hashed into its cache key. Cheap: builds nothing.
   */
  keyParts(): Promise<readonly string[]>;
  /** Builds the layers into `step.workDir`; `base` builds or reuses the shared base layer. */
  build(step: BuildStep, base: () => Promise<LayerBlob>): Promise<ImageContent>;
}

/**
 * The Debian bookworm root file system (mmdebstrap, variant minbase) that
 * `python:3.12-slim` and `node:20-slim` share as their lower layer, with the
 * shared libraries the copied Python and Node need (`ldd` of the interpreter and of
 * every `lib-dynload/*.so`; checked again in each build).
 */
export const bookwormBase = {
  label: 'Debian bookworm base layer (mmdebstrap minbase)',
  name: 'bookworm-minbase',
  recipeVersion: 'bookworm-minbase/2',
  suite: 'bookworm',
  /**
   * merged /usr made by mmdebstrap's hook, as debootstrap does, instead of the usrmerge
   * package it would install for bookworm (which pulls in perl, about 30 MB).
   */
  hookDirs: ['/usr/share/mmdebstrap/hooks/merged-usr'],
  packages: [
    // what python:3.12-slim has besides the interpreter
    'ca-certificates',
    'netbase',
    'tzdata',
    // NEEDED by libpython3.12 and lib-dynload/*.so
    'libbz2-1.0',
    'libcrypt1',
    'libffi8',
    'liblzma5',
    'libncursesw6',
    'libnsl2',
    'libreadline8',
    'libsqlite3-0',
    'libssl3',
    'libtinfo6',
    'libtirpc3',
    'libuuid1',
    'zlib1g',
    // NEEDED by node (also in minbase, through apt)
    'libgcc-s1',
    'libstdc++6',
  ],
  /** dpkg filters as in the Docker "slim" images: no manuals, docs (but copyrights) or locales. */
  dpkgOptions: [
    'path-exclude=/usr/share/man/*',
    'path-exclude=/usr/share/info/*',
    'path-exclude=/usr/share/doc/*',
    'path-include=/usr/share/doc/*/copyright',
    'path-exclude=/usr/share/locale/*',
    'path-include=/usr/share/locale/locale.alias',
  ],
} as const;

/** What the base layer's cache key hashes. */
export function baseKeyParts(): string[] {
  return [
    bookwormBase.recipeVersion,
    bookwormBase.suite,
    ...bookwormBase.hookDirs,
    ...bookwormBase.packages,
    ...bookwormBase.dpkgOptions,
  ];
}

/** Builds the base layer as `layer.tar.gz` plus its digests in `layer.json`, in `step.outDir`. */
export async function buildBaseLayer(step: BuildStep): Promise<void> {
  const what = 'the Debian base of the python and node test images';
  requireTool('mmdebstrap', 'mmdebstrap', what);
  const rootfs = join(step.workDir, 'rootfs');
  await step.run(
    'mmdebstrap',
    [
      '--variant=minbase',
      ...bookwormBase.hookDirs.map((dir) => `--hook-dir=${dir}`),
      `--include=${bookwormBase.packages.join(',')}`,
      ...bookwormBase.dpkgOptions.map((option) => `--dpkgopt=${option}`),
      bookwormBase.suite,
      rootfs,
    ],
    { env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' } },
  );
  const left = mountsUnder(rootfs);
  if (left.length > 0) {
    throw new Error(`mmdebstrap left file systems mounted in ${rootfs}: ${left.join(', ')}`);
  }
  // The build machine's name and resolver stay out; the runtime mounts its own over them.
  writeFileSync(join(rootfs, 'etc', 'hostname'), '');
  writeFileSync(join(rootfs, 'etc', 'resolv.conf'), '');
  const layer = await writeLayer(
    {
      dir: rootfs,
      paths: ['.'],
      owners: 'keep',
      mtimes: 'epoch',
      excludes: ['./dev/*'], // device nodes: the runtime mounts /dev
      createdBy: `mmdebstrap --variant=minbase --include=${bookwormBase.packages.join(',')} bookworm`,
    },
    join(step.outDir, 'layer.tar.gz'),
    step.logFile,
  );
  const { path: _path, ...digests } = layer;
  writeFileSync(join(step.outDir, 'layer.json'), `${JSON.stringify(digests, null, 2)}\n`);
}

/** The base layer of a cache folder written by {@link buildBaseLayer}. */
export function readBaseLayer(dir: string): LayerBlob {
  const digests = JSON.parse(readFileSync(join(dir, 'layer.json'), 'utf8')) as Omit<
    LayerBlob,
    'path'
  >;
  return { ...digests, path: join(dir, 'layer.tar.gz') };
}

/** Unpacks layers, lowest first, into a fresh root file system under `step.workDir`. */
export async function unpackLayers(step: BuildStep, layers: readonly LayerBlob[]): Promise<string> {
  const rootfs = join(step.workDir, 'rootfs');
  mkdirSync(rootfs, { recursive: true });
  for (const layer of layers) {
    await step.run('tar', [
      '--extract',
      '--gzip',
      `--file=${layer.path}`,
      '--numeric-owner',
      '--same-permissions',
      '--directory',
      rootfs,
    ]);
  }
  return rootfs;
}

/** Environment of the commands a build runs inside an image's root file system. */
export const chrootEnv = { PATH: imagePath.slice('PATH='.length), LANG: 'C.UTF-8' };

/**
 * Runs `ldd` inside the root file system on each file and fails, naming the libraries,
 * when one is not found there.
 */
export async function checkSharedLibraries(
  step: BuildStep,
  rootfs: string,
  files: readonly string[],
): Promise<void> {
  const output = await step.run(
    'chroot',
    [
      rootfs,
      '/bin/sh',
      '-c',
      'for f in "$@"; do echo "== $f"; ldd "$f"; done; true',
      'sh',
      ...files,
    ],
    { capture: true, env: chrootEnv, timeoutMs: 120_000 },
  );
  const missing = output.split('\n').filter((line) => line.includes('not found'));
  if (missing.length > 0) {
    throw new Error(
      `shared libraries missing in the image (add the Debian packages providing them to ` +
        `bookwormBase.packages in test/cluster/image-recipes.ts):\n${[...new Set(missing)].join('\n')}`,
    );
  }
}

/** Runs a program in the root file system as uid/gid 65534 and returns its stdout. */
function runAsNobody(step: BuildStep, rootfs: string, argv: readonly string[]): Promise<string> {
  return step.run('chroot', ['--userspec=65534:65534', rootfs, ...argv], {
    capture: true,
    env: chrootEnv,
    timeoutMs: 120_000,
  });
}

/** Source of the pause program, in the repository. */
export const pauseSource = join(__dirname, 'images', 'pause.c');

/** `registry.k8s.io/pause:3.10`: the static sandbox program of test/cluster/images/pause.c. */
const pause: ImageRecipe = {
  reference: 'registry.k8s.io/pause:3.10',
  name: 'pause-3.10',
  usesBase: false,
  async keyParts() {
    return [
      'pause/1 gcc -static -Os -s',
      readFileSync(pauseSource, 'utf8'),
      spawnSync('gcc', ['-dumpfullversion'], { encoding: 'utf8' }).stdout ?? '',
    ];
  },
  async build(step) {
    requireTool('gcc', 'gcc', this.reference);
    if (!existsSync('/usr/lib/x86_64-linux-gnu/libc.a')) {
      throw new Error(
        `gcc -static needs the static C library to build ${this.reference}: install the Debian package libc6-dev`,
      );
    }
    const rootfs = join(step.workDir, 'rootfs');
    mkdirSync(rootfs, { recursive: true });
    const binary = join(rootfs, 'pause');
    await step.run('gcc', [
      '-static',
      '-Os',
      '-s',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-o',
      binary,
      pauseSource,
    ]);
    await step.run(binary, ['-v']);
    const layer = await writeLayer(
      {
        dir: rootfs,
        paths: ['pause'],
        owners: 'root',
        mtimes: 'epoch',
        createdBy: 'gcc -static pause.c',
      },
      join(step.workDir, 'layer.tar.gz'),
      step.logFile,
    );
    // As upstream's: runs as 65535 unless the pod says otherwise.
    return {
      layers: [layer],
      config: { Env: [imagePath], Entrypoint: ['/pause'], User: '65535:65535' },
    };
  },
};

/**
 * `docker.io/library/busybox:1.36`: Debian's static busybox (`busybox-static`) as
 * /bin/busybox and a symlink per applet, plus /etc/passwd and /etc/group (root, nobody)
 * and /tmp. Static, so it runs as any uid.
 */
const busybox: ImageRecipe = {
  reference: 'docker.io/library/busybox:1.36',
  name: 'busybox-1.36',
  usesBase: false,
  async keyParts() {
    return ['busybox/1 applets in /bin, passwd, group, tmp', 'busybox-static'];
  },
  async build(step) {
    requireTool('apt-get', 'apt', this.reference);
    requireTool('dpkg-deb', 'dpkg', this.reference);
    const debs = join(step.workDir, 'debs');
    mkdirSync(debs, { recursive: true });
    try {
      // root runs the download: the cache may be below a home folder _apt can not enter
      await step.run('apt-get', ['-o', 'APT::Sandbox::User=root', 'download', 'busybox-static'], {
        cwd: debs,
      });
    } catch (error) {
      throw new Error(
        `apt-get download busybox-static failed (no package lists yet? run apt-get update): ${(error as Error).message}`,
      );
    }
    const deb = readdirSync(debs).find((name) => name.endsWith('.deb'));
    if (deb === undefined) {
      throw new Error(`apt-get download busybox-static wrote no .deb into ${debs}`);
    }
    const unpacked = join(step.workDir, 'deb');
    await step.run('dpkg-deb', ['-x', join(debs, deb), unpacked]);
    const rootfs = join(step.workDir, 'rootfs');
    for (const dir of ['bin', 'dev', 'etc', 'home', 'proc', 'root', 'sys', 'tmp', 'usr', 'var']) {
      mkdirSync(join(rootfs, dir), { recursive: true });
    }
    chmodSync(join(rootfs, 'tmp'), 0o1777);
    chmodSync(join(rootfs, 'root'), 0o700);
    copyFileSync(join(unpacked, 'bin', 'busybox'), join(rootfs, 'bin', 'busybox'));
    chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
    const applets = (await step.run(join(rootfs, 'bin', 'busybox'), ['--list'], { capture: true }))
      .split('\n')
      .filter((name) => /^[\w.[-]+$/.test(name) && name !== 'busybox');
    if (!applets.includes('sh')) {
      throw new Error(`busybox from ${deb} has no sh applet`);
    }
    for (const applet of applets) {
      symlinkSync('busybox', join(rootfs, 'bin', applet));
    }
    writeFileSync(
      join(rootfs, 'etc', 'passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n',
    );
    writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nnobody:x:65534:\n');
    step.note(`busybox ${deb}: ${applets.length} applets`);
    const layer = await writeLayer(
      {
        dir: rootfs,
        paths: ['.'],
        owners: 'root',
        mtimes: 'epoch',
        createdBy: `Debian ${deb}: /bin/busybox and ${applets.length} applet links`,
      },
      join(step.workDir, 'layer.tar.gz'),
      step.logFile,
    );
    return { layers: [layer], config: { Env: [imagePath], Cmd: ['sh'] } };
  },
};

/**
 * Prefix of the Python 3.12 copied into `python:3.12-slim`: `HKS_IMAGES_PYTHON`, else the
 * newest `$PYENV_ROOT/versions/3.12.*` (`~/.pyenv` without `PYENV_ROOT`).
 */
export function pythonPrefix(): string {
  if (process.env.HKS_IMAGES_PYTHON) {
    return resolve(process.env.HKS_IMAGES_PYTHON);
  }
  const versions = join(process.env.PYENV_ROOT ?? join(homedir(), '.pyenv'), 'versions');
  const found = existsSync(versions)
    ? readdirSync(versions)
        .filter((name) => /^3\.12\.\d+$/.test(name))
        .sort((a, b) => Number(b.split('.')[2]) - Number(a.split('.')[2]))
    : [];
  if (found.length === 0) {
    throw new Error(
      `python:3.12-slim copies a Python 3.12 from this machine, but there is none in ${versions}/3.12.*: ` +
        `install one (pyenv install 3.12) or set HKS_IMAGES_PYTHON to the prefix of a Python 3.12`,
    );
  }
  return join(versions, found[0]);
}

/** Parts of the interpreter's tree left out, relative to lib/python3.12 (as in the slim images, no tests or Tk). */
const pythonLeftOut = [
  'test',
  'idlelib',
  'tkinter',
  'turtledemo',
  'lib-dynload/_tkinter.*',
  'lib-dynload/_test*',
  'lib-dynload/_ctypes_test.*',
  'lib-dynload/_xxtestfuzz.*',
  'lib-dynload/xxlimited*',
  'lib-dynload/xxsubtype.*',
  'config-3.12-x86_64-linux-gnu/*.a',
  // site-packages keeps only pip: whatever else this machine installed is not the image's
  'site-packages/!(pip|pip-*.dist-info)',
];

/** What every Python check imports and prints: version, prefix, OpenSSL, SQLite, CA certificates. */
export const pythonSmokeTest = [
  'import sys, json, ssl, sqlite3, asyncio, ctypes, decimal, hashlib, bz2, lzma, zlib, uuid, zoneinfo',
  'assert sys.version_info[:2] == (3, 12), sys.version',
  'assert sys.prefix == "/usr/local", sys.prefix',
  'zoneinfo.ZoneInfo("Europe/Berlin")',
  'cas = len(ssl.create_default_context().get_ca_certs())',
  'assert cas > 0, "no CA certificates"',
  'print(sys.version.split()[0], ssl.OPENSSL_VERSION, "sqlite", sqlite3.sqlite_version, cas, "CAs")',
].join('\n');

function pythonVersion(prefix: string): string {
  const python = join(prefix, 'bin', 'python3.12');
  const result = spawnSync(python, ['-c', 'import sys; print(sys.version)'], { encoding: 'utf8' });
  if (result.status !== 0 || !result.stdout.startsWith('3.12.')) {
    throw new Error(
      `${python} is not a working Python 3.12 (${result.error?.message ?? (result.stdout.trim() || result.stderr.trim())})`,
    );
  }
  return result.stdout.trim();
}

/** Removes `pattern` (a name, `*` wildcards, or `!(a|b)` for all but those) below `dir`. */
function removeMatching(dir: string, pattern: string): void {
  const slash = pattern.lastIndexOf('/');
  const parent = slash < 0 ? dir : join(dir, pattern.slice(0, slash));
  const leaf = slash < 0 ? pattern : pattern.slice(slash + 1);
  const toRegExp = (glob: string): RegExp =>
    new RegExp(`^${glob.replace(/[.+^${}()[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  const keep = /^!\((.*)\)$/.exec(leaf);
  const matches = keep
    ? (name: string) => !keep[1].split('|').some((alternative) => toRegExp(alternative).test(name))
    : (name: string) => toRegExp(leaf).test(name);
  if (!existsSync(parent)) {
    return;
  }
  for (const name of readdirSync(parent).filter(matches)) {
    rmSync(join(parent, name), { recursive: true, force: true });
  }
}

const pipScript = `#!/usr/local/bin/python3.12
import sys
from pip._internal.cli.main import main
sys.exit(main())
`;

/**
 * `docker.io/library/python:3.12-slim`: the bookworm base plus this machine's Python 3.12
 * in /usr/local (python3.12, python3, python, pip; no test suite, Tk or other
 * site-packages), `ldconfig` run for libpython. Checked as uid 65534 while it is built.
 */
const python: ImageRecipe = {
  reference: 'docker.io/library/python:3.12-slim',
  name: 'python-3.12-slim',
  usesBase: true,
  async keyParts() {
    const prefix = pythonPrefix();
    const libpython = join(prefix, 'lib', 'libpython3.12.so.1.0');
    return [
      'python-3.12-slim/1 /usr/local, ldconfig',
      ...pythonLeftOut,
      pythonVersion(prefix),
      await fileSha256(join(prefix, 'bin', 'python3.12')),
      existsSync(libpython) ? await fileSha256(libpython) : 'static',
    ];
  },
  async build(step, base) {
    requireTool('chroot', 'coreutils', this.reference);
    const prefix = pythonPrefix();
    const version = pythonVersion(prefix).split(' ')[0];
    step.note(`Python ${version} from ${prefix}`);
    const rootfs = await unpackLayers(step, [await base()]);
    const local = join(rootfs, 'usr', 'local');
    const stdlib = join(local, 'lib', 'python3.12');
    await step.run('cp', ['-a', join(prefix, 'bin', 'python3.12'), join(local, 'bin')]);
    const libraries = readdirSync(join(prefix, 'lib')).filter((name) =>
      name.startsWith('libpython3'),
    );
    await step.run('cp', [
      '-a',
      ...libraries.map((name) => join(prefix, 'lib', name)),
      join(local, 'lib'),
    ]);
    await step.run('cp', ['-a', join(prefix, 'lib', 'python3.12'), join(local, 'lib')]);
    for (const pattern of pythonLeftOut) {
      removeMatching(stdlib, pattern);
    }
    symlinkSync('python3.12', join(local, 'bin', 'python3'));
    symlinkSync('python3', join(local, 'bin', 'python'));
    if (existsSync(join(stdlib, 'site-packages', 'pip'))) {
      for (const name of ['pip3.12', 'pip3', 'pip']) {
        writeFileSync(join(local, 'bin', name), pipScript, { mode: 0o755 });
      }
    }
    await step.run('chroot', [rootfs, '/sbin/ldconfig'], { env: chrootEnv });
    const extensions = readdirSync(join(stdlib, 'lib-dynload'))
      .filter((name) => name.endsWith('.so'))
      .map((name) => `/usr/local/lib/python3.12/lib-dynload/${name}`);
    await checkSharedLibraries(step, rootfs, ['/usr/local/bin/python3.12', ...extensions]);
    const smoke = await runAsNobody(step, rootfs, [
      '/usr/local/bin/python3',
      '-c',
      pythonSmokeTest,
    ]);
    step.note(`python3 as 65534: ${smoke.trim()}`);
    const layer = await writeLayer(
      {
        dir: rootfs,
        paths: ['etc/ld.so.cache', 'usr/local'],
        owners: 'root',
        mtimes: 'keep', // a .pyc is valid only next to a source of the mtime it recorded
        createdBy: `Python ${version} in /usr/local`,
      },
      join(step.workDir, 'layer.tar.gz'),
      step.logFile,
    );
    return {
      layers: [await base(), layer],
      config: {
        Env: [imagePath, 'LANG=C.UTF-8', `PYTHON_VERSION=${version}`],
        Cmd: ['python3'],
      },
    };
  },
};

/** The Node binary copied into `node:20-slim`: `HKS_IMAGES_NODE`, else /usr/bin/node. */
export function nodeBinary(): string {
  return resolve(process.env.HKS_IMAGES_NODE ?? '/usr/bin/node');
}

/** `v20.20.2` of the Node binary; fails unless it is Node 20 or newer. */
export function nodeVersion(binary: string): string {
  const result = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  const version = result.stdout?.trim() ?? '';
  const major = Number(/^v(\d+)\./.exec(version)?.[1]);
  if (result.status !== 0 || !(major >= 20)) {
    throw new Error(
      `node:20-slim copies ${binary} and needs Node.js 20 or newer there, but it ` +
        `${result.error ? `could not run (${result.error.message})` : `reports "${version || result.stderr.trim()}"`}; ` +
        `install Node.js 20 or set HKS_IMAGES_NODE to such a binary`,
    );
  }
  return version;
}

/**
 * `docker.io/library/node:20-slim`: the bookworm base plus this machine's Node binary as
 * /usr/local/bin/node (no npm). Checked as uid 65534 while it is built.
 */
const node: ImageRecipe = {
  reference: 'docker.io/library/node:20-slim',
  name: 'node-20-slim',
  usesBase: true,
  async keyParts() {
    const binary = nodeBinary();
    return ['node-20-slim/1 /usr/local/bin/node', nodeVersion(binary), await fileSha256(binary)];
  },
  async build(step, base) {
    requireTool('chroot', 'coreutils', this.reference);
    const binary = nodeBinary();
    const version = nodeVersion(binary);
    step.note(`Node ${version} from ${binary}`);
    const rootfs = await unpackLayers(step, [await base()]);
    copyFileSync(binary, join(rootfs, 'usr', 'local', 'bin', 'node'));
    chmodSync(join(rootfs, 'usr', 'local', 'bin', 'node'), 0o755);
    await checkSharedLibraries(step, rootfs, ['/usr/local/bin/node']);
    const smoke = await runAsNobody(step, rootfs, [
      '/usr/local/bin/node',
      '-e',
      'console.log(process.version, require("node:crypto").randomUUID().length)',
    ]);
    if (!smoke.startsWith(`${version} 36`)) {
      throw new Error(`node in the image printed "${smoke.trim()}", expected "${version} 36"`);
    }
    const layer = await writeLayer(
      {
        dir: rootfs,
        paths: ['usr/local/bin/node'],
        owners: 'root',
        mtimes: 'epoch',
        createdBy: `Node ${version} as /usr/local/bin/node`,
      },
      join(step.workDir, 'layer.tar.gz'),
      step.logFile,
    );
    return {
      layers: [await base(), layer],
      config: { Env: [imagePath, `NODE_VERSION=${version.slice(1)}`], Cmd: ['node'] },
    };
  },
};

/** Every test image, in the order {@link buildTestImages} returns them. */
export const imageRecipes: readonly ImageRecipe[] = [pause, busybox, python, node];
