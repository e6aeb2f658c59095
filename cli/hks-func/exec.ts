import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULT_HANDLERS, MAX_FUNCTION_TIMEOUT_SECONDS } from '../../constructs';
import type { ExecuteResult, OperationRuntime } from '../../sdk/typescript';
import { action, CliIo } from './context';
import { CliError } from './errors';
import { integerOption, readJsonData } from './options';

const RUNTIMES = Object.keys(DEFAULT_HANDLERS) as OperationRuntime[];

/** The runtime a file's extension implies, when `--runtime` is not given. */
const RUNTIME_OF_EXTENSION: Readonly<Record<string, OperationRuntime>> = {
  '.py': 'python3.12',
  '.js': 'nodejs20',
  '.mjs': 'nodejs20',
  '.cjs': 'nodejs20',
};

interface ExecOptions {
  readonly runtime?: OperationRuntime;
  readonly handler?: string;
  readonly data?: string;
  readonly timeout?: number;
}

/** `exec`: run a file once through the internal execute-once API. */
export function registerExec(program: Command, io: CliIo): void {
  program
    .command('exec')
    .description(
      'Run a handler file once on the platform (execute-once: needs an internal token) and print its result; what the code wrote goes to stdout and stderr as it wrote it. Exits 1 when it failed, timed out or was killed.',
    )
    .argument('<file>', 'the handler module (.py, or .js/.mjs/.cjs)')
    .addOption(
      new Option('--runtime <runtime>', 'default: from the file extension').choices(RUNTIMES),
    )
    .option('--handler <module.function>', 'default main.handler (python) or index.handler (node)')
    .option(
      '--data <json|@file>',
      'the input: JSON, or @file to read it from a file (default: null)',
    )
    .option(
      '--timeout <seconds>',
      'time limit of the invocation (default 30)',
      integerOption(1, MAX_FUNCTION_TIMEOUT_SECONDS),
    )
    .action(
      action<ExecOptions, [string]>(io, async (ctx, file) => {
        const path = resolve(io.cwd, file);
        const runtime = ctx.options.runtime ?? runtimeOf(file);
        const input = JSON.parse(readJsonData(ctx.options.data, io.cwd)) as unknown;
        const result = await ctx.client().operations.execute({
          project: ctx.project(),
          runtime,
          handler: ctx.options.handler,
          timeoutSeconds: ctx.options.timeout,
          code: readCode(path, file),
          input,
        });
        reportExecution(io, ctx.json, result);
      }),
    );
}

/**
 * Prints an execution: in text mode the code's stdout to stdout and its stderr to stderr, then
 * the result (JSON) on stdout and the status on stderr; in json mode the whole result on stdout.
 * @throws CliError (failure) for a status other than `succeeded`, naming the error
 */
export function reportExecution(io: CliIo, json: boolean, result: ExecuteResult): void {
  if (json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  else {
    write(io.stdout, result.stdout);
    write(io.stderr, result.stderr);
    if (result.status === 'succeeded') write(io.stdout, `${JSON.stringify(result.result)}\n`);
    if (result.truncated)
      io.stderr(
        `[hks: output cut at ${result.truncated.limitBytes} bytes (${cutStreams(result)})]\n`,
      );
    io.stderr(`[hks: ${result.id} ${result.status} in ${Math.round(result.durationMs)} ms]\n`);
  }
  if (result.status === 'succeeded') return;
  const error = result.error;
  const stopped =
    result.stopped === false ? ' (the function was not yet gone; its deletion goes on)' : '';
  throw CliError.failure(
    `execution ${result.status}${error ? `: ${error.type}: ${error.message}` : ''}${stopped}${
      !json && error?.stack ? `\n${error.stack}` : ''
    }`,
  );
}

function write(out: (text: string) => void, text: string): void {
  if (text) out(text.endsWith('\n') ? text : `${text}\n`);
}

function cutStreams(result: ExecuteResult): string {
  const cut = result.truncated;
  return (['stdout', 'stderr', 'output'] as const).filter((name) => cut?.[name]).join(', ');
}

function runtimeOf(file: string): OperationRuntime {
  const runtime = RUNTIME_OF_EXTENSION[extname(file)];
  if (!runtime)
    throw CliError.usage(
      `<file>: given ${JSON.stringify(file)}, expected a .py, .js, .mjs or .cjs file, or --runtime (${RUNTIMES.join(', ')})`,
    );
  return runtime;
}

function readCode(path: string, file: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw CliError.usage(
      `<file>: given ${JSON.stringify(file)} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}: ${path}), expected a readable handler file`,
    );
  }
}
