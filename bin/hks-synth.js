#!/usr/bin/env node
// The hks-synth command: `npm run synth` without npm's own start. Runs the bundled synth CLI
// that `npm run build` writes into lib/ (tools/bundle-synth.js).
/* eslint-disable @typescript-eslint/no-require-imports */
/* global __dirname, process */
const { existsSync } = require('node:fs');
const { join, relative } = require('node:path');

const entry = join(__dirname, '..', 'lib', 'cli', 'synth.bundle.js');
if (!existsSync(entry)) {
  const shown = relative(process.cwd(), entry) || entry;
  process.stderr.write(
    `hks-synth: ${shown} is missing: run npm run build (it compiles the TypeScript sources into lib/)\n`,
  );
  process.exit(1);
}
require(entry);
