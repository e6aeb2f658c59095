import type { AsyncInvocationView, HksClient } from '../../sdk/typescript';
import type { CliContext } from './context';
import { CliError } from './errors';

/** The flags of `hks-func invoke` that queue the invocation. */
export interface AsyncInvokeFlags {
  async: boolean;
  callback?: string;
  idempotencyKey?: string;
  wait: boolean;
}

/** @throws CliError (usage) for flags that only mean something with `--async`, given without it */
export function checkAsyncFlags(flags: AsyncInvokeFlags): void {
  const given = [
    flags.callback !== undefined && '--callback',
    flags.idempotencyKey !== undefined && '--idempotency-key',
    flags.wait && '--wait',
  ].filter(Boolean);
  if (given.length > 0 && !flags.async)
    throw CliError.usage(`${given.join(', ')}: given without --async, expected with --async`);
}

/**
 * `hks-func invoke --async` with the event's JSON text (`--data`, checked): queues the invocation and prints its id and where to poll; with
 * `--wait`, polls until it ends and prints the result (dead or cancelled exits 1).
 */
export async function invokeAsync(
  ctx: CliContext<AsyncInvokeFlags & { tag?: string }>,
  client: HksClient,
  project: string,
  name: string,
  eventJson: string,
): Promise<void> {
  const event = JSON.parse(eventJson) as unknown;
  const submitted = await client.asyncInvocations.invokeAsync(project, name, event, {
    tag: ctx.options.tag,
    callbackUrl: ctx.options.callback,
    idempotencyKey: ctx.options.idempotencyKey,
  });
  if (!ctx.options.wait) {
    ctx.result(
      `${submitted.replayed ? 'Already queued' : 'Queued'} ${name}: ${submitted.id} (${submitted.state})\n${submitted.location}`,
      submitted,
    );
    return;
  }
  const done = await client.asyncInvocations.waitForInvocation(project, name, submitted.id, {
    timeoutMs: 15 * 60_000,
  });
  if (done.state !== 'succeeded')
    throw CliError.failure(
      `${name} invocation ${done.id} is ${done.state} after ${done.attempts} attempt${done.attempts === 1 ? '' : 's'}${done.lastError ? `: ${done.lastError}` : ''}`,
    );
  ctx.result(resultText(done), done);
}

function resultText(view: AsyncInvocationView): string {
  const result = view.result;
  if (!result) return '';
  return result.body ?? `(${result.bytes} bytes, not UTF-8: --output json gives them base64)`;
}
