import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { API_VERSION, Schedule, parseDefinition } from '../constructs';

/*
 * The CronJob form's pure modules (console/app/cronjob-schedule-presets.js and
 * cronjob-form-values.js), run by Node as the browser runs them, in a child process (jest's
 * transform is for .ts). Every preset writes an expression Kubernetes accepts and reads back as
 * itself; the form's values make a definition the schema accepts and keep what the form does
 * not edit.
 */

const consoleModule = (name: string) =>
  pathToFileURL(join(__dirname, '..', 'console', 'app', name)).href;

/** Evaluates each expression with the modules' exports as `p` (presets) and `v` (values). */
function run(expressions: Record<string, string>): Record<string, unknown> {
  const script = `
    import * as p from ${JSON.stringify(consoleModule('cronjob-schedule-presets.js'))};
    import * as v from ${JSON.stringify(consoleModule('cronjob-form-values.js'))};
    const out = {};
    ${Object.entries(expressions)
      .map(([name, e]) => `out[${JSON.stringify(name)}] = ${e};`)
      .join('\n')}
    process.stdout.write(JSON.stringify(out));
  `;
  return JSON.parse(
    execFileSync(
      process.execPath,
      ['--input-type=module', '--disable-warning=MODULE_TYPELESS_PACKAGE_JSON', '-e', script],
      { encoding: 'utf8' },
    ),
  );
}

test('each preset writes a schedule Kubernetes accepts, which reads back as the same preset', () => {
  const settings = { step: 10, minute: 5, time: '07:30', weekday: 3, day: 28 };
  const out = run({
    written: `p.PRESETS.map((x) => [x.id, p.expressionOf(x.id, ${JSON.stringify(settings)})])`,
    readBack: `p.PRESETS.map((x) => p.presetOf(p.expressionOf(x.id, ${JSON.stringify(settings)})))`,
    everyMinute: `p.expressionOf('minutes', { ...p.DEFAULT_SETTINGS, step: 1 })`,
  });
  expect(out.written).toEqual([
    ['minutes', '*/10 * * * *'],
    ['hourly', '5 * * * *'],
    ['daily', '30 7 * * *'],
    ['weekdays', '30 7 * * 1-5'],
    ['weekly', '30 7 * * 3'],
    ['monthly', '30 7 28 * *'],
  ]);
  for (const [, expression] of out.written as [string, string][])
    expect(Schedule.check(expression)).toBeUndefined();
  expect((out.readBack as { preset: string }[]).map((r) => r.preset)).toEqual([
    'minutes',
    'hourly',
    'daily',
    'weekdays',
    'weekly',
    'monthly',
  ]);
  expect(out.everyMinute).toBe('* * * * *');
});

test('raw expressions: the preset they match with its settings, or none', () => {
  const out = run({
    weekdays: `p.presetOf(' 5  9 * * MON-FRI ')`,
    step: `p.presetOf('*/7 * * * *')`,
    lateHour: `p.presetOf('0 24 * * *')`,
    list: `p.presetOf('30 1,2 7,14 3,11 *')`,
    macro: `p.presetOf('@daily')`,
    sixFields: `p.presetOf('0 30 7 * * 1-5')`,
  });
  expect(out.weekdays).toEqual({
    preset: 'weekdays',
    settings: { step: 15, minute: 0, time: '09:05', weekday: 1, day: 1 },
  });
  // */7 runs at :00 and :56 back to back: not "every 7 minutes", so left to the raw field.
  expect(out.step).toBeUndefined();
  expect(out.lateHour).toBeUndefined();
  expect(out.list).toBeUndefined();
  expect(out.macro).toBeUndefined();
  expect(out.sixFields).toBeUndefined();
});

test("the form's values make a definition the schema accepts; editing keeps what the form does not show", () => {
  const stored = {
    apiVersion: API_VERSION,
    kind: 'CronJob',
    metadata: { name: 'report', project: 'shop', labels: { team: 'data' } },
    spec: {
      image: 'ghcr.io/acme/report:1',
      command: ['sh', '-c', 'echo one\necho two'],
      args: ['--since', '24h'],
      env: { LEVEL: 3 },
      secretEnv: { TOKEN: { secret: 'report', key: 'token' } },
      resources: { memory: '64Mi' },
      schedule: '0 9 * * 1-5',
      timeZone: 'Europe/Berlin',
      backoffLimit: 2,
      suspend: false,
    },
  };
  const out = run({
    values: `v.formValuesOf(${JSON.stringify(stored)})`,
    again: `v.definitionOf(v.formValuesOf(${JSON.stringify(stored)}), 'shop', ${JSON.stringify(stored)})`,
    changed: `v.definitionOf({ ...v.formValuesOf(${JSON.stringify(stored)}), source: 'template', template: 'web', backoffLimit: '', startingDeadlineSeconds: ' 60 ', timeZone: '' }, 'shop', ${JSON.stringify(stored)})`,
    fresh: `v.definitionOf({ ...v.newFormValues({ templates: ['web'], timeZone: 'UTC' }), name: 'nightly', args: 'a\\n\\nb\\n', env: [{ name: 'A', value: '1' }, { name: '', value: '' }] }, 'shop')`,
    typo: `v.definitionOf({ ...v.newFormValues({ templates: [], timeZone: '' }), name: 'x', image: 'i:1', backoffLimit: 'two' }, 'shop')`,
  });
  const values = out.values as Record<string, unknown>;
  // An item with a line break cannot be one line: the field holds JSON.
  expect(values.command).toBe('["sh","-c","echo one\\necho two"]');
  expect(values.args).toBe('--since\n24h');
  expect(values.env).toEqual([{ name: 'LEVEL', value: '3' }]);
  expect(out.again).toEqual({
    ...stored,
    spec: { ...stored.spec, env: { LEVEL: '3' } },
  });
  const changed = out.changed as typeof stored & { spec: Record<string, unknown> };
  expect(changed.spec.template).toBe('web');
  expect(changed.spec.image).toBeUndefined();
  expect(changed.spec.backoffLimit).toBeUndefined();
  expect(changed.spec.timeZone).toBeUndefined();
  expect(changed.spec.startingDeadlineSeconds).toBe(60);
  expect(changed.spec.secretEnv).toEqual(stored.spec.secretEnv);
  expect(changed.metadata.labels).toEqual({ team: 'data' });
  expect(out.fresh).toEqual({
    apiVersion: API_VERSION,
    kind: 'CronJob',
    metadata: { name: 'nightly', project: 'shop' },
    spec: {
      template: 'web',
      args: ['a', 'b'],
      env: { A: '1' },
      schedule: '0 9 * * 1-5',
      timeZone: 'UTC',
    },
  });
  for (const definition of [out.again, out.changed, out.fresh])
    expect(parseDefinition(definition)).toMatchObject({ ok: true });
  // Not a number: passed on as typed, for the API to name.
  expect((out.typo as { spec: Record<string, unknown> }).spec.backoffLimit).toBe('two');
  const typo = parseDefinition(out.typo);
  expect(typo.ok).toBe(false);
  expect(JSON.stringify(typo)).toContain('backoffLimit');
});

test("the console's apiVersion is the definitions' own", () => {
  expect(run({ apiVersion: 'v.API_VERSION' }).apiVersion).toBe(API_VERSION);
});
