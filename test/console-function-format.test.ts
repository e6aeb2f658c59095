import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { API_VERSION, DEFAULT_HANDLERS, FUNCTION_RUNTIMES } from '../constructs';
import { splitLogTail } from '../runtimes/log-records';

/*
 * The functions pages' pure helpers (console/app/components/function-format.js), ES modules the
 * browser runs as they are, run by Node in a child process (jest's transform is for .ts). What
 * they repeat of the platform (apiVersion, handlers, the invocation log header) is checked
 * against the platform's own modules.
 */

const MODULE = pathToFileURL(
  join(__dirname, '..', 'console', 'app', 'components', 'function-format.js'),
).href;

/** Evaluates each expression with the module's exports as `f`. */
function run(expressions: Record<string, string>): Record<string, unknown> {
  const script = `
    import * as f from ${JSON.stringify(MODULE)};
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

test("the definition's apiVersion, runtimes and default handlers are the platform's", () => {
  const out = run({
    apiVersion: 'f.API_VERSION',
    handlers:
      'Object.fromEntries(Object.entries(f.SOURCE_RUNTIMES).map(([k, r]) => [k, r.handler]))',
  });
  expect(out.apiVersion).toBe(API_VERSION);
  expect(out.handlers).toEqual(DEFAULT_HANDLERS);
  for (const runtime of Object.keys(out.handlers as object))
    expect(FUNCTION_RUNTIMES).toContain(runtime);
});

test("a source error's line: its line member, else the (file line N) of its message", () => {
  expect(
    run({
      given: `f.sourceErrorLine({ message: 'SyntaxError: x (main.py line 3)', line: 7 })`,
      parsed: `f.sourceErrorLine({ message: "SyntaxError: '{' was never closed (main.py line 12)\\n  return {\\n         ^" })`,
      none: `f.sourceErrorLine({ message: 'RangeError: nesting too deep (index.js)' }) ?? 'none'`,
      split: `f.splitSourceMessage('SyntaxError: x (main.py line 3)\\nreturn (\\n       ^')`,
      alone: `f.splitSourceMessage('MemoryError: too big (big.py)')`,
    }),
  ).toEqual({
    given: 7,
    parsed: 12,
    none: 'none',
    split: { summary: 'SyntaxError: x (main.py line 3)', excerpt: 'return (\n       ^' },
    alone: { summary: 'MemoryError: too big (big.py)' },
  });
});

test('traffic rows: the PUT body, and what the page refuses before sending', () => {
  const rows = (r: [string, string, string][]) =>
    JSON.stringify(r.map(([target, percent, tag]) => ({ target, percent, tag })));
  expect(
    run({
      body: `f.trafficBody(${rows([
        ['greet-00002', '50', ' canary '],
        ['@latest', '50', ''],
      ])})`,
      fine: `f.trafficProblems(${rows([
        ['greet-00002', '50', 'canary'],
        ['@latest', '50', ''],
      ])})`,
      sum: `f.trafficProblems(${rows([
        ['greet-00002', '50', ''],
        ['greet-00001', '40', ''],
      ])})`,
      fields: `f.trafficProblems(${rows([
        ['greet-00002', '50.5', 'Canary'],
        ['', '49', 'b'],
        ['greet-00001', '0', 'b'],
      ])})`,
      rowsOf: `f.trafficRows([{ revision: 'greet-00001', latestRevision: true, percent: 100 }, { revision: 'greet-00001', latestRevision: false, tag: 'old', percent: 0 }])`,
      words: `f.trafficInWords([{ revision: 'greet-00001', latestRevision: true, percent: 90 }, { revision: 'greet-00002', latestRevision: false, tag: 'canary', percent: 10 }])`,
    }),
  ).toEqual({
    body: {
      traffic: [
        { revision: 'greet-00002', tag: 'canary', percent: 50 },
        { latestRevision: true, percent: 50 },
      ],
    },
    fine: [],
    sum: [{ path: 'traffic', message: 'given percentages summing to 90, expected 100' }],
    fields: [
      {
        path: 'traffic[0].percent',
        message: 'given "50.5", expected a whole number from 0 to 100',
      },
      {
        path: 'traffic[0].tag',
        message: 'given "Canary", expected a lower-case DNS label such as canary',
      },
      {
        path: 'traffic[1].revision',
        message: 'missing, expected a revision or the latest ready revision',
      },
      { path: 'traffic[2].tag', message: 'given "b" twice, expected each tag once' },
    ],
    rowsOf: [
      { target: '@latest', percent: '100', tag: '' },
      { target: 'greet-00001', percent: '0', tag: 'old' },
    ],
    words: 'latest (greet-00001) 90%, greet-00002 10% (canary)',
  });
});

test("the invocation's log header is read as the SDK reads it (runtimes/log-records.ts)", () => {
  const record = JSON.stringify({
    level: 'info',
    message: 'invocation',
    function: 'greet',
    requestId: 'r1',
    status: 200,
    durationMs: 1.5,
  });
  const cases = {
    withRecord: `greeting Ada\nünïcode ✓\n${record}\n`,
    onlyRecord: `${record}\n`,
    noRecord: 'a line that is no record\n',
    lookalike: `${JSON.stringify({ message: 'invocation' })}\n`,
  };
  const base64 = Object.fromEntries(
    Object.entries(cases).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]),
  );
  const out = run(
    Object.fromEntries(
      Object.entries(base64).map(([k, v]) => [k, `f.decodeLogTail(${JSON.stringify(v)})`]),
    ),
  );
  for (const [k, v] of Object.entries(base64))
    expect({ [k]: out[k] }).toEqual({ [k]: JSON.parse(JSON.stringify(splitLogTail(v))) });
  expect(out.withRecord).toMatchObject({
    output: 'greeting Ada\nünïcode ✓\n',
    record: { status: 200 },
  });
});

test('bodies: JSON checked before sending, answers indented when they are JSON', () => {
  expect(
    run({
      ok: `f.jsonProblem('{"name": "Ada"}') ?? 'ok'`,
      bad: `f.jsonProblem('{name: Ada}')`,
      pretty: `f.readableBody('{"a":[1,2]}', 'application/json; charset=utf-8')`,
      text: `f.readableBody('{"a":1}', 'text/plain')`,
      broken: `f.readableBody('{"a":', 'application/json')`,
    }),
  ).toEqual({
    ok: 'ok',
    bad: expect.stringMatching(
      /^not JSON \(.+\); expected a JSON value such as \{"name": "Ada"\}, or choose Text$/,
    ),
    pretty: '{\n  "a": [\n    1,\n    2\n  ]\n}',
    text: '{"a":1}',
    broken: '{"a":',
  });
});
