import { Command, CommanderError, Option } from 'commander';
import { DefinitionError } from '../../constructs';
import { HksApiError, HksTimeoutError, HksTransportError } from '../../sdk/typescript';
import { CliIo, OUTPUT_FORMATS } from './context';
import { registerCron } from './cron';
import { registerDeploy } from './deploy';
import { CliError, EXIT_CODES, EXIT_CODES_HELP, ExitCode } from './errors';
import { registerExec } from './exec';
import { registerFunctionCommands } from './functions';
import { registerHistory } from './history';
import { registerInit } from './init';
import { registerLogin } from './login';
import { registerMcp } from './mcp';
import { urlOption } from './options';
import { registerRunLocal } from './run-local';
import { registerSchedule } from './schedule';
import { registerUsage } from './usage';

/** The `hks-func` command tree, writing through `io`. */
export function hksFuncProgram(io: CliIo): Command {
  const json = { value: false };
  const program = new Command('hks-func')
    .description('Deploy, invoke and watch Functions and CronJobs of the HKS platform.')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      outputError: (text, write) =>
        write(
          json.value
            ? `${JSON.stringify({ error: { message: text.trim(), exitCode: 2 } })}\n`
            : text,
        ),
    })
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .option(
      '--api-url <url>',
      'API root URL, e.g. http://localhost:8080 (env HKS_API_URL)',
      urlOption,
    )
    .option('--token <token>', 'API bearer token (env HKS_TOKEN)')
    .option('--project <project>', 'project (env HKS_PROJECT)')
    .addOption(
      new Option('--output <format>', 'text for people, json for scripts')
        .choices(OUTPUT_FORMATS)
        .default('text'),
    )
    .addHelpText('after', EXIT_CODES_HELP);
  program.hook('preSubcommand', (thisCommand) => {
    json.value = thisCommand.opts<{ output?: string }>().output === 'json';
  });
  registerLogin(program, io);
  registerInit(program, io);
  registerDeploy(program, io);
  registerFunctionCommands(program, io);
  registerHistory(program, io);
  registerSchedule(program, io);
  registerRunLocal(program, io);
  registerExec(program, io);
  registerCron(program, io);
  registerMcp(program, io);
  registerUsage(program, io);
  const addEpilog = (commands: readonly Command[]) => {
    for (const command of commands) {
      command.addHelpText('after', EXIT_CODES_HELP);
      addEpilog(command.commands);
    }
  };
  addEpilog(program.commands);
  return program;
}

/**
 * Runs `hks-func` with the given arguments (without `node` and the script).
 * @returns the exit code (see EXIT_CODES)
 */
export async function runHksFunc(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const json = jsonRequested(argv);
  const program = hksFuncProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_CODES.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    }
    const { code, message, details } = describeError(error);
    io.stderr(
      json
        ? `${JSON.stringify({ error: { message, exitCode: code, ...details } })}\n`
        : `${message}\n`,
    );
    return code;
  }
}

/** `--output json` anywhere in the arguments (read before parsing, for usage errors too). */
function jsonRequested(argv: readonly string[]): boolean {
  return argv.some(
    (arg, i) => arg === '--output=json' || (arg === '--output' && argv[i + 1] === 'json'),
  );
}

function describeError(error: unknown): {
  code: ExitCode;
  message: string;
  details: Record<string, unknown>;
} {
  if (error instanceof CliError)
    return { code: error.exitCode, message: error.message, details: {} };
  if (error instanceof DefinitionError) {
    return {
      code: EXIT_CODES.usage,
      message: `${error.message}\nNothing was applied.`,
      details: { problems: error.problems },
    };
  }
  if (error instanceof HksApiError) {
    return {
      code: error.status === 404 ? EXIT_CODES.notFound : EXIT_CODES.failure,
      message: `error: ${error.message}`,
      details: { status: error.status, problem: error.problem },
    };
  }
  if (error instanceof HksTransportError || error instanceof HksTimeoutError) {
    return { code: EXIT_CODES.failure, message: `error: ${error.message}`, details: {} };
  }
  throw error;
}
