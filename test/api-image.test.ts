/**
 * How the API image picks its packages (images/api/production-modules.ts): the closure of the
 * dependencies by package-lock.json, the bare requires of compiled JavaScript, and the copy
 * without what running does not need. The image itself is built and run in
 * test/api-deployment.int.test.ts.
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { imagePackageRoots } from '../images/api/api-image';
import {
  copyPackages,
  dependencyClosure,
  installedPath,
  type Lockfile,
  requiredPackages,
} from '../images/api/production-modules';

const lock: Lockfile = {
  packages: {
    '': {},
    'node_modules/app': { dependencies: { a: '1', b: '1' } },
    'node_modules/a': { dependencies: { c: '2' }, optionalDependencies: { gone: '1', d: '1' } },
    'node_modules/a/node_modules/c': {},
    'node_modules/b': { dependencies: { c: '1' }, peerDependencies: { '@s/p': '1', absent: '1' } },
    'node_modules/c': {},
    'node_modules/d': {},
    'node_modules/@s/p': {},
    'node_modules/dev-only': { dev: true },
  },
};

describe('dependencyClosure', () => {
  it('finds a dependency where Node does: nested first, then in the enclosing folders', () => {
    expect(installedPath(lock, 'node_modules/a', 'c')).toBe('node_modules/a/node_modules/c');
    expect(installedPath(lock, 'node_modules/b', 'c')).toBe('node_modules/c');
    expect(installedPath(lock, 'node_modules/a/node_modules/c', 'd')).toBe('node_modules/d');
    expect(installedPath(lock, '', 'nothing')).toBeUndefined();
  });

  it('takes dependencies and the installed optional and peer dependencies, nothing else', () => {
    expect(dependencyClosure(lock, ['app'])).toEqual([
      'node_modules/@s/p',
      'node_modules/a',
      'node_modules/a/node_modules/c',
      'node_modules/app',
      'node_modules/b',
      'node_modules/c',
      'node_modules/d',
    ]);
  });

  it('refuses a root or a dependency that is not installed, naming it', () => {
    expect(() => dependencyClosure(lock, ['left-pad'])).toThrow(
      'the API needs the package left-pad, which package-lock.json has not installed',
    );
    const broken: Lockfile = { packages: { 'node_modules/x': { dependencies: { y: '1' } } } };
    expect(() => dependencyClosure(broken, ['x'])).toThrow(
      'node_modules/x depends on y, which package-lock.json has not installed',
    );
  });

  it("keeps the project's development packages and the stack's SDKs out of the image's closure", () => {
    const project = JSON.parse(
      readFileSync(join(__dirname, '..', 'package-lock.json'), 'utf8'),
    ) as Lockfile;
    const manifest = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const closure = dependencyClosure(project, imagePackageRoots(manifest.dependencies));
    expect(closure.filter((path) => project.packages[path].dev)).toEqual([]);
    expect(closure).toEqual(
      expect.arrayContaining([
        'node_modules/better-sqlite3',
        'node_modules/pg',
        'node_modules/knex',
      ]),
    );
    // the Pulumi SDKs (and the TypeScript compiler they bring), tsx and its esbuild stay out
    for (const left of ['@pulumi/pulumi', 'typescript', 'tsx', 'esbuild', 'jest'])
      expect(closure).not.toContain(`node_modules/${left}`);
  });
});

describe('requiredPackages and copyPackages', () => {
  let dir: string;
  const write = (path: string, content = '') => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hks-api-image-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("names the packages compiled JavaScript requires, not Node's own modules", () => {
    write(
      'app/api/main.js',
      'const a = require("express"); const b = require("node:fs"); const c = require("path");',
    );
    write('app/api/x/y.js', 'require("@kubernetes/client-node/dist/gen"); require("./local");');
    write('app/api/z.d.ts', 'require("not-js")');
    expect(requiredPackages(join(dir, 'app'))).toEqual(['@kubernetes/client-node', 'express']);
  });

  it('copies packages without declarations, @types or a native addon’s sources and objects', () => {
    const project = join(dir, 'project');
    for (const file of [
      'node_modules/lib/package.json',
      'node_modules/lib/index.js',
      'node_modules/lib/index.d.ts',
      'node_modules/lib/index.js.map',
      'node_modules/lib/node_modules/inner/index.js',
      'node_modules/native/package.json',
      'node_modules/native/binding.gyp',
      'node_modules/native/lib/index.js',
      'node_modules/native/src/addon.cpp',
      'node_modules/native/deps/sqlite3.c',
      'node_modules/native/build/Release/addon.node',
      'node_modules/native/build/Release/obj.target/addon.o',
      'node_modules/@types/node/index.d.ts',
    ])
      write(join('project', file));
    const target = join(dir, 'target');
    copyPackages(
      project,
      ['node_modules/@types/node', 'node_modules/lib', 'node_modules/native'],
      target,
    );
    const files = readdirSync(target, { recursive: true, encoding: 'utf8' })
      .filter((f) => statSync(join(target, f)).isFile())
      .sort();
    expect(files).toEqual([
      'node_modules/lib/index.js',
      'node_modules/lib/index.js.map',
      'node_modules/lib/package.json',
      'node_modules/native/binding.gyp',
      'node_modules/native/build/Release/addon.node',
      'node_modules/native/lib/index.js',
      'node_modules/native/package.json',
    ]);
  });
});
