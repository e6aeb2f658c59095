#!/usr/bin/env -S npx tsx
/**
 * `npm run run-local -- <definition file or folder> [--name <function>] [--port <port>]`
 *
 * Runs a Function on this machine with the same bootstrap and environment variables as in its
 * container: its source is written to a scratch folder (`HKS_FUNCTION_DIR`) and `python3` or
 * `node` starts the runtime on `--port` (default 8080). Ctrl-C drains and stops it.
 * Exit codes: the runtime's own; 1 invalid definitions; 2 bad usage.
 */
import { Command } from 'commander';
import { parseArguments } from './parse-arguments';
import { runLocal } from './local-function';
import { DefinitionError } from '../constructs';

interface RunLocalOptions {
  readonly name?: string;
  readonly port: string;
  readonly debug: boolean;
}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('run-local')
    .description('Run a Function locally with the bootstrap of its runtime.')
    .argument('<path>', 'definition file, or folder of definitions')
    .option('--name <function>', 'which Function, when there are several')
    .option('--port <port>', 'port to listen on', '8080')
    .option('--debug', 'include stacks in error responses (HKS_DEBUG=1)', false);
  const usage = parseArguments(program, argv);
  if (usage !== undefined) return usage;
  try {
    return await runLocal(program.args[0], program.opts<RunLocalOptions>());
  } catch (error) {
    if (error instanceof DefinitionError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
