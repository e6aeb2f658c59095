/**
 * What the compiled layout relies on: the package's folder found from any module, sources and
 * lib/ alike (constructs/package-dir.ts), and the modules of lib/ the API image copies
 * (moduleClosure of images/api/production-modules.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PACKAGE_DIR, packagePath } from '../constructs/package-dir';
import { moduleClosure, requiredPackages } from '../images/api/production-modules';

test('the package folder is the one holding package.json, not the module folder', () => {
  expect(PACKAGE_DIR).toBe(join(__dirname, '..'));
  expect(packagePath('console')).toBe(join(__dirname, '..', 'console'));
});

describe('moduleClosure', () => {
  let dir: string;
  const write = (path: string, content = '') => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hks-module-closure-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('follows relative requires, static and dynamic, to files and folder indexes', () => {
    write('api/main.js', 'require("./server"); require("express"); require("../constructs");');
    write('api/server.js', "Promise.resolve().then(() => require('./lazy'));");
    write('api/lazy.js', 'require("node:fs");');
    write('constructs/index.js', 'require("./schema");');
    write('constructs/schema.js');
    write('cli/unused.js', 'require("commander");');
    expect(moduleClosure(dir, ['api/main.js'])).toEqual([
      'api/lazy.js',
      'api/main.js',
      'api/server.js',
      'constructs/index.js',
      'constructs/schema.js',
    ]);
    expect(requiredPackages(join(dir, 'api'))).toEqual(['express']);
  });

  it('refuses a require of a file that is not there or outside the folder, naming both', () => {
    write('api/main.js', 'require("./gone");');
    expect(() => moduleClosure(dir, ['api/main.js'])).toThrow(
      `api/main.js requires ./gone, which is not a file in ${dir}: is the build (npm run build) complete?`,
    );
    write('api/main.js', 'require("../../package.json");');
    expect(() => moduleClosure(dir, ['api/main.js'])).toThrow('requires ../../package.json');
    expect(() => moduleClosure(dir, ['api/none.js'])).toThrow(
      `${join(dir, 'api/none.js')} does not exist: run npm run build`,
    );
  });
});
