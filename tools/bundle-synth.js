// Writes lib/cli/synth.bundle.js, the synth command as one file, from what tsc compiled into
// lib/ (run by `npm run build` after tsc). Node loads one 2.5 MB file much faster than the 350
// modules the command reaches otherwise (yaml, zod, cdk8s, cdk8s-plus-28, commander and ours):
// a small project's synth is dominated by that loading. Nothing else is bundled: the API needs
// its files as they are (worker threads, the native better-sqlite3, files read at run time).
/* eslint-disable @typescript-eslint/no-require-imports */
/* global __dirname, process */
const { build } = require('esbuild');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
const entry = join(ROOT, 'lib', 'cli', 'synth.js');

if (!existsSync(entry)) {
  process.stderr.write(`bundle-synth: ${entry} is missing: tsc writes it first (npm run build)\n`);
  process.exit(1);
}

/** cdk8s carries its own copy of yaml; when it is the same version as ours, one copy is enough. */
function sameYaml() {
  const version = (dir) => require(join(dir, 'yaml', 'package.json')).version;
  const nested = join(ROOT, 'node_modules', 'cdk8s', 'node_modules');
  return !existsSync(nested) || version(nested) === version(join(ROOT, 'node_modules'));
}

build({
  entryPoints: [entry],
  outfile: join(ROOT, 'lib', 'cli', 'synth.bundle.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Not minified: stack traces and constructor names stay as they are in lib/.
  minify: false,
  alias: sameYaml() ? { yaml: join(ROOT, 'node_modules', 'yaml') } : {},
  logLevel: 'warning',
}).catch(() => process.exit(1));
