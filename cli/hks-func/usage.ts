import { Command, Option } from 'commander';
import type { UsageGroupBy, UsageReport } from '../../sdk/typescript';
import { action, CliIo, table } from './context';
import { sinceOption } from './history';

/** Every grouping, for `--group-by` (one missing here, or one too many, fails to compile). */
const GROUPINGS = Object.keys({
  function: true,
  cronjob: true,
  day: true,
} satisfies Record<UsageGroupBy, true>);

/** `hks-func usage`: what the project's functions and CronJobs used and cost. */
export function registerUsage(program: Command, io: CliIo): void {
  program
    .command('usage')
    .description(
      'Usage and cost of the project: invocations, CronJob runs, run time, cold-start time, requested vCPU-seconds and GiB-seconds, and their cost from the API’s price table.',
    )
    .option(
      '--from <time>',
      'calls and runs started since then: 30m, 2h, 7d back, or an ISO 8601 instant (default: 30 days before --to)',
      sinceOption(),
    )
    .option(
      '--to <time>',
      'calls and runs started before then: 30m, 2h, 7d back, or an ISO 8601 instant (default: now)',
      sinceOption(),
    )
    .addOption(
      new Option('--group-by <group>', 'one row per function, CronJob or UTC day')
        .choices(GROUPINGS)
        .default('function'),
    )
    .option('--function <name>', "only this function's invocations")
    .option('--cronjob <name>', "only this CronJob's runs")
    .action(
      action<
        { from?: string; to?: string; groupBy: UsageGroupBy; function?: string; cronjob?: string },
        []
      >(io, async (ctx) => {
        const { from, to, groupBy } = ctx.options;
        const report = await ctx.client().usage.report(ctx.project(), {
          from,
          to,
          groupBy,
          function: ctx.options.function,
          cronjob: ctx.options.cronjob,
          limit: 500,
        });
        ctx.result(() => usageText(report), report);
      }),
    );
}

/** The report as a table, a TOTAL row last, and the prices it was costed with. */
export function usageText(report: UsageReport): string {
  const currency = report.prices.currency;
  const header = [
    report.groupBy.toUpperCase(),
    'INVOCATIONS',
    'RUNS',
    'DURATION',
    'INIT',
    'VCPU-S',
    'GIB-S',
    `COST (${currency})`,
  ];
  const row = (key: string, f: UsageReport['total']) => [
    key,
    String(f.invocations),
    String(f.executions),
    `${f.durationSeconds}s`,
    `${f.initSeconds}s`,
    String(f.vcpuSeconds),
    String(f.gibSeconds),
    f.cost.total.toFixed(6),
  ];
  const p = report.prices;
  return [
    `Usage of ${report.project} from ${report.from} to ${report.to}`,
    table([header, ...report.items.map((i) => row(i.key, i)), row('TOTAL', report.total)]),
    `Prices: ${p.vcpuSecond} per vCPU-second, ${p.gibSecond} per GiB-second, ${p.invocation} per invocation (${currency})${report.nextCursor ? '; more groups than shown (500)' : ''}`,
  ].join('\n');
}
