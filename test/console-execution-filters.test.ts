import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/*
 * The executions pages' filters as the hash query keeps them and the API reads them
 * (console/app/components/execution-time-range.js), run by Node as the browser runs the
 * module, in a child process with the viewer's zone set (TZ).
 */

const MODULE = pathToFileURL(
  join(__dirname, '..', 'console', 'app', 'components', 'execution-time-range.js'),
).href;

/** Evaluates each expression with the module's exports as `f`, in the zone `timeZone`. */
function run(timeZone: string, expressions: Record<string, string>): Record<string, unknown> {
  const script = `
    import * as f from ${JSON.stringify(MODULE)};
    const out = {};
    ${Object.entries(expressions)
      .map(([name, e]) => `out[${JSON.stringify(name)}] = ${e};`)
      .join('\n')}
    process.stdout.write(JSON.stringify(out));
  `;
  return JSON.parse(
    execFileSync(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, TZ: timeZone },
    }),
  );
}

test('the filters of a hash query: unknown statuses and presets dropped, a preset wins over instants', () => {
  expect(
    run('UTC', {
      all: `f.filtersOf({ status: 'failed', cronjob: 'nightly', since: 'a', until: 'b', page: '2' })`,
      badStatus: `f.filtersOf({ status: 'done' })`,
      preset: `f.filtersOf({ range: 'day', since: '2026-01-01T00:00:00Z' })`,
      badPreset: `f.filtersOf({ range: 'year' })`,
      inherited: `f.filtersOf({ range: 'toString' })`,
      none: `f.isFiltered(f.filtersOf({}))`,
    }),
  ).toEqual({
    all: { status: 'failed', cronjob: 'nightly', since: 'a', until: 'b' },
    badStatus: {},
    preset: { range: 'day' },
    badPreset: {},
    inherited: {},
    none: false,
  });
});

test("a preset is the API's since, counted back from the load; the address keeps the filters in one order", () => {
  const now = Date.parse('2026-01-31T12:00:00Z');
  expect(
    run('UTC', {
      hour: `f.apiQueryOf({ range: 'hour', status: 'failed' }, ${now})`,
      week: `f.apiQueryOf({ range: 'week' }, ${now})`,
      range: `f.apiQueryOf({ since: '2026-01-01T00:00:00.000Z' }, ${now})`,
      href: `f.withFilters('#/projects/shop/executions', { until: '2026-01-02T00:00:00.000Z', status: 'failed', cronjob: undefined, since: '' })`,
      plain: `f.withFilters('#/projects/shop/executions', {})`,
    }),
  ).toEqual({
    hour: { status: 'failed', since: '2026-01-31T11:00:00.000Z' },
    week: { since: '2026-01-24T12:00:00.000Z' },
    range: { since: '2026-01-01T00:00:00.000Z' },
    href: '#/projects/shop/executions?status=failed&until=2026-01-02T00%3A00%3A00.000Z',
    plain: '#/projects/shop/executions',
  });
});

test("datetime-local values are read in the viewer's zone, and the zone is named", () => {
  expect(
    run('Asia/Tokyo', {
      instant: `f.instantOfLocalInput('2026-01-31T09:30')`,
      withSeconds: `f.instantOfLocalInput('2026-01-31T09:30:15')`,
      partial: `f.instantOfLocalInput('2026-01-31T')`,
      empty: `f.instantOfLocalInput('')`,
      input: `f.localInputValue('2026-01-31T00:30:00.000Z')`,
      none: `f.localInputValue(undefined)`,
      bad: `f.localInputValue('yesterday')`,
      zone: `f.zoneLabel(Date.parse('2026-01-31T00:00:00Z'))`,
    }),
  ).toEqual({
    instant: '2026-01-31T00:30:00.000Z',
    withSeconds: '2026-01-31T00:30:15.000Z',
    partial: undefined,
    empty: undefined,
    input: '2026-01-31T09:30',
    none: '',
    bad: '',
    zone: 'Asia/Tokyo, UTC+09:00',
  });
  // The offset of the moment: Paris in winter and in summer; UTC as UTC.
  expect(
    run('Europe/Paris', {
      winter: `f.zoneLabel(Date.parse('2026-01-31T00:00:00Z'))`,
      summer: `f.zoneLabel(Date.parse('2026-07-01T00:00:00Z'))`,
      utc: `f.zoneLabel(0, 'UTC')`,
    }),
  ).toEqual({
    winter: 'Europe/Paris, UTC+01:00',
    summer: 'Europe/Paris, UTC+02:00',
    utc: 'UTC, UTC+00:00',
  });
});
