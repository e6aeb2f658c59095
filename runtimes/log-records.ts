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

/**
 * Response header beside {@link LOG_RESULT_HEADER}: which stream each part of the invocation's
 * output went to, as runs `o<bytes>` (stdout) and `e<bytes>` (stderr) in order, comma-separated.
 * Sent even when the output itself is left out; runtimes without it send neither stream.
 */
export const LOG_STREAMS_HEADER = 'x-hks-log-streams';

/** One stream's share of the output, in the order written. */
export interface StreamRun {
  readonly stream: 'stdout' | 'stderr';
  readonly bytes: number;
}

/** The runs of a {@link LOG_STREAMS_HEADER} value; undefined when it is not one. */
export function parseStreamRuns(value: string): StreamRun[] | undefined {
  if (value === '') return [];
  const runs = value.split(',').map((part) => /^([oe])(\d{1,12})$/.exec(part));
  if (runs.some((run) => run === null)) return undefined;
  return runs.map((run) => ({
    stream: run?.[1] === 'e' ? 'stderr' : 'stdout',
    bytes: Number(run?.[2]),
  }));
}

/**
 * Splits the output (what the code wrote, in order) into its streams by the runs; undefined when
 * the runs do not cover exactly that output (it came from elsewhere, the pod's logs say, and
 * differs).
 */
export function splitStreams(
  output: string,
  runs: readonly StreamRun[],
): { stdout: string; stderr: string } | undefined {
  const bytes = Buffer.from(output, 'utf8');
  const total = runs.reduce((sum, run) => sum + run.bytes, 0);
  // The tail ends the output with a newline the code may not have written.
  const covered = bytes.length === total || (bytes.length === total + 1 && output.endsWith('\n'));
  if (!covered) return undefined;
  const parts = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  let offset = 0;
  for (const run of runs) {
    parts[run.stream].push(bytes.subarray(offset, offset + run.bytes));
    offset += run.bytes;
  }
  return {
    stdout: Buffer.concat(parts.stdout).toString('utf8'),
    stderr: Buffer.concat(parts.stderr).toString('utf8'),
  };
}
