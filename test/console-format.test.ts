import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/*
 * The console's pure helpers (console/app/format.js) are ES modules the browser runs as they
 * are: Node runs them the same way here, in a child process (jest's transform is for .ts).
 */

const FORMAT = pathToFileURL(join(__dirname, '..', 'console', 'app', 'format.js')).href;

/** Evaluates `expression` with the module's exports as `f` and cronstrue as `cronstrue`. */
function run(expressions: Record<string, string>): Record<string, unknown> {
  const script = `
    import * as f from ${JSON.stringify(FORMAT)};
    import { createRequire } from 'node:module';
    const cronstrue = createRequire(${JSON.stringify(__filename)})('cronstrue');
    const out = {};
    ${Object.entries(expressions)
      .map(([name, e]) => `out[${JSON.stringify(name)}] = ${e};`)
      .join('\n')}
    process.stdout.write(JSON.stringify(out));
  `;
  return JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
  );
}

test('durations, relative and absolute times', () => {
  const now = Date.parse('2026-01-31T12:00:00Z');
  expect(
    run({
      ms: 'f.formatDuration(850)',
      s: 'f.formatDuration(12_400)',
      min: 'f.formatDuration(184_000)',
      h: 'f.formatDuration(7_500_000)',
      d: 'f.formatDuration(3 * 86400e3 + 4 * 3600e3)',
      negative: 'f.formatDuration(-1)',
      running: `f.executionDurationMs({ status: 'running', startedAt: '2026-01-31T11:59:00Z' }, ${now})`,
      ended: `f.executionDurationMs({ status: 'failed', startedAt: '2026-01-31T11:00:00Z', completedAt: '2026-01-31T11:00:05Z' }, ${now})`,
      unknownEnd: `f.executionDurationMs({ status: 'unknown', startedAt: '2026-01-31T11:00:00Z' }, ${now}) ?? 'none'`,
      soon: `f.relativeTime('2026-01-31T12:05:00Z', ${now})`,
      ago: `f.relativeTime('2026-01-31T09:00:00Z', ${now})`,
      paris: `f.absoluteTime('2026-01-31T01:30:00Z', 'Europe/Paris')`,
      tokyo: `f.absoluteTime('2026-07-01T00:00:00Z', 'Asia/Tokyo')`,
    }),
  ).toEqual({
    ms: '850 ms',
    s: '12 s',
    min: '3 min 4 s',
    h: '2 h 5 min',
    d: '3 d 4 h',
    negative: '—',
    running: 60_000,
    ended: 5000,
    unknownEnd: 'none',
    soon: 'in 5 minutes',
    ago: '3 hours ago',
    paris: '2026-01-31 02:30:00 CET',
    tokyo: '2026-07-01 09:00:00 GMT+9',
  });
});

test('schedules in words (macros included), scheduled times from Job names', () => {
  expect(
    run({
      daily: `f.scheduleInWords('30 2 * * *', cronstrue.toString)`,
      macro: `f.scheduleInWords('@hourly', cronstrue.toString)`,
      bad: `f.scheduleInWords('not a schedule', cronstrue.toString) ?? 'none'`,
      scheduled: `f.scheduledTimeOf({ trigger: 'scheduled', cronjob: 'report', jobName: 'report-29480340' })`,
      manual: `f.scheduledTimeOf({ trigger: 'manual', cronjob: 'report', jobName: 'report-manual-abc' }) ?? 'none'`,
      otherName: `f.scheduledTimeOf({ trigger: 'scheduled', cronjob: 'report', jobName: 'report-x1' }) ?? 'none'`,
    }),
  ).toEqual({
    daily: 'At 02:30',
    macro: 'Every hour',
    bad: 'none',
    // The CronJob controller names a Job after its scheduled time in minutes since the epoch.
    scheduled: new Date(29480340 * 60_000).toISOString(),
    manual: 'none',
    otherName: 'none',
  });
});

test('log lines: the truncation marker and attempt headers are told apart; matches are split out', () => {
  const log = [
    '[hks: log truncated at the size limit; the first 2396 bytes are not kept]',
    '--- attempt 2 of 2: pod p-2, restart 0, exit code 1 ---',
    'Hello hello',
    '',
  ].join('\n');
  expect(
    run({
      lines: `f.logLines(${JSON.stringify(log)}).map((l) => [l.kind, l.number, l.droppedBytes ?? l.attempt ?? null])`,
      empty: `f.logLines('')`,
      noNewline: `f.logLines('a\\nb').length`,
      parts: `f.splitMatches('Hello hello', 'hello')`,
      none: `f.splitMatches('abc', '')`,
      label: `[f.matchesLabel(1), f.matchesLabel(3)]`,
      file: `f.logFileName('report-manual-1/x')`,
    }),
  ).toEqual({
    lines: [
      ['truncated', 1, 2396],
      ['attempt', 2, 2],
      ['text', 3, null],
    ],
    empty: [],
    noNewline: 2,
    parts: [
      { text: 'Hello', match: true },
      { text: ' ', match: false },
      { text: 'hello', match: true },
    ],
    none: [{ text: 'abc', match: false }],
    label: ['1 match', '3 matches'],
    file: 'report-manual-1_x.log',
  });
});
