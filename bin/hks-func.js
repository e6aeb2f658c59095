#!/usr/bin/env node
// The hks-func command: runs the TypeScript entry point through tsx's require hook.
/* eslint-disable @typescript-eslint/no-require-imports */
require('tsx/cjs');
require('../cli/hks-func/main.ts');
