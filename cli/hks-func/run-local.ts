import { resolve } from 'node:path';
import type { Command } from 'commander';
import { checkPort, pickFunction, startLocalFunction } from '../local-function';
import { action, CliIo } from './context';
import { CliError } from './errors';

/** `hks-func run-local [path]`: the Function on this machine, with its runtime's bootstrap. */
export function registerRunLocal(program: Command, io: CliIo): void {
  program
    .command('run-local')
    .description(
      "Run a Function on this machine with its runtime's bootstrap (python3 or node), as in its container; Ctrl-C stops it. Exits with the runtime's exit code.",
    )
    .argument('[path]', 'definition file or folder', '.')
    .option('--name <function>', 'which Function, when there are several')
    .option('--port <port>', 'port to listen on (0: any free one)', '8080')
    .option('--debug', 'include stacks in error responses (HKS_DEBUG=1)', false)
    .action(
      action<{ name?: string; port: string; debug: boolean }, [string]>(io, async (ctx, path) => {
        const { name, port, debug } = ctx.options;
        const portProblem = checkPort(port);
        if (portProblem) throw CliError.usage(portProblem);
        const picked = pickFunction(resolve(io.cwd, path), name);
        const started =
          typeof picked === 'string' ? picked : startLocalFunction(picked, { port, debug });
        if (typeof started === 'string') throw CliError.usage(started);
        const stop = () => started.child.kill('SIGTERM');
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, stop);
        try {
          const code = await started.exited;
          if (code !== 0) throw new CliError(`the runtime exited with code ${code}`, 1);
        } finally {
          for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, stop);
        }
      }),
    );
}
