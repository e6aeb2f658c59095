import { API_VERSION, ApplicationDefinition, checkDefinitions } from '../constructs';
import { SourceChecker } from '../api/check-source';
import { Problem, problemDocument } from '../api/problem';
import { PythonCheckPool } from '../api/python-check-pool';
import { JavaScriptChecker } from '../api/javascript-check';
import { SourceCheckCache } from '../api/source-check-cache';

const PYTHON = process.env.HKS_PYTHON ?? 'python3';

function sourceFunction(
  project: string,
  runtime: 'python3.12' | 'nodejs20',
  code: string,
  handler?: string,
): ApplicationDefinition {
  const document = {
    apiVersion: API_VERSION,
    kind: 'Function',
    metadata: { name: 'fn', project },
    spec: { runtime, code, ...(handler === undefined ? {} : { handler }) },
  };
  return checkDefinitions([{ document, source: { file: 'test', document: 1 } }])[0].definition;
}

async function problemOf(check: Promise<void>): Promise<Problem> {
  const error = await check.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Problem)) throw new Error(`expected a Problem, got ${String(error)}`);
  return error;
}

// Spies that call through: they count the real checks made, nothing is imitated.
const pythonChecks = jest.spyOn(PythonCheckPool.prototype, 'check');
const javascriptChecks = jest.spyOn(JavaScriptChecker.prototype, 'check');
const checkers: SourceChecker[] = [];
function checker(...args: ConstructorParameters<typeof SourceChecker> | []): SourceChecker {
  const created = new SourceChecker(args[0] ?? PYTHON, args[1], args[2]);
  checkers.push(created);
  return created;
}
beforeEach(() => {
  pythonChecks.mockClear();
  javascriptChecks.mockClear();
});
afterAll(() => checkers.forEach((c) => c.close()));

const BROKEN = 'import json\n\ndef handler(event, context:\n    return 1\n';

test('a kept refusal is the same 400 problem as the first, without checking again', async () => {
  const sources = checker();
  const first = await problemOf(sources.check(sourceFunction('cachea', 'python3.12', BROKEN)));
  const again = await problemOf(sources.check(sourceFunction('cachea', 'python3.12', BROKEN)));
  expect(first.status).toBe(400);
  expect(again).not.toBe(first);
  expect(problemDocument(again, '/x')).toEqual(problemDocument(first, '/x'));
  expect(again.errors).toEqual(first.errors);
  expect(pythonChecks).toHaveBeenCalledTimes(1);
  // Accepted code is kept too.
  const good = sourceFunction('cachea', 'python3.12', 'def handler(event):\n    return event\n');
  await sources.check(good);
  await sources.check(good);
  expect(pythonChecks).toHaveBeenCalledTimes(2);
});

test('another handler, runtime or project is checked on its own', async () => {
  const sources = checker();
  const code = 'def handler(event):\n    return event\n\ndef other(a, b, c, d):\n    return a\n';
  await sources.check(sourceFunction('cacheb', 'python3.12', code));
  const other = await problemOf(
    sources.check(sourceFunction('cacheb', 'python3.12', code, 'main.other')),
  );
  expect(other.status).toBe(400);
  expect(other.detail).toContain('other');
  // Valid JavaScript, a syntax error as Python: the node verdict is not the python one.
  const javascript = 'exports.handler = (event) => event;\n';
  await sources.check(sourceFunction('cacheb', 'nodejs20', javascript));
  const asPython = await problemOf(
    sources.check(sourceFunction('cacheb', 'python3.12', javascript)),
  );
  expect(asPython.errors[0].message).toMatch(/^SyntaxError/);
  expect(pythonChecks).toHaveBeenCalledTimes(3);
  expect(javascriptChecks).toHaveBeenCalledTimes(1);
  // The same code in another project is checked again: a kept verdict says nothing across projects.
  await problemOf(sources.check(sourceFunction('cachec', 'python3.12', javascript)));
  expect(pythonChecks).toHaveBeenCalledTimes(4);
});

test('the bounds hold: at most maxEntries verdicts and maxBytes, least recently used out first', async () => {
  const sources = checker();
  const problems = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      problemOf(
        sources.check(sourceFunction('cached', 'python3.12', `${'x = 1\n'.repeat(i)}def f(:\n`)),
      ),
    ),
  );
  const byEntries = new SourceCheckCache({ maxEntries: 3 });
  problems.forEach((problem, i) => byEntries.set(`k${i}`, { accepted: false, problem }));
  expect(byEntries.size).toBe(3);
  expect(byEntries.get('k0')).toBeUndefined();
  expect(byEntries.get('k5')).toEqual({ accepted: false, problem: problems[5] });

  const oneBytes = new SourceCheckCache();
  oneBytes.set('k', { accepted: false, problem: problems[0] });
  const maxBytes = Math.floor(oneBytes.bytes * 2.5);
  const byBytes = new SourceCheckCache({ maxBytes });
  for (let i = 0; i < 50; i++) {
    byBytes.set(`k${i}`, { accepted: false, problem: problems[i % problems.length] });
    expect(byBytes.bytes).toBeLessThanOrEqual(maxBytes);
  }
  expect(byBytes.size).toBe(2);
  // A verdict larger than the whole bound is not kept.
  const tiny = new SourceCheckCache({ maxBytes: 100 });
  tiny.set('k', { accepted: false, problem: problems[0] });
  expect(tiny.size).toBe(0);
  console.log(
    `one refusal counts ${oneBytes.bytes} B; an acceptance ${(() => {
      const c = new SourceCheckCache();
      c.set(SourceCheckCache.keyOf(['x']), { accepted: true });
      return c.bytes;
    })()} B`,
  );
});

test('bad bounds are refused naming the field, the value and what is expected', () => {
  expect(() => new SourceCheckCache({ maxEntries: 0 })).toThrow(
    'SourceCheckCache maxEntries: given 0, expected a positive integer',
  );
  expect(() => new SourceCheckCache({ maxBytes: 1.5 })).toThrow(
    'SourceCheckCache maxBytes: given 1.5, expected a positive integer',
  );
});

test('keys keep their parts apart', () => {
  expect(SourceCheckCache.keyOf(['ab', 'c'])).not.toBe(SourceCheckCache.keyOf(['a', 'bc']));
  expect(SourceCheckCache.keyOf(['a'])).toBe(SourceCheckCache.keyOf(['a']));
});
