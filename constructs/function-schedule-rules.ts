/**
 * Rules of a Function's `schedules:` entries that the shared cron and zone rules do not cover:
 * the schedule's name, its input (a JSON value, bounded) and the concurrency policies a
 * function call can follow.
 */
import { describeValue } from './field-rules';
import { FUNCTION_SCHEDULE_DEFAULTS } from './generated/definition-defaults';

/** A JSON value: what a schedule sends to its function as the request body. */
export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Most schedules one function may carry. */
export const MAX_FUNCTION_SCHEDULES = 10;

/** Largest input of one schedule, serialized as JSON. */
export const MAX_SCHEDULE_INPUT_BYTES = 64 * 1024;

/** Longest schedule name: a DNS label. */
export const MAX_SCHEDULE_NAME_LENGTH = 63;

/** Default starting deadline of a function's schedule, as of a CronJob's (README "Defaults"). */
export const DEFAULT_SCHEDULE_STARTING_DEADLINE_SECONDS =
  FUNCTION_SCHEDULE_DEFAULTS.startingDeadlineSeconds;

/** A schedule's name: a DNS label, so that it fits a URL path and a metric label as it is. */
export function checkScheduleName(value: string): string | undefined {
  if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(value))
    return `given ${describeValue(value)}, expected a schedule name: a DNS-1123 label of lower-case letters, digits and '-', starting with a letter and ending with a letter or digit`;
  if (value.length > MAX_SCHEDULE_NAME_LENGTH)
    return `given ${describeValue(value)} (${value.length} characters), expected at most ${MAX_SCHEDULE_NAME_LENGTH} characters`;
  return undefined;
}

/**
 * A schedule's input: a JSON value (null, true/false, a finite number, a string, a list or a
 * mapping of them) of at most {@link MAX_SCHEDULE_INPUT_BYTES} once serialized.
 * @returns `undefined` when fine, else where in the input, what was given and what is expected
 */
export function checkScheduleInput(value: unknown): string | undefined {
  const problem = firstNonJson(value, 'input');
  if (problem) return problem;
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > MAX_SCHEDULE_INPUT_BYTES)
    return `given ${bytes} bytes of JSON, expected at most ${MAX_SCHEDULE_INPUT_BYTES} bytes (the input is stored with the definition and sent on every run)`;
  return undefined;
}

const JSON_EXPECTED =
  'expected a JSON value: null, true/false, a finite number, a string, a list or a mapping of them';

function firstNonJson(value: unknown, at: string): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : given(String(value), at);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = firstNonJson(value[i], `${at}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value === 'object' && isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      const problem = firstNonJson(item, `${at}.${key}`);
      if (problem) return problem;
    }
    return undefined;
  }
  const what =
    value instanceof Date
      ? `a date (${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()}; quote it to send it as a string)`
      : typeof value === 'object'
        ? `a ${(value as object).constructor?.name ?? 'non-plain'} object`
        : `a ${typeof value}`;
  return given(what, at);
}

/** A mapping: of Object or of no prototype, from any realm (a structuredClone's, a vm's). */
function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}

function given(what: string, at: string): string {
  return `given ${what}${at === 'input' ? '' : ` at ${at}`}, ${JSON_EXPECTED}`;
}

/**
 * A CronJob's Replace stops the running Job and starts the next; an HTTP call already sent
 * cannot be taken back from a function (closing the connection does not stop its handler),
 * so a function's schedule refuses it instead of pretending.
 */
export function checkFunctionConcurrencyPolicy(value: string): string | undefined {
  if (value !== 'Replace') return undefined;
  return `given "Replace", expected "Allow" or "Forbid": a function call in flight cannot be stopped (closing its connection leaves the handler running), so a run cannot replace the one before it`;
}
