/**
 * The API's container image, built by the test harness's OCI machinery (test/cluster: the
 * content-keyed cache, the layer and archive writers, the Debian base with this machine's
 * Python 3.12 and Node 20) without a container daemon: the `node:20-slim` and
 * `python:3.12-slim` layers (the API syntax-checks Python sources with a Python 3.12), then one
 * layer with the API's modules of the package's build (`npm run build`, lib/) and its production
 * packages, run as uid 65532.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { type BuildStep } from '../../test/cluster/image-build';
import {
  checkSharedLibraries,
  chrootEnv,
  type ImageContent,
  type ImageRecipe,
  imageRecipes,
  unpackLayers,
} from '../../test/cluster/image-recipes';
import { type BuiltImage, buildImages } from '../../test/cluster/images';
import type { Log } from '../../test/cluster/log';
import { removeTree } from '../../test/cluster/mounts';
import {
  type ImageRunConfig,
  type LayerBlob,
  readOciArchive,
  writeLayer,
} from '../../test/cluster/oci-archive';
import {
  copyPackages,
  dependencyClosure,
  type Lockfile,
  moduleClosure,
  requiredPackages,
} from './production-modules';
import { packageVersion } from '../../constructs/package-dir';
import { API_IMAGE_USER, apiImageReference } from './reference';

const projectDir = resolve(__dirname, '..', '..');

/** Where the API is in the image. */
export const API_IMAGE_APP_DIR = '/app';

/** Where the image's SQLite store is unless `HKS_SQLITE_PATH` says otherwise (a volume's place). */
export const API_IMAGE_DATA_DIR = '/var/lib/hks';

/** The images whose layers the API image stacks on the shared Debian base. */
const RUNTIME_IMAGES = ['docker.io/library/python:3.12-slim', 'docker.io/library/node:20-slim'];

/**
 * The API and its definition worker (which the pool starts by file name,
 * api/definition-worker-pool.ts), in lib/: the image holds them and the modules they require.
 */
const ENTRY_POINTS = ['api/main.js', 'api/definition-worker.js'];

/**
 * Folders the API reads by path at run time (from the package's folder, constructs/package-dir.ts),
 * copied as they are (those the checkout has): the runtimes' bootstraps
 * (constructs/function-runtimes.ts) and the console's files (api/routes/console.ts).
 */
const COPIED_FOLDERS = ['runtimes/python', 'runtimes/node', 'console'];

/**
 * Dependencies the API never loads, left out of the image: the CLIs' argument parser. Every
 * other dependency of package.json is in, with what it needs (by package-lock.json); the Pulumi
 * SDKs and tsx are development dependencies (and optional peers), never in.
 */
const NOT_IN_IMAGE = ['commander'];

/** The packages the image installs (with what they need): the dependencies but {@link NOT_IN_IMAGE}. */
export function imagePackageRoots(dependencies: Readonly<Record<string, string>>): string[] {
  return Object.keys(dependencies).filter((name) => !NOT_IN_IMAGE.includes(name));
}

/** What the image is made from, besides the runtime images: hashed into its cache key. */
const SOURCES = [
  'api',
  'constructs',
  'knative',
  'runtimes',
  'console',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
];

/** sha256 of the files (path and content) below {@link SOURCES}, in a stable order. */
function sourcesDigest(): string {
  const hash = createHash('sha256');
  const add = (path: string): void => {
    const full = join(projectDir, path);
    if (!existsSync(full)) return;
    if (!statSync(full).isDirectory()) {
      hash.update(`${path}\0`).update(readFileSync(full)).update('\0');
      return;
    }
    for (const name of readdirSync(full).sort()) if (name !== '__pycache__') add(join(path, name));
  };
  for (const path of SOURCES) add(path);
  return hash.digest('hex');
}

