import { cpSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { basename, dirname, join, normalize, relative, sep } from 'node:path';

/** One entry of a package-lock.json (lockfileVersion 2 or 3) `packages` map. */
export interface LockedPackage {
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  /** Only the development dependencies need it. */
  readonly dev?: boolean;
}

/** The part of a package-lock.json the closure reads: packages by install path. */
export interface Lockfile {
  /** `''` is the project; `node_modules/a`, `node_modules/a/node_modules/b` the installed ones. */
  readonly packages: Readonly<Record<string, LockedPackage>>;
}

/**
 * Where Node finds package `name` required from the package installed at `from` (`''`: the
 * project): `<from>/node_modules/<name>`, then the same in each enclosing install folder.
 */
export function installedPath(lock: Lockfile, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (lock.packages[candidate] !== undefined) return candidate;
    if (base === '') return undefined;
    const enclosing = base.lastIndexOf('/node_modules/');
    base = enclosing < 0 ? '' : base.slice(0, enclosing);
  }
}

/**
 * The install paths of `roots` and of everything they need, by the lockfile: dependencies,
 * and the optional and peer dependencies that are installed. Sorted.
 *
 * @throws naming a root, or a dependency of an included package, that is not installed
 */
export function dependencyClosure(lock: Lockfile, roots: readonly string[]): string[] {
  const found = new Set<string>();
  const visit = (path: string): void => {
    if (found.has(path)) return;
    found.add(path);
    const entry = lock.packages[path];
    for (const name of Object.keys(entry.dependencies ?? {})) {
      const dependency = installedPath(lock, path, name);
      if (dependency === undefined) {
        throw new Error(`${path} depends on ${name}, which package-lock.json has not installed`);
      }
      visit(dependency);
    }
    for (const name of [
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}),
    ]) {
      const dependency = installedPath(lock, path, name);
      if (dependency !== undefined) visit(dependency);
    }
  };
  for (const root of roots) {
    const path = installedPath(lock, '', root);
    if (path === undefined) {
      throw new Error(
        `the API needs the package ${root}, which package-lock.json has not installed (is it in package.json's dependencies?)`,
      );
    }
    visit(path);
  }
  return [...found].sort();
}

const BUILTINS = new Set(builtinModules);

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * The specifiers a compiled module requires: CommonJS `require("x")`, as tsc emits static
 * imports, and `require('x')`, as it emits a dynamic `import('x')` written with single quotes.
 */
function requiredSpecifiers(code: string): string[] {
  return [...code.matchAll(/\brequire\((["'])([^"'\n]+)\1\)/g)].map((match) => match[2]);
}

/**
 * The packages the JavaScript files below `dir` require by name, Node's own modules left out.
 * Sorted.
 */
export function requiredPackages(dir: string): string[] {
  const names = new Set<string>();
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.js'),
  );
  for (const file of files) {
    for (const specifier of requiredSpecifiers(readFileSync(join(dir, file), 'utf8'))) {
      if (specifier.startsWith('.')) continue;
      if (specifier.startsWith('node:') || BUILTINS.has(specifier)) continue;
      names.add(packageName(specifier));
    }
  }
  return [...names].sort();
}

/** The file Node loads for `require(specifier)` in `fromFile` (`x.js`, `x/index.js`, or as given). */
function resolveRelative(fromFile: string, specifier: string): string | undefined {
  const base = join(dirname(fromFile), specifier);
  return [`${base}.js`, join(base, 'index.js'), base].find(
    (candidate) => existsSync(candidate) && statSync(candidate).isFile(),
  );
}

/**
 * The modules below `dir` that `entries` (paths relative to `dir`) load, themselves included:
 * every relative `require` followed. Paths relative to `dir`, sorted.
 *
 * @throws naming the module and the specifier when a relative require is not a file below `dir`
 */
export function moduleClosure(dir: string, entries: readonly string[]): string[] {
  const found = new Set<string>();
  const visit = (path: string): void => {
    if (found.has(path)) return;
    found.add(path);
    const file = join(dir, path);
    for (const specifier of requiredSpecifiers(readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) continue;
      const target = resolveRelative(file, specifier);
      const inside = target === undefined ? undefined : normalize(relative(dir, target));
      if (inside === undefined || inside.startsWith('..')) {
        throw new Error(
          `${path} requires ${specifier}, which is not a file in ${dir}: is the build (npm run build) complete?`,
        );
      }
      visit(inside);
    }
  };
  for (const entry of entries) {
    if (!existsSync(join(dir, entry))) {
      throw new Error(`${join(dir, entry)} does not exist: run npm run build`);
    }
    visit(normalize(entry));
  }
  return [...found].sort();
}

/** Files no program loads: type declarations. */
const NOT_LOADED = /\.d\.[cm]?ts$/;

/**
 * Copies installed packages from `projectDir` to `targetDir` (same install paths), without
 * what running them does not need: packages of type declarations only (`@types/*`),
 * declarations, and for a native addon (a `binding.gyp` beside its
 * package.json) its C sources and build intermediates (only `build/Release/*.node` stays).
 * Each package's own `node_modules` is left to its own entry in `paths`.
 */
export function copyPackages(
  projectDir: string,
  paths: readonly string[],
  targetDir: string,
): void {
  for (const path of paths.filter((p) => !p.includes('node_modules/@types/'))) {
    const source = join(projectDir, path);
    const native = existsSync(join(source, 'binding.gyp'));
    cpSync(source, join(targetDir, path), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (file) => {
        const inside = relative(source, file).split(sep);
        if (inside[0] === 'node_modules') return false;
        if (NOT_LOADED.test(basename(file))) return false;
        if (!native || inside[0] === '') return true;
        if (inside[0] !== 'build') return !['deps', 'src'].includes(inside[0]);
        // build, build/Release, build/Release/<addon>.node
        return (
          inside.length === 1 ||
          (inside[1] === 'Release' &&
            (inside.length === 2 || (inside.length === 3 && file.endsWith('.node'))))
        );
      },
    });
  }
}
