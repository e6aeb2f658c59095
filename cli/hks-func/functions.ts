import { Command } from 'commander';
import {
  FunctionView,
  HksApiError,
  problemFrom,
  RawInvokeResult,
  RevisionView,
} from '../../sdk/typescript';
import { AsyncInvokeFlags, checkAsyncFlags, invokeAsync } from './invoke-async';
import { action, age, CliContext, CliIo, table } from './context';
import { CliError } from './errors';
import { durationOption, integerOption, readJsonData } from './options';

interface InvokeFlags extends AsyncInvokeFlags {
  data?: string;
  tag?: string;
  logs: boolean;
}

/** `list`, `describe`, `invoke`, `logs`, `delete`: the Functions of the configured project. */
export function registerFunctionCommands(program: Command, io: CliIo): void {
  program
    .command('list')
    .description('List the Functions of the project: readiness, URL, latest revision, age.')
    .action(
      action(io, async (ctx) => {
        const items = await ctx.client().functions.list(ctx.project());
        ctx.result(
          () =>
            items.length === 0
              ? `No Functions in project ${ctx.project()}.`
              : table([
                  ['NAME', 'READY', 'REVISION', 'AGE', 'URL'],
                  ...items.map((f) => [
                    f.name,
                    f.ready ? 'True' : `False${f.reason ? ` (${f.reason})` : ''}`,
                    f.latestReadyRevision ?? f.latestCreatedRevision ?? '-',
                    age(f.createdAt),
                    f.url ?? '-',
                  ]),
                ]),
          { items },
        );
      }),
    );

  program
    .command('describe')
    .description('Show one Function: status, URL, traffic and revisions.')
    .argument('<name>', 'function name')
    .action(
      action<object, [string]>(io, async (ctx, name) => {
        const client = ctx.client();
        const project = ctx.project();
        const fn = await client.functions.get(project, name);
        const revisions = await client.functions.revisions(project, name);
        ctx.result(() => describeText(fn, revisions), { function: fn, revisions });
      }),
    );

  program
    .command('invoke')
    .description(
      'Invoke a Function with a JSON event and print its answer. A function error (status 400 and above) exits 1.',
    )
    .argument('<name>', 'function name')
    .option(
      '--data <json|@file>',
      'the event: JSON, or @file to read it from a file (default: null)',
    )
    .option('--tag <tag>', 'invoke the revision with this traffic tag')
    .option(
      '--logs',
      "print what the function wrote during this invocation to stderr (json: the result's logs and invocation fields)",
      false,
    )
    .option('--async', 'queue the invocation and print its id (Prefer: respond-async)', false)
    .option('--callback <url>', 'with --async: an http(s) URL the signed result is POSTed to')
    .option(
      '--idempotency-key <key>',
      'with --async: the same key (and event) gives the same invocation',
    )
    .option('--wait', 'with --async: poll until it ends and print its result', false)
    .action(
      action<InvokeFlags, [string]>(io, async (ctx, name) => {
        const body = readJsonData(ctx.options.data, io.cwd);
        const client = ctx.client();
        const project = ctx.project();
        checkAsyncFlags(ctx.options);
        if (ctx.options.async) {
          await invokeAsync(ctx, client, project, name, body);
          return;
        }
        const answer = await client.functions.invokeRaw(project, name, {
          body,
          contentType: 'application/json',
          tag: ctx.options.tag,
          logs: ctx.options.logs,
        });
        const type = answer.headers.get('content-type') ?? '';
        if (ctx.options.logs && !ctx.json) printInvocationLogs(io, name, answer);
        if (answer.status >= 400) {
          const problem = problemFrom(answer.status, '', answer.text);
          // The API's own problems (404, 502, 503, 504) are API errors; anything else is the function's.
          if (type.includes('problem+json'))
            throw new HksApiError(answer.status, problem, 'POST', `functions/${name}/invoke`);
          throw CliError.failure(
            `${name} answered ${answer.status}: ${problem.detail || problem.title}`,
          );
        }
        let parsed: unknown = answer.text;
        if (type.includes('json') && answer.text) parsed = JSON.parse(answer.text) as unknown;
        ctx.result(answer.text, {
          status: answer.status,
          requestId: answer.requestId ?? null,
          contentType: type || null,
          body: parsed,
          ...(ctx.options.logs
            ? { logs: answer.logs ?? null, invocation: answer.invocation ?? null }
            : {}),
        });
      }),
    );

  program
    .command('logs')
    .description("Print the logs of a Function's pods; --follow keeps printing new lines.")
    .argument('<name>', 'function name')
    .option('-f, --follow', 'keep printing new lines until interrupted', false)
    .option('--since <duration>', 'only lines newer than this, e.g. 30s, 5m, 1h', durationOption)
    .option('--tail <lines>', 'only the last lines', integerOption(1, 100000))
    .action(
      action<{ follow: boolean; since?: string; tail?: number }, [string]>(
        io,
        async (ctx, name) => {
          const client = ctx.client();
          const project = ctx.project();
          const { since, tail } = ctx.options;
          if (ctx.options.follow) {
            await printLines(ctx, client.functions.followLogs(project, name, { since, tail }));
          } else {
            await printLines(
              ctx,
              toLines(await client.functions.logs(project, name, { since, tail })),
            );
          }
        },
      ),
    );

  program
    .command('delete')
    .description('Delete a Function (any application of that name) and its Kubernetes objects.')
    .argument('<name>', 'function name')
    .action(
      action<object, [string]>(io, async (ctx, name) => {
        const result = await ctx.client().applications.delete(ctx.project(), name);
        ctx.result(
          `Deleted ${name}${result.deleted.length ? ` (${result.deleted.join(', ')})` : ''}`,
          {
            name,
            deleted: result.deleted,
          },
        );
      }),
    );
}

