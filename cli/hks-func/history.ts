import { Command, InvalidArgumentError, Option } from 'commander';
import type { InvocationStatus, InvocationTrigger, InvocationView } from '../../sdk/typescript';
import { action, CliIo, table } from './context';
import { integerOption } from './options';

/** Every invocation status, for `--status` (one missing here, or one too many, fails to compile). */
const INVOCATION_STATUSES = Object.keys({
  succeeded: true,
  failed: true,
  timeout: true,
  'too-large': true,
  unreachable: true,
  'client-gone': true,
} satisfies Record<InvocationStatus, true>);

/** Every trigger kind, for `--trigger`. */
const INVOCATION_TRIGGERS = Object.keys({
  http: true,
  execute: true,
  timer: true,
  async: true,
  event: true,
} satisfies Record<InvocationTrigger, true>);

const UNIT_SECONDS = { m: 60, h: 3600, d: 86400 } as const;

/**
 * `--since`: a time back from now (`30m`, `2h`, `7d`) as the instant it was, or an ISO 8601
 * instant passed on as given (the API checks it and names it in its error).
 */
export function sinceOption(now: () => number = Date.now): (value: string) => string {
  return (value) => {
    const back = /^(\d{1,6})([mhd])$/.exec(value);
    if (back)
      return new Date(now() - Number(back[1]) * UNIT_SECONDS[back[2] as 'm'] * 1000).toISOString();
    if (/^\d{4}-\d{2}-\d{2}T/.test(value)) return value;
    throw new InvalidArgumentError(
      'Expected a time back from now (30m, 2h, 7d) or an ISO 8601 instant such as 2026-01-31T02:30:00Z.',
    );
  };
}

/** `hks-func history <function>`: a function's invocations, newest first. */
export function registerHistory(program: Command, io: CliIo): void {
  program
    .command('history')
    .description(
      'Invocations of a Function, newest first: id (the X-Request-Id it was sent), trigger, status, HTTP status, revision, start, duration, sizes.',
    )
    .argument('<function>', 'function name')
    .option('--limit <n>', 'how many', integerOption(1, 100), 20)
    .addOption(
      new Option('--status <status>', 'only invocations that ended so').choices(
        INVOCATION_STATUSES,
      ),
    )
    .addOption(
      new Option('--trigger <trigger>', 'only invocations of this trigger').choices(
        INVOCATION_TRIGGERS,
      ),
    )
    .option(
      '--since <time>',
      'only invocations started since then: 30m, 2h, 7d back, or an ISO 8601 instant',
      sinceOption(),
    )
    .action(
      action<
        { limit: number; status?: InvocationStatus; trigger?: InvocationTrigger; since?: string },
        [string]
      >(io, async (ctx, name) => {
        const page = await ctx.client().functions.invocations(ctx.project(), name, {
          limit: ctx.options.limit,
          status: ctx.options.status,
          trigger: ctx.options.trigger,
          since: ctx.options.since,
        });
        ctx.result(
          () =>
            page.items.length === 0
              ? `No invocations of ${name}.`
              : table([
                  [
                    'ID',
                    'TRIGGER',
                    'STATUS',
                    'HTTP',
                    'REVISION',
                    'STARTED',
                    'DURATION',
                    'IN',
                    'OUT',
                  ],
                  ...page.items.map((i) => row(i)),
                ]),
          page,
        );
      }),
    );
}

function row(i: InvocationView): string[] {
  return [
    i.id,
    i.trigger,
    i.status,
    i.httpStatus === undefined ? '-' : String(i.httpStatus),
    i.revision ?? '-',
    i.startedAt,
    `${Math.round(i.durationMs)}ms`,
    `${i.requestBytes}B`,
    i.responseBytes === undefined ? '-' : `${i.responseBytes}B`,
  ];
}
