import { resolve } from 'node:path';
import type { Command } from 'commander';
import { FunctionView } from '../../sdk/typescript';
import { applyDefinitions, readDefinitions } from './apply';
import { action, CliIo } from './context';
import { integerOption } from './options';
import { Progress } from './progress';

/** `hks-func deploy [path]`. */
export function registerDeploy(program: Command, io: CliIo): void {
  program
    .command('deploy')
    .description(
      'Validate the definitions of a YAML file or folder (nothing is applied when any is invalid), create or update each, wait until the Functions are ready and print their URLs.',
    )
    .argument('[path]', 'definition file or folder', '.')
    .option('--no-wait', 'do not wait for the Functions to become ready')
    .option('--timeout <seconds>', 'how long to wait for readiness', integerOption(1, 3600), 180)
    .action(
      action<{ wait: boolean; timeout: number }, [string]>(io, async (ctx, path) => {
        const definitions = readDefinitions(resolve(io.cwd, path), io.cwd);
        const client = ctx.client();
        const applied = await applyDefinitions(ctx, client, definitions);
        const functions: FunctionView[] = [];
        if (ctx.options.wait) {
          for (const fn of applied.filter((a) => a.kind === 'Function')) {
            const progress = new Progress(io, !ctx.json);
            try {
              const view = await client.functions.waitUntilReady(fn.project, fn.name, {
                timeoutMs: ctx.options.timeout * 1000,
                onProgress: (v) =>
                  progress.update(
                    `waiting for ${fn.name} to become ready${v.reason ? ` (${v.reason}${v.message ? `: ${v.message}` : ''})` : ''}`,
                  ),
              });
              progress.done(`${fn.name} is ready`);
              functions.push(view);
            } catch (error) {
              progress.done(`${fn.name} is not ready`);
              throw error;
            }
          }
        }
        ctx.result(
          () =>
            applied
              .map((a) => {
                const view = functions.find((f) => f.name === a.name && a.kind === 'Function');
                const url = view?.url ? `  ${view.url}` : '';
                return `${a.kind} ${a.name}: ${a.created ? 'created' : 'updated'} (version ${a.version})${url}`;
              })
              .join('\n'),
          {
            applied,
            functions: functions.map((f) => ({ name: f.name, ready: f.ready, url: f.url ?? null })),
          },
        );
      }),
    );
}