/** Log lines: as they are in text mode, one `{"line": ...}` JSON object per line in json mode. */
export async function printLines(ctx: CliContext, lines: AsyncIterable<string>): Promise<void> {
  for await (const line of lines) {
    ctx.io.stdout(ctx.json ? `${JSON.stringify({ line })}\n` : `${line}\n`);
  }
}

/** The lines of a text (without a last empty one), as an async iterable. */
export async function* toLines(text: string): AsyncGenerator<string> {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  yield* lines;
}

function describeText(fn: FunctionView, revisions: readonly RevisionView[]): string {
  const rows: string[] = [
    `Name:       ${fn.name}`,
    `Project:    ${fn.project}`,
    `Runtime:    ${fn.runtime}`,
    `Ready:      ${fn.ready ? 'True' : 'False'}${fn.reason ? ` (${fn.reason}${fn.message ? `: ${fn.message}` : ''})` : ''}`,
    `URL:        ${fn.url ?? '-'}`,
    `Revision:   ${fn.latestReadyRevision ?? '-'} ready, ${fn.latestCreatedRevision ?? '-'} latest`,
    `Timeout:    ${fn.timeoutSeconds}s`,
    `Created:    ${fn.createdAt ?? '-'}`,
  ];
  if (fn.ephemeral) rows.push(`Expires:    ${fn.expiresAt ?? '-'}`);
  rows.push('Traffic:');
  for (const t of fn.traffic)
    rows.push(
      `  ${String(t.percent).padStart(3)}%  ${t.revision ?? '-'}${t.latestRevision ? ' (latest)' : ''}${t.tag ? `  tag ${t.tag}` : ''}`,
    );
  if (revisions.length > 0) {
    rows.push('Revisions:');
    rows.push(
      table([
        ['  NAME', 'READY', 'TRAFFIC', 'TAGS', 'AGE'],
        ...revisions.map((r) => [
          `  ${r.name}`,
          r.ready ? 'True' : `False${r.reason ? ` (${r.reason})` : ''}`,
          `${r.percent}%`,
          r.tags.join(',') || '-',
          age(r.createdAt),
        ]),
      ]),
    );
  }
  return rows.join('\n');
}

/** The invocation's output on stderr, and the stack of a handler's error. */
function printInvocationLogs(io: CliIo, name: string, answer: RawInvokeResult): void {
  if (answer.logs === undefined) {
    io.stderr(
      `(no output came with the answer: over 8 KiB, or the function does not support it; see hks-func logs ${name})\n`,
    );
    return;
  }
  if (answer.logs) io.stderr(answer.logs.endsWith('\n') ? answer.logs : `${answer.logs}\n`);
  const error = answer.invocation?.error;
  if (typeof error === 'object' && error.stack) io.stderr(error.stack.trimEnd() + '\n');
}
