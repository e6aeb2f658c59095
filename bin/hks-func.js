#!/usr/bin/env node
// The hks-func command: the compiled CLI that `npm run build` writes into lib/.
/* eslint-disable @typescript-eslint/no-require-imports */
/* global __dirname, process */
const { existsSync } = require('node:fs');
const { join, relative } = require('node:path');

const entry = join(__dirname, '..', 'lib', 'cli', 'hks-func', 'main.js');
if (!existsSync(entry)) {
  const shown = relative(process.cwd(), entry) || entry;
  process.stderr.write(
    `hks-func: ${shown} is missing: run npm run build (it compiles the TypeScript sources into lib/)\n`,
  );
  process.exit(1);
}
require(entry);
