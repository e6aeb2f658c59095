import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULT_HANDLERS, MAX_FUNCTION_TIMEOUT_SECONDS } from '../../constructs';
import type {
  ExecuteRequest,
  ExecuteResult,
  ExecuteStreamEvent,
  OperationRuntime,
} from '../../sdk/typescript';
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
  readonly follow?: boolean;
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
    .option(
      '--follow',
      "print the code's output as it writes it (streamed), then the result; with --output json one JSON line per event",
    )
    .action(
      action<ExecOptions, [string]>(io, async (ctx, file) => {
        const path = resolve(io.cwd, file);
        const runtime = ctx.options.runtime ?? runtimeOf(file);
        const input = JSON.parse(readJsonData(ctx.options.data, io.cwd)) as unknown;
        const request: ExecuteRequest = {
          project: ctx.project(),
          runtime,
          handler: ctx.options.handler,
          timeoutSeconds: ctx.options.timeout,
          code: readCode(path, file),
          input,
        };
        const operations = ctx.client().operations;
        if (!ctx.options.follow) {
          reportExecution(io, ctx.json, await operations.execute(request));
          return;
        }
        const result = await followExecution(io, ctx.json, operations.executeStream(request));
        if (ctx.json) {
          // The events were the output: only the exit status is left to give.
          if (result.status !== 'succeeded') throw failureOf(result, true);
          return;
        }
        reportExecution(io, false, result, { printedOutput: true });
      }),
    );
}

/**
 * Prints a streamed execution's events as they arrive: in text mode each output chunk to the
 * stream it was written to, in json mode every event as one JSON line on stdout.
 * @returns the result, the last event
 */
async function followExecution(
  io: CliIo,
  json: boolean,
  events: AsyncGenerator<ExecuteStreamEvent, ExecuteResult, undefined>,
): Promise<ExecuteResult> {
  let endsWithNewline = true;
  for (;;) {
    const next = await events.next();
    if (next.done) {
      // Output that did not end its line is ended before the result is printed.
      if (!json && !endsWithNewline) io.stdout('\n');
      return next.value;
    }
    const event = next.value;
    if (json) io.stdout(`${JSON.stringify(event)}\n`);
    else if (event.type === 'output' && event.text) {
      (event.stream === 'stderr' ? io.stderr : io.stdout)(event.text);
      endsWithNewline = event.text.endsWith('\n');
    }
  }
}

/**
 * Prints an execution: in text mode the code's stdout to stdout and its stderr to stderr
 * (unless `printedOutput`: they were printed as they came), then the result (JSON) on stdout
 * and the status on stderr; in json mode the whole result on stdout.
 * @throws CliError (failure) for a status other than `succeeded`, naming the error
 */
export function reportExecution(
  io: CliIo,
  json: boolean,
  result: ExecuteResult,
  { printedOutput = false }: { readonly printedOutput?: boolean } = {},
): void {
  if (json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  else {
    if (!printedOutput) {
      write(io.stdout, result.stdout);
      write(io.stderr, result.stderr);
    }
    if (result.status === 'succeeded') write(io.stdout, `${JSON.stringify(result.result)}\n`);
    if (result.truncated)
      io.stderr(
        `[hks: output cut at ${result.truncated.limitBytes} bytes (${cutStreams(result)})]\n`,
      );
    io.stderr(`[hks: ${result.id} ${result.status} in ${Math.round(result.durationMs)} ms]\n`);
  }
  if (result.status === 'succeeded') return;
  throw failureOf(result, json);
}

/** The CliError (failure) of an execution that did not succeed, naming its error. */
function failureOf(result: ExecuteResult, json: boolean): CliError {
  const error = result.error;
  const stopped =
    result.stopped === false ? ' (the function was not yet gone; its deletion goes on)' : '';
  return CliError.failure(
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
