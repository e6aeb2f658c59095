import { Command, CommanderError } from 'commander';

/** Exit code of every command for bad usage (unknown flag, missing argument). */
export const USAGE_EXIT_CODE = 2;

/**
 * Parses a command's arguments the same way for every CLI: errors and help go to stderr/stdout
 * as commander writes them, and the process does not exit from inside commander.
 * @returns `undefined` to go on, or the exit code to end with (0 after --help, 2 for bad usage)
 */
export function parseArguments(program: Command, argv: readonly string[]): number | undefined {
  program.exitOverride().configureOutput({ writeErr: (text) => process.stderr.write(text) });
  try {
    program.parse(argv, { from: 'user' });
    return undefined;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
    throw error;
  }
}
