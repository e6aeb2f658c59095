// Pure helpers of the console: times, durations, schedules, logs. No DOM, no globals, so that
// they run under Node too (test/console-format.test.ts).

/** The macros the CronJob controller accepts, with their five-field meaning (as constructs/schedule.ts). */
const MACROS = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/**
 * A schedule in words, e.g. `At 02:30` for `30 2 * * *`, with cronstrue's `toString`;
 * undefined when cronstrue cannot read it.
 * @param {string} schedule
 * @param {(expression: string, options: object) => string} describe cronstrue.toString
 */
export function scheduleInWords(schedule, describe) {
  const expression = MACROS[schedule.trim()] ?? schedule;
  try {
    return describe(expression, { use24HourTimeFormat: true, throwExceptionOnParseError: true });
  } catch {
    return undefined;
  }
}

/**
 * A duration for people: `850 ms`, `12 s`, `3 min 4 s`, `2 h 5 min`, `3 d 4 h`.
 * @param {number} ms
 */
export function formatDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const [m, restS] = [Math.floor(s / 60), s % 60];
  if (m < 60) return restS ? `${m} min ${restS} s` : `${m} min`;
  const [h, restM] = [Math.floor(m / 60), m % 60];
  if (h < 24) return restM ? `${h} h ${restM} min` : `${h} h`;
  const [d, restH] = [Math.floor(h / 24), h % 24];
  return restH ? `${d} d ${restH} h` : `${d} d`;
}

/**
 * How long an execution ran, or has been running at `now`; undefined for an unknown end.
 * @param {{startedAt: string, completedAt?: string, status: string}} execution
 * @param {number} now milliseconds since the epoch
 */
export function executionDurationMs(execution, now) {
  const start = Date.parse(execution.startedAt);
  if (execution.completedAt) return Date.parse(execution.completedAt) - start;
  return execution.status === 'running' ? now - start : undefined;
}

const RELATIVE_UNITS = [
  ['year', 365 * 24 * 3600e3],
  ['month', 30 * 24 * 3600e3],
  ['day', 24 * 3600e3],
  ['hour', 3600e3],
  ['minute', 60e3],
  ['second', 1e3],
];

/**
 * `in 5 minutes`, `3 hours ago`, `now`.
 * @param {string} iso
 * @param {number} now milliseconds since the epoch
 */
export function relativeTime(iso, now) {
  const delta = Date.parse(iso) - now;
  const format = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
  for (const [unit, size] of RELATIVE_UNITS) {
    if (Math.abs(delta) >= size || unit === 'second') {
      return format.format(Math.round(delta / size), unit);
    }
  }
  return '';
}

/**
 * `2026-01-31 02:30:00 CET`: a time as read in `timeZone` (the viewer's when undefined).
 * @param {string} iso
 * @param {string} [timeZone] IANA zone
 */
export function absoluteTime(iso, timeZone) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName}`;
}

/**
 * When a scheduled run was due: the CronJob controller names its Jobs `<cronjob>-<minutes
 * since the epoch of the scheduled time>`. Undefined for manual runs and other names.
 * @param {{trigger: string, jobName: string, cronjob: string}} execution
 * @returns {string | undefined} ISO 8601
 */
export function scheduledTimeOf(execution) {
  if (execution.trigger !== 'scheduled') return undefined;
  const prefix = `${execution.cronjob}-`;
  if (!execution.jobName.startsWith(prefix)) return undefined;
  const minutes = execution.jobName.slice(prefix.length);
  if (!/^\d{1,12}$/.test(minutes)) return undefined;
  return new Date(Number(minutes) * 60e3).toISOString();
}

/** The line the API puts first in a log whose beginning was cut (api/log-tail.ts). */
const TRUNCATION = /^\[hks: log truncated at the size limit; the first (\d+) bytes are not kept\]$/;
/** The header of an attempt in a log of several (api/job-attempts.ts). */
const ATTEMPT = /^--- attempt (\d+) of (\d+): (.*) ---$/;

/**
 * A log as lines, each marked: `truncated` (the API's marker, with the bytes cut), `attempt`
 * (the header of one attempt of several) or `text`. A trailing newline ends the last line.
 * @param {string} text
 * @returns {{kind: 'text' | 'truncated' | 'attempt', text: string, number: number, droppedBytes?: number, attempt?: number, attempts?: number}[]}
 */
export function logLines(text) {
  if (text === '') return [];
  const lines = (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
  return lines.map((line, i) => {
    const cut = TRUNCATION.exec(line);
    if (cut) return { kind: 'truncated', text: line, number: i + 1, droppedBytes: Number(cut[1]) };
    const attempt = ATTEMPT.exec(line);
    if (attempt)
      return {
        kind: 'attempt',
        text: line,
        number: i + 1,
        attempt: Number(attempt[1]),
        attempts: Number(attempt[2]),
      };
    return { kind: 'text', text: line, number: i + 1 };
  });
}

/**
 * A line cut into the parts before, in and after each case-insensitive match of `query`.
 * @param {string} line
 * @param {string} query
 * @returns {{text: string, match: boolean}[]}
 */
export function splitMatches(line, query) {
  if (query === '') return [{ text: line, match: false }];
  const lower = line.toLowerCase();
  const needle = query.toLowerCase();
  const parts = [];
  let at = 0;
  for (let i = lower.indexOf(needle); i !== -1; i = lower.indexOf(needle, i + needle.length)) {
    if (i > at) parts.push({ text: line.slice(at, i), match: false });
    parts.push({ text: line.slice(i, i + needle.length), match: true });
    at = i + needle.length;
  }
  if (at < line.length || parts.length === 0) parts.push({ text: line.slice(at), match: false });
  return parts;
}

/** `1 match`, `3 matches`. @param {number} n */
export function matchesLabel(n) {
  return `${n} ${n === 1 ? 'match' : 'matches'}`;
}

/** File name of a downloaded log: the Job's name. @param {string} jobName */
export function logFileName(jobName) {
  return `${jobName.replace(/[^A-Za-z0-9._-]/g, '_')}.log`;
}
