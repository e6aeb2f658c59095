/**
 * Rules of a Function's `triggers:` entries (docs/event-triggers.md): NATS subjects, stream
 * and consumer names as the NATS server accepts them, and the bounds of redelivery.
 */
import { describeValue } from './field-rules';
import { NATS_TRIGGER_DEFAULTS } from './generated/definition-defaults';

/** Most triggers one function may carry. */
export const MAX_FUNCTION_TRIGGERS = 5;

/** Longest subject: the server allows more, but a subject is also a header value and a label. */
export const MAX_SUBJECT_LENGTH = 255;

/** Longest stream or durable name: NATS advises 32 characters, which stay portable as file names. */
export const MAX_NATS_NAME_LENGTH = 32;

/** Most deliveries of one message; and the default. */
export const MAX_DELIVER_LIMIT = 100;
export const DEFAULT_MAX_DELIVER = NATS_TRIGGER_DEFAULTS.maxDeliver;

/** Waits before the 1st, 2nd, … redelivery; the last repeats. */
export const DEFAULT_BACKOFF_SECONDS: readonly number[] = NATS_TRIGGER_DEFAULTS.backoffSeconds;
export const MAX_BACKOFF_ENTRIES = 10;
export const MAX_BACKOFF_SECONDS = 3600;

/** Subject a trigger's dead letters go to unless it names one: outside the usual streams' subjects. */
export function defaultDeadLetterSubject(stream: string, durable: string): string {
  return `hks.dead-letter.${stream}.${durable}`;
}

const TOKEN = /^[^\s.*>]+$/;

/**
 * A subject a consumer filters on: `.`-separated tokens without white space, where a token
 * may be `*` (any one token) and the last may be `>` (one or more tokens), as NATS allows.
 */
export function checkSubjectFilter(value: string): string | undefined {
  return checkSubject(value, true);
}

/** A subject messages are published to: tokens as for a filter, without wildcards. */
export function checkPublishSubject(value: string): string | undefined {
  return checkSubject(value, false);
}

function checkSubject(value: string, wildcards: boolean): string | undefined {
  const expected = wildcards
    ? "expected a NATS subject: '.'-separated tokens of printable characters without spaces, a token being '*' or (the last) '>' for wildcards, e.g. orders.*.created"
    : "expected a NATS subject without wildcards: '.'-separated tokens of printable characters without spaces, '*' or '>', e.g. orders.dead";
  if (value.length === 0 || value.length > MAX_SUBJECT_LENGTH)
    return `given ${describeValue(value)} (${value.length} characters), ${expected}, of 1 to ${MAX_SUBJECT_LENGTH} characters`;
  const tokens = value.split('.');
  for (const [i, token] of tokens.entries()) {
    const wildcard = token === '*' || (token === '>' && i === tokens.length - 1);
    if (wildcard && wildcards) continue;
    if (!TOKEN.test(token) || /[\p{Cc}]/u.test(token))
      return `given ${describeValue(value)}, token ${i + 1} ${describeValue(token)} is not allowed, ${expected}`;
  }
  return undefined;
}

/** A stream or durable consumer name: letters, digits, `-` and `_` (no `.`, `*`, `>`, spaces or path separators). */
export function checkNatsName(value: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(value) || value.length > MAX_NATS_NAME_LENGTH)
    return `given ${describeValue(value)}, expected a NATS name of 1 to ${MAX_NATS_NAME_LENGTH} letters, digits, '-' and '_' (no '.', '*', '>', spaces or path separators)`;
  return undefined;
}

/**
 * Whether `subject` (without wildcards) is one that `filter` matches: a dead letter published
 * there would come back to the trigger that sent it.
 */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}

/** Whether every subject `filter` matches is one that `subject` (a stream's, wildcards allowed) matches. */
export function subjectWithin(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '>') return f.length > i;
    if (i >= f.length || f[i] === '>') return false;
    if (s[i] !== '*' && (f[i] === '*' || f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}
