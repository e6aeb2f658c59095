import { Command } from 'commander';
import type { FunctionScheduleRun, FunctionScheduleView } from '../../sdk/typescript';
import { action, CliIo, table } from './context';

/**
 * `hks-func schedule list|trigger|suspend|resume <function> [schedule]`: a Function's
 * schedules (docs/function-schedules.md).
 */
export function registerSchedule(program: Command, io: CliIo): void {
  const schedule = program
    .command('schedule')
    .description(
      "A Function's schedules: list them with their next and last runs, run one now, suspend or resume one.",
    );
  schedule
    .command('list')
    .description(
      'Schedules of a Function: cron, zone, policy, suspended, the next run and the last run.',
    )
    .argument('<function>', 'function name')
    .action(
      action<object, [string]>(io, async (ctx, name) => {
        const schedules = await ctx.client().schedules.list(ctx.project(), name);
        ctx.result(
          () =>
            schedules.length === 0
              ? `${name} has no schedules.`
              : table([
                  ['NAME', 'CRON', 'ZONE', 'POLICY', 'SUSPENDED', 'NEXT', 'LAST RUN'],
                  ...schedules.map(scheduleRow),
                ]),
          schedules,
        );
      }),
    );
  schedule
    .command('trigger')
    .description(
      "Runs a schedule now with its input and prints how the run ended and the function's answer.",
    )
    .argument('<function>', 'function name')
    .argument('<schedule>', 'schedule name')
    .action(
      action<object, [string, string]>(io, async (ctx, name, scheduleName) => {
        const run = await ctx.client().schedules.trigger(ctx.project(), name, scheduleName);
        ctx.result(() => runText(run), run);
      }),
    );
  for (const [verb, suspend] of [
    ['suspend', true],
    ['resume', false],
  ] as const) {
    schedule
      .command(verb)
      .description(
        suspend
          ? 'Stops new runs of a schedule (applies the definition with suspend: true).'
          : 'Runs a suspended schedule again from now on; times missed meanwhile are not run.',
      )
      .argument('<function>', 'function name')
      .argument('<schedule>', 'schedule name')
      .action(
        action<object, [string, string]>(io, async (ctx, name, scheduleName) => {
          const api = ctx.client().schedules;
          const view = suspend
            ? await api.suspend(ctx.project(), name, scheduleName)
            : await api.resume(ctx.project(), name, scheduleName);
          ctx.result(
            () =>
              `${name}/${scheduleName} ${suspend ? 'suspended' : `resumed; next run ${view.nextRuns[0] ?? '-'}`}`,
            view,
          );
        }),
      );
  }
}

function scheduleRow(s: FunctionScheduleView): string[] {
  return [
    s.name,
    s.cron,
    s.timeZone,
    s.concurrencyPolicy,
    s.suspend ? 'yes' : 'no',
    s.nextRuns[0] ?? '-',
    s.lastRun ? `${s.lastRun.scheduledTime} ${s.lastRun.status}` : '-',
  ];
}

function runText(run: FunctionScheduleRun): string {
  const lines = [
    `run ${run.scheduledTime} (${run.trigger}): ${run.status}${run.httpStatus === undefined ? '' : ` ${run.httpStatus}`}`,
    ...(run.invocationId ? [`invocation ${run.invocationId}`] : []),
    ...(run.reason ? [run.reason] : []),
    ...(run.output === undefined ? [] : [run.output]),
  ];
  return lines.join('\n');
}
