/**
 * The runtime bootstraps' log contract, read by the API and the SDK: their own JSON records
 * among the function's output, and the per-invocation log tail (`X-Hks-Log: tail`).
 */

/** Request header asking a bootstrap for the invocation's output; its value is `tail`. */
export const LOG_TAIL_HEADER = 'x-hks-log';
/** Response header with the invocation's output: base64 of UTF-8 log lines. */
export const LOG_RESULT_HEADER = 'x-hks-log-result';

/** A bootstrap's own record: lifecycle (`listening`, `draining`, `stopped`) or `invocation`. */
export interface BootstrapRecord {
  readonly level?: string;
  readonly message?: string;
  readonly function?: string;
  readonly requestId?: string;
  /** HTTP status of the invocation's answer. */
  readonly status?: number;
  readonly durationMs?: number;
  /** A handler's exception (`type`, `message`, `stack`), or the timeout as text. */
  readonly error?:
    { readonly type?: string; readonly message?: string; readonly stack?: string } | string;
}

const BOOTSTRAP_MESSAGES = new Set(['listening', 'draining', 'stopped', 'invocation']);

/** The bootstrap record on this line, if it is one. */
export function bootstrapRecord(line: string): BootstrapRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return undefined;
  }
  return record !== null &&
    typeof record === 'object' &&
    typeof (record as BootstrapRecord).function === 'string' &&
    BOOTSTRAP_MESSAGES.has(String((record as BootstrapRecord).message))
    ? (record as BootstrapRecord)
    : undefined;
}

/** The invocation record of `requestId` in these log lines. */
export function invocationRecord(logs: string, requestId: string): BootstrapRecord | undefined {
  for (const line of logs.split('\n')) {
    const record = bootstrapRecord(line);
    if (record?.message === 'invocation' && record.requestId === requestId) return record;
  }
  return undefined;
}

/** The log lines without the bootstrap's records: what the function's own code wrote. */
export function userLines(logs: string): string {
  return logs
    .split('\n')
    .filter((line) => bootstrapRecord(line) === undefined)
    .join('\n');
}

/**
 * A {@link LOG_RESULT_HEADER} value split into what the code wrote and the runtime's record of
 * the invocation, which the runtimes put last. Only that last line is taken out: a line the
 * code logged that looks like a record stays in the output.
 */
export function splitLogTail(value: string): { output: string; record?: BootstrapRecord } {
  const text = Buffer.from(value, 'base64').toString('utf8');
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  const record = bootstrapRecord(lines.at(-1) ?? '');
  if (record?.message !== 'invocation') return { output: text };
  const output = lines.slice(0, -1).join('\n');
  return { output: output === '' ? '' : `${output}\n`, record };
}
