import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Log } from '../../test/cluster/log';
import { prepareBackend } from './environment';
import { ensureToolchain } from './toolchain';

/** Progress lines on stderr, so that `pulumi`'s own output on stdout stays clean. */
const log: Log = (message) => {
  process.stderr.write(`[pulumi-toolchain] ${message}\n`);
};

/** Runs the toolchain's `pulumi` with `args`; resolves with its exit code. */
async function runPulumi(args: readonly string[]): Promise<number> {
  const { config, layout, env } = await ensureToolchain(log);
  prepareBackend(config);
  // npm runs scripts in the package's folder; pulumi runs where `npm run` was called
  // (INIT_CWD), so that it finds the Pulumi.yaml of that folder or above, as it would alone.
  const cwd = process.env.INIT_CWD || process.cwd();
  const child = spawn(layout.pulumi, args, { stdio: 'inherit', env, cwd });
  // Ctrl-C reaches pulumi through the terminal's process group; a second SIGINT would make it
  // abandon the update, so only the signals sent to this process alone are passed on.
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', forward('SIGTERM'));
  process.on('SIGHUP', forward('SIGHUP'));
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      resolvePromise(code ?? 128 + (signal ? constants.signals[signal] : 0)),
    );
  });
}

/**
 * `tsx tools/pulumi/main.ts build`: builds the Pulumi toolchain if needed (`npm run pulumi:build`);
 * `tsx tools/pulumi/main.ts run <args>`: runs it (`npm run pulumi -- <args>`), exit code passed through.
 */
async function main([command, ...args]: readonly string[]): Promise<number> {
  switch (command) {
    case 'build': {
      const { layout } = await ensureToolchain(log);
      process.stdout.write(`${layout.cliBin}\n`);
      return 0;
    }
    case 'run':
      return runPulumi(args);
    default:
      throw new Error(
        `usage: tsx tools/pulumi/main.ts build | run <pulumi args> (got "${command ?? ''}")`,
      );
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    log(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  },
);
