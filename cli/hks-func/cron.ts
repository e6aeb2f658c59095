import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { ExecutionStatus, ExecutionView } from '../../sdk/typescript';
import { applyDefinitions, readDefinitions } from './apply';
import { action, CliIo, table } from './context';
import { CliError } from './errors';
import { printLines, toLines } from './functions';
import { integerOption } from './options';

/** Every execution status, for `--status` (a status missing here, or one too many, fails to compile). */
const EXECUTION_STATUSES = Object.keys({
  running: true,
  succeeded: true,
  failed: true,
  unknown: true,
} satisfies Record<ExecutionStatus, true>);

/** `hks-func cron ...`: CronJobs of the configured project. */
export function registerCron(program: Command, io: CliIo): void {
  const cron = program
    .command('cron')
    .description('Scheduled jobs: create, run, history and logs.');

  cron
    .command('create')
    .description(
      'Create (or update) the CronJobs of a definition file, with the StatelessApplications they use as templates when the file has them.',
    )
    .argument('<file>', 'definition file or folder')
    .action(
      action<object, [string]>(io, async (ctx, file) => {
        const definitions = readDefinitions(resolve(io.cwd, file), io.cwd);
        if (!definitions.some((d) => d.kind === 'CronJob'))
          throw CliError.usage(`${file}: given no CronJob definitions, expected at least one`);
        const applied = await applyDefinitions(ctx, ctx.client(), definitions);
        ctx.result(
          () =>
            applied
              .map(
                (a) =>
                  `${a.kind} ${a.name}: ${a.created ? 'created' : 'updated'} (version ${a.version})`,
              )
              .join('\n'),
          { applied },
        );
      }),
    );

  cron
    .command('list')
    .description('List the CronJobs of the project: schedule, time zone, suspension, template.')
    .action(
      action(io, async (ctx) => {
        const items = await ctx.client().cronJobs.list(ctx.project());
        ctx.result(
          () =>
            items.length === 0
              ? `No CronJobs in project ${ctx.project()}.`
              : table([
                  ['NAME', 'SCHEDULE', 'TIMEZONE', 'SUSPENDED', 'TEMPLATE', 'VERSION'],
                  ...items.map((c) => [
                    c.name,
                    c.schedule,
                    c.timeZone,
                    c.suspended ? 'yes' : 'no',
                    c.template ?? '-',
                    String(c.version),
                  ]),
                ]),
          { items },
        );
      }),
    );

  cron
    .command('trigger')
    .description('Run a CronJob now; prints the execution id.')
    .argument('<name>', 'CronJob name')
    .action(
      action<object, [string]>(io, async (ctx, name) => {
        const result = await ctx.client().cronJobs.trigger(ctx.project(), name);
        ctx.result(`Triggered ${name}: job ${result.job}, execution ${result.id}`, result);
      }),
    );

  cron
    .command('history')
    .description('Executions of a CronJob, newest first.')
    .argument('<name>', 'CronJob name')
    .option('--limit <n>', 'how many', integerOption(1, 100), 20)
    .addOption(
      new Option('--status <status>', 'only executions in this status').choices(EXECUTION_STATUSES),
    )
    .action(
      action<{ limit: number; status?: ExecutionView['status'] }, [string]>(
        io,
        async (ctx, name) => {
          const page = await ctx.client().cronJobs.executions(ctx.project(), name, {
            limit: ctx.options.limit,
            status: ctx.options.status,
          });
          ctx.result(
            () =>
              page.items.length === 0
                ? `No executions of ${name}.`
                : table([
                    ['ID', 'JOB', 'TRIGGER', 'STATUS', 'EXIT', 'ATTEMPTS', 'STARTED', 'DURATION'],
                    ...page.items.map((e) => [
                      e.id,
                      e.jobName,
                      e.trigger,
                      e.status,
                      e.exitCode === undefined || e.exitCode === null ? '-' : String(e.exitCode),
                      e.attempts === undefined || e.attempts === null ? '-' : String(e.attempts),
                      e.startedAt,
                      duration(e),
                    ]),
                  ]),
            page,
          );
        },
      ),
    );

  cron
    .command('logs')
    .description('Print the logs of an execution (the latest when no id is given).')
    .argument('<name>', 'CronJob name')
    .argument('[execution-id]', 'execution id (from "cron history"); default: the latest')
    .option('-f, --follow', 'keep printing while the job runs', false)
    .action(
      action<{ follow: boolean }, [string, string | undefined]>(io, async (ctx, name, id) => {
        const client = ctx.client();
        const project = ctx.project();
        let executionId = id;
        if (executionId === undefined) {
          const latest = (await client.cronJobs.executions(project, name, { limit: 1 })).items[0];
          if (!latest) throw CliError.notFound(`CronJob ${name} has no executions yet`);
          executionId = latest.id;
        }
        if (ctx.options.follow) {
          await printLines(ctx, client.cronJobs.followLogs(project, name, executionId));
          return;
        }
        await printLines(ctx, toLines(await client.cronJobs.logs(project, name, executionId)));
      }),
    );

  for (const verb of ['suspend', 'resume'] as const) {
    cron
      .command(verb)
      .description(verb === 'suspend' ? 'Stop scheduling new runs.' : 'Resume scheduling.')
      .argument('<name>', 'CronJob name')
      .action(
        action<object, [string]>(io, async (ctx, name) => {
          const change = await ctx.client().cronJobs[verb](ctx.project(), name);
          ctx.result(
            `${verb === 'suspend' ? 'Suspended' : 'Resumed'} ${name} (version ${change.version})`,
            {
              name,
              version: change.version,
              suspended: verb === 'suspend',
            },
          );
        }),
      );
  }
}

function duration(e: ExecutionView): string {
  if (!e.completedAt) return '-';
  const seconds = (new Date(e.completedAt).getTime() - new Date(e.startedAt).getTime()) / 1000;
  return `${Math.round(seconds)}s`;
}