function typescriptVersion(): string {
  const manifest = join(projectDir, 'node_modules', 'typescript', 'package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/** The package's build, as `npm run build` makes it: tsc with tsconfig.build.json into lib/. */
const BUILD_CONFIG = join(projectDir, 'tsconfig.build.json');
const LIB_DIR = join(projectDir, 'lib');

/**
 * Runs the package's build (incremental: at once when lib/ is current) and copies the API's
 * modules from lib/ into `<appDir>/lib`: the entry points and what they require, no
 * declarations, nothing of the CLIs or the stack. Returns how many modules were copied.
 */
async function copyCompiledApi(step: BuildStep, appDir: string): Promise<number> {
  await step.run(process.execPath, [
    join(projectDir, 'node_modules', 'typescript', 'bin', 'tsc'),
    '--project',
    BUILD_CONFIG,
  ]);
  const modules = moduleClosure(LIB_DIR, ENTRY_POINTS);
  for (const module of modules) {
    mkdirSync(dirname(join(appDir, 'lib', module)), { recursive: true });
    cpSync(join(LIB_DIR, module), join(appDir, 'lib', module));
  }
  return modules.length;
}

/** The port of the API's `listening` log line (JSON, its fields in any order), once written. */
function listeningPort(output: string): number | undefined {
  const line = output.split('\n').find((l) => l.includes('"msg":"listening"') && l.endsWith('}'));
  const port = line === undefined ? undefined : (JSON.parse(line) as { port?: unknown }).port;
  return typeof port === 'number' ? port : undefined;
}

/**
 * Starts the image's entrypoint in its root file system as its user, as a pod would (the
 * image's environment, `/app` its working folder), with a kubeconfig of an API server that is
 * not there: it must open its store, listen and answer `/healthz`; SIGTERM then ends it.
 * Catches a module, package or file the API needs at start that the image lacks.
 */
async function checkEntrypoint(
  step: BuildStep,
  rootfs: string,
  config: ImageRunConfig,
): Promise<string> {
  const scratch = '/tmp/hks-image-check';
  mkdirSync(join(rootfs, scratch), { recursive: true });
  chownSync(join(rootfs, scratch), API_IMAGE_USER, API_IMAGE_USER);
  writeFileSync(
    join(rootfs, scratch, 'kubeconfig'),
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'none', cluster: { server: 'https://127.0.0.1:9' } }],
      users: [{ name: 'none', user: { token: 'none' } }],
      contexts: [{ name: 'none', context: { cluster: 'none', user: 'none' } }],
      'current-context': 'none',
    }),
  );
  const env = Object.fromEntries(
    (config.Env ?? []).map((entry) => [
      entry.slice(0, entry.indexOf('=')),
      entry.slice(entry.indexOf('=') + 1),
    ]),
  );
  const argv = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  step.note(`$ chroot (as ${config.User}) ${argv.join(' ')}`);
  const child = spawn(
    'chroot',
    [`--userspec=${config.User}`, rootfs, '/usr/bin/env', '-C', config.WorkingDir ?? '/', ...argv],
    {
      env: {
        ...env,
        PORT: '0',
        KUBECONFIG: `${scratch}/kubeconfig`,
        HKS_JWT_SECRET: 'a-secret-of-at-least-thirty-two-bytes',
        HKS_SQLITE_PATH: `${scratch}/api.sqlite`,
        HKS_RECORDER: 'off',
        HKS_JANITOR_INTERVAL_SECONDS: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const exited = new Promise<string>((resolvePromise) =>
    child.on('close', (code, signal) => resolvePromise(`exited with ${signal ?? code}`)),
  );
  const listening = new Promise<number>((resolvePromise) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const port = listeningPort(output);
      if (port !== undefined) resolvePromise(port);
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    const started = await Promise.race([listening, exited]);
    if (typeof started === 'string') throw new Error(`the API ${started} before it listened`);
    const health = await fetch(`http://127.0.0.1:${started}/healthz`);
    if (!health.ok) throw new Error(`GET /healthz answered ${health.status}`);
    child.kill('SIGTERM');
    const ended = await exited;
    if (ended !== 'exited with 0') throw new Error(`the API ${ended} after SIGTERM`);
    return `the API started as ${config.User}, answered /healthz and stopped on SIGTERM`;
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(
      `the image's entrypoint does not run: ${(error as Error).message}; its output:\n${output.slice(-4000)}`,
    );
  } finally {
    clearTimeout(timer);
    step.note(output.trimEnd());
  }
}

/**
 * Puts the API into the root file system: its compiled modules into `/app/lib` with the folders
 * it reads, its version's package manifest and its production packages; a passwd entry for its
 * uid and the store's folder it owns. Returns how many packages were copied.
 */
async function assembleApp(step: BuildStep, rootfs: string): Promise<number> {
  const appDir = join(rootfs, API_IMAGE_APP_DIR);
  const modules = await copyCompiledApi(step, appDir);
  step.note(`modules: ${modules} of lib/, from ${ENTRY_POINTS.join(' and ')}`);
  for (const folder of COPIED_FOLDERS.filter((f) => existsSync(join(projectDir, f)))) {
    cpSync(join(projectDir, folder), join(appDir, folder), {
      recursive: true,
      filter: (file) => !file.endsWith('.ts') && basename(file) !== '__pycache__',
    });
  }
  const manifest = JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    license: string;
    dependencies: Record<string, string>;
  };
  // The API finds its folder by it (constructs/package-dir.ts) and reads its version from it.
  writeFileSync(
    join(appDir, 'package.json'),
    `${JSON.stringify({ name: manifest.name, version: manifest.version, license: manifest.license, private: true }, null, 2)}\n`,
  );
  const roots = imagePackageRoots(manifest.dependencies);
  const missing = requiredPackages(appDir).filter((name) => !roots.includes(name));
  if (missing.length > 0) {
    throw new Error(
      `the compiled API requires ${missing.join(', ')}, which the image leaves out: make it a dependency in package.json, or take it off NOT_IN_IMAGE in images/api/api-image.ts`,
    );
  }
  const lock = JSON.parse(readFileSync(join(projectDir, 'package-lock.json'), 'utf8')) as Lockfile;
  const packages = dependencyClosure(lock, roots);
  const dev = packages.filter((path) => lock.packages[path].dev);
  if (dev.length > 0) {
    throw new Error(`the API's packages include development dependencies: ${dev.join(', ')}`);
  }
  copyPackages(projectDir, packages, appDir);
  step.note(`packages: ${roots.join(' ')} and what they need, ${packages.length} in all`);
  appendFileSync(
    join(rootfs, 'etc', 'passwd'),
    `hks:x:${API_IMAGE_USER}:${API_IMAGE_USER}:HKS API:/nonexistent:/usr/sbin/nologin\n`,
  );
  appendFileSync(join(rootfs, 'etc', 'group'), `hks:x:${API_IMAGE_USER}:\n`);
  const dataDir = join(rootfs, API_IMAGE_DATA_DIR);
  mkdirSync(dataDir, { recursive: true, mode: 0o750 });
  chownSync(dataDir, API_IMAGE_USER, API_IMAGE_USER);
  return packages.length;
}

/** The recipe of the API image, on the layers of the two runtime images given. */
export function apiImageRecipe(runtimes: readonly BuiltImage[]): ImageRecipe {
  const version = packageVersion();
  return {
    reference: apiImageReference(),
    name: `hks-api-${version}`,
    usesBase: true,
    async keyParts() {
      return [
        `hks-api/2 lib/ of tsc -p tsconfig.build.json from ${ENTRY_POINTS.join(' ')}, production packages, uid ${API_IMAGE_USER}`,
        ...COPIED_FOLDERS,
        ...NOT_IN_IMAGE,
        ...runtimes.map((image) => basename(dirname(image.archive))),
        `typescript ${typescriptVersion()}`,
        sourcesDigest(),
      ];
    },
    async build(step, base): Promise<ImageContent> {
      const baseLayer = await base();
      const runtimeImages = await Promise.all(
        runtimes.map((image, i) =>
          readOciArchive(image.archive, join(step.workDir, `runtime-${i}`), step.logFile),
        ),
      );
      const runtimeLayers: LayerBlob[] = [];
      for (const image of runtimeImages) {
        if (image.layers[0]?.digest !== baseLayer.digest) {
          throw new Error(
            `${image.reference} is not built on the Debian base layer ${baseLayer.digest}; rebuild it (rm -rf its folder in the images cache)`,
          );
        }
        runtimeLayers.push(...image.layers.slice(1));
      }
      const rootfs = await unpackLayers(step, [baseLayer, ...runtimeLayers]);
      const packages = await assembleApp(step, rootfs);
      const env = new Map<string, string>();
      for (const entry of runtimeImages.flatMap((image) => image.config.Env)) {
        env.set(entry.slice(0, entry.indexOf('=')), entry);
      }
      env.set('NODE_ENV', 'NODE_ENV=production');
      env.set('HKS_SQLITE_PATH', `HKS_SQLITE_PATH=${API_IMAGE_DATA_DIR}/api.sqlite`);
      const config: ImageRunConfig = {
        Env: [...env.values()],
        Entrypoint: ['/usr/local/bin/node', `${API_IMAGE_APP_DIR}/lib/api/main.js`],
        User: `${API_IMAGE_USER}:${API_IMAGE_USER}`,
        WorkingDir: API_IMAGE_APP_DIR,
      };
      await checkSharedLibraries(step, rootfs, [
        `${API_IMAGE_APP_DIR}/node_modules/better-sqlite3/build/Release/better_sqlite3.node`,
      ]);
      step.note(await checkEntrypoint(step, rootfs, config));
      const python = await step.run(
        'chroot',
        [`--userspec=${config.User}`, rootfs, 'python3', '--version'],
        { capture: true, env: chrootEnv, timeoutMs: 60_000 },
      );
      step.note(`python3 as ${config.User}: ${python.trim()}`);
      const appLayer = await writeLayer(
        {
          dir: rootfs,
          paths: [
            API_IMAGE_APP_DIR.slice(1),
            API_IMAGE_DATA_DIR.slice(1),
            'etc/passwd',
            'etc/group',
          ],
          owners: 'keep', // root, but the store's folder: the API's
          mtimes: 'epoch',
          createdBy: `HKS API ${version}: lib/ ${ENTRY_POINTS.join(' ')} and the modules they require, ${packages} production packages`,
        },
        join(step.workDir, 'layer.tar.gz'),
        step.logFile,
      );
      return { layers: [baseLayer, ...runtimeLayers, appLayer], config };
    },
  };
}
/**
 * Builds (or reuses from the cache) the API image: first the runtime images it stacks on,
 * then its own layer. Cached by content like the test images (the key hashes the API's
 * sources, the lockfile and the runtime images' keys).
 */
export async function buildApiImage(log: Log): Promise<BuiltImage> {
  const recipes = RUNTIME_IMAGES.map((reference) => {
    const recipe = imageRecipes.find((r) => r.reference === reference);
    if (recipe === undefined) throw new Error(`test/cluster/image-recipes.ts has no ${reference}`);
    return recipe;
  });
  const runtimes = await buildImages(recipes, log, 'runtime images');
  const [api] = await buildImages([apiImageRecipe(runtimes)], log, 'API image');
  pruneOlderImages(dirname(api.archive));
  return api;
}

/** How many API images the cache keeps (the newest): each change of the sources builds one. */
const KEPT_IMAGES = 3;

/** Removes the cache's API image folders but the newest {@link KEPT_IMAGES} and `current`. */
function pruneOlderImages(current: string): void {
  const cache = dirname(current);
  const folders = readdirSync(cache)
    .filter((name) => /^hks-api-.+-[0-9a-f]{16}$/.test(name))
    .map((name) => join(cache, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const folder of folders.slice(KEPT_IMAGES)) if (folder !== current) removeTree(folder);
}
