import { API_VERSION, ApplicationDefinition, checkDefinitions } from '../constructs';
import { SourceChecker } from '../api/check-source';
import { FairSlots } from '../api/fair-slots';
import { Problem } from '../api/problem';

const PYTHON = process.env.HKS_PYTHON ?? 'python3';

function pythonFunction(
  project: string,
  source: { code: string } | { files: Record<string, string> },
): ApplicationDefinition {
  const document = {
    apiVersion: API_VERSION,
    kind: 'Function',
    metadata: { name: 'fn', project },
    spec: { runtime: 'python3.12', ...source },
  };
  return checkDefinitions([{ document, source: { file: 'test', document: 1 } }])[0].definition;
}

function nodeFunction(project: string, files: Record<string, string>): ApplicationDefinition {
  const document = {
    apiVersion: API_VERSION,
    kind: 'Function',
    metadata: { name: 'fn', project },
    spec: { runtime: 'nodejs20', files },
  };
  return checkDefinitions([{ document, source: { file: 'test', document: 1 } }])[0].definition;
}

const HANDLER = 'def handler(event, context):\n    return event\n';
/** 100 000 string literals with an invalid escape: one warning each, megabytes of them. */
const NOISY = `x = ${'"\\d"'.repeat(1000)}\n`.repeat(100);
/** 225 000 lines: over a second to compile, and about 300 MB. */
const HEAVY = 'x = 1\n'.repeat(150_000);

async function problemOf(check: Promise<void>): Promise<Problem> {
  const error = await check.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Problem)) throw new Error(`expected a Problem, got ${String(error)}`);
  return error;
}

const checkers: SourceChecker[] = [];
function checker(options: ConstructorParameters<typeof SourceChecker>[1] = {}): SourceChecker {
  const created = new SourceChecker(PYTHON, options);
  checkers.push(created);
  return created;
}
afterAll(() => checkers.forEach((c) => c.close()));

test('a valid source passes; a syntax error is a 400 naming the file, line and excerpt', async () => {
  const sources = checker();
  await sources.check(pythonFunction('shop', { code: HANDLER }));
  const problem = await problemOf(
    sources.check(
      pythonFunction('shop', { files: { 'main.py': HANDLER, 'util.py': 'def f(:\n' } }),
    ),
  );
  expect(problem.status).toBe(400);
  expect(problem.errors).toEqual([
    {
      path: 'spec.files.util.py',
      message: expect.stringMatching(/^SyntaxError: .*\(util\.py line 1\)\ndef f\(:\n +\^$/),
      line: 1,
    },
  ]);
});

test('each error gives its line as a number too, the message unchanged, for an editor to mark it', async () => {
  const sources = checker();
  const python = await problemOf(
    sources.check(
      pythonFunction('shop', {
        code: 'import json\n\ndef handler(event, context:\n    return 1\n',
      }),
    ),
  );
  expect(python.errors).toEqual([
    {
      path: 'spec.code',
      message: expect.stringMatching(/^SyntaxError: .*\(main\.py line 3\)\ndef handler/),
      line: 3,
    },
  ]);
  const node = await problemOf(
    sources.check(
      nodeFunction('shop', { 'index.js': '// greet\n\n\nexports.handler = (e) => e +;\n' }),
    ),
  );
  expect(node.errors).toEqual([
    {
      path: 'spec.files.index.js',
      message: expect.stringMatching(/^SyntaxError: Unexpected token ';' \(index\.js line 4\)/),
      line: 4,
    },
  ]);
});

test('without an interpreter of the version a check is a 503 naming what was found', async () => {
  // No Python is 3.0: each candidate is refused with what it is.
  const missing = await problemOf(
    checker({ version: '3.0', interpreters: ['/nonexistent/python3', PYTHON] }).check(
      pythonFunction('shop', { code: HANDLER }),
    ),
  );
  expect(missing.status).toBe(503);
  expect(missing.detail).toMatch(
    /"\/nonexistent\/python3" did not start.*; "[^"]+" is Python 3\.\d+\.\d+; set HKS_PYTHON to a Python 3\.0 interpreter/s,
  );
});

describe('Python is checked with the grammar of the runtime, 3.12, whatever HKS_PYTHON is', () => {
  test.each([
    ['PEP 695 type alias', 'type Pair[T] = tuple[T, T]\n'],
    ['PEP 695 generic function', 'def first[T](xs: list[T]) -> T:\n    return xs[0]\n'],
    ['PEP 701 quotes reused in an f-string', 'd = {"k": 1}\ns = f"{d["k"]}"\n'],
    ['PEP 701 backslash in an f-string', "xs = ['a']\ns = f\"{'\\n'.join(xs)}\"\n"],
    ['PEP 701 nested f-strings', 's = f"{f"{f"{1}"}"}"\n'],
  ])('%s passes', async (_name, code) => {
    await checker().check(pythonFunction('grammar-312', { code: code + HANDLER }));
  });

  test.each([
    ['PEP 696 type parameter default (3.13)', 'def f[T = int](x: T) -> T:\n    return x\n'],
    [
      'PEP 758 except* types without parentheses (3.14)',
      'try:\n    pass\nexcept* ValueError, TypeError:\n    pass\n',
    ],
  ])('%s fails, naming the version that checked it', async (_name, code) => {
    const problem = await problemOf(
      checker().check(pythonFunction('grammar-312', { code: code + HANDLER })),
    );
    expect(problem.status).toBe(400);
    expect(problem.errors?.[0]?.message).toMatch(/^SyntaxError: .*\(main\.py line \d\)/);
    expect(problem.detail).toMatch(
      /\nChecked with Python 3\.12\.\d+, the grammar of runtime python3\.12\.$/,
    );
  });
});

describe('deeply nested source is a 400 naming the file, never a 5xx', () => {
  const DEEP = 100_000;
  test.each([
    ['brackets', `x = ${'['.repeat(DEEP)}${']'.repeat(DEEP)}\n`, /too many nested parentheses/, 1],
    [
      'parentheses',
      `x = ${'('.repeat(DEEP)}1${')'.repeat(DEEP)}\n`,
      /too many nested parentheses/,
      1,
    ],
    // Python names no line for these.
    ['unary operators', `x = ${'-'.repeat(DEEP)}1\n`, /nesting too deep/, undefined],
    ['conditionals', `x = ${'1 if 1 else '.repeat(70_000)}1\n`, /nesting too deep/, undefined],
    ['attribute chains', `x = a${'.a'.repeat(DEEP)}\n`, /nesting too deep/, undefined],
  ])('python: %s', async (_name, code, message, line) => {
    const sources = checker();
    const problem = await problemOf(
      sources.check(
        pythonFunction('deep-source', { files: { 'main.py': HANDLER, 'deep.py': code } }),
      ),
    );
    expect(problem.status).toBe(400);
    expect(problem.errors).toEqual([
      { path: 'spec.files.deep.py', message: expect.stringMatching(message), line },
    ]);
    expect(problem.errors?.[0]?.message).toContain('(deep.py');
    await sources.check(pythonFunction('deep-source', { code: HANDLER })); // still serving
  });

  const NESTED_JS = `export const handler = () => ${'('.repeat(DEEP)}1${')'.repeat(DEEP)};\n`;
  test.each([
    ['CommonJS', { 'index.js': NESTED_JS.replace('export const handler', 'exports.handler') }],
    ['ES module (.mjs)', { 'index.mjs': NESTED_JS }],
  ])('javascript: %s', async (_name, files) => {
    const problem = await problemOf(checker().check(nodeFunction('deep-source', files)));
    expect(problem.status).toBe(400);
    const [file] = Object.keys(files);
    expect(problem.errors).toEqual([
      {
        path: `spec.files.${file}`,
        message: expect.stringMatching(
          new RegExp(`^RangeError: nesting too deep.*\\(${file.replace('.', '\\.')}\\)$`),
        ),
      },
    ]);
  });
});

describe('JavaScript is checked as Node loads it: CommonJS or ES module', () => {
  const MODULE =
    'import { sep } from "node:path";\nawait Promise.resolve();\nexport const handler = async (event) => ({ event, sep });\n';
  const TYPE_MODULE = JSON.stringify({ type: 'module' });

  test('a .js file under a package.json {"type": "module"} is an ES module; .mjs is one too', async () => {
    const sources = checker();
    await sources.check(
      nodeFunction('esm-check', { 'package.json': TYPE_MODULE, 'index.js': MODULE }),
    );
    await sources.check(nodeFunction('esm-check', { 'index.mjs': MODULE }));
    // The nearest package.json decides: a folder may go back to CommonJS.
    await sources.check(
      nodeFunction('esm-check', {
        'package.json': TYPE_MODULE,
        'index.js': 'import { f } from "./lib/f.cjs";\nexport const handler = f;\n',
        'lib/package.json': JSON.stringify({ type: 'commonjs' }),
        'lib/util.js': 'exports.g = () => 1;\n',
        'lib/f.cjs': 'exports.f = () => 1;\n',
      }),
    );
  });

  test('without one, import/export in a .js file is a 400 saying how to make it a module', async () => {
    const problem = await problemOf(
      checker().check(nodeFunction('esm-check', { 'index.js': MODULE })),
    );
    expect(problem.status).toBe(400);
    expect(problem.errors).toEqual([
      {
        path: 'spec.files.index.js',
        message: expect.stringMatching(
          /^SyntaxError: Cannot use import statement.*\.mjs or add a package\.json with \{"type": "module"\} \(index\.js line 1\)/s,
        ),
        line: 1,
      },
    ]);
  });

  test("a module's syntax error names the file, line and excerpt; a broken package.json is named", async () => {
    const sources = checker();
    const cases: Record<string, string>[] = [
      { 'package.json': TYPE_MODULE, 'index.js': MODULE + 'let x = (;\n' },
      { 'index.mjs': MODULE + 'let x = (;\n' },
    ];
    for (const files of cases) {
      const file = Object.keys(files).find((f) => f.startsWith('index')) ?? '';
      const problem = await problemOf(sources.check(nodeFunction('esm-check', files)));
      expect(problem.status).toBe(400);
      expect(problem.errors).toEqual([
        {
          path: `spec.files.${file}`,
          message: `SyntaxError: Unexpected token ';' (${file} line 4)\nlet x = (;\n         ^`,
          line: 4,
        },
      ]);
    }
    const manifest = await problemOf(
      sources.check(nodeFunction('esm-check', { 'package.json': '{type', 'index.js': MODULE })),
    );
    expect(manifest.status).toBe(400);
    expect(manifest.errors?.[0]).toEqual({
      path: 'spec.files.package.json',
      message: expect.stringMatching(/^not JSON .*expected a package\.json object/),
    });
  });
});

test('what a check prints reaches only its own problem, cut at the output limit', async () => {
  const sources = checker({ outputBytes: 2048 });
  const [noisy, quiet] = await Promise.all([
    problemOf(
      sources.check(
        pythonFunction('tenant-a', {
          files: { 'main.py': HANDLER, 'noisy.py': NOISY + 'y = (\n' },
        }),
      ),
    ),
    problemOf(
      sources.check(pythonFunction('tenant-b', { files: { 'main.py': 'x = "\\q"\ndef f(:\n' } })),
    ),
  ]);
  expect(quiet.detail).toContain('main.py:1: ');
  expect(quiet.detail).toContain("invalid escape sequence '\\q'");
  expect(quiet.detail).not.toContain('noisy.py');
  expect(quiet.detail).not.toContain("'\\d'");
  expect(noisy.detail).toContain('noisy.py:1: ');
  expect(noisy.detail).toContain('[cut at 2048 bytes]');
  expect(Buffer.byteLength(noisy.detail)).toBeLessThan(2048 + 500);
});

test('a check over the memory limit fails alone; the next check works', async () => {
  const sources = checker({ memoryBytes: 160 * 1024 * 1024 });
  const [heavy, normal] = await Promise.allSettled([
    sources.check(pythonFunction('tenant-a', { files: { 'main.py': HANDLER, 'big.py': HEAVY } })),
    sources.check(pythonFunction('tenant-b', { code: HANDLER })),
  ]);
  expect(normal.status).toBe('fulfilled');
  expect(heavy.status).toBe('rejected');
  const problem = (heavy as PromiseRejectedResult).reason as Problem;
  expect(problem.status).toBe(400);
  expect(problem.detail).toMatch(/^spec\.files\.big\.py: MemoryError: .*limit is 160 MiB/);
  await sources.check(pythonFunction('tenant-a', { code: HANDLER }));
  // The parser's own MemoryError (deep unary nesting) fails the same way.
  const unary = await problemOf(
    sources.check(pythonFunction('tenant-a', { code: `x = ${'-'.repeat(100_000)}1\n${HANDLER}` })),
  );
  expect(unary.status).toBe(400);
  await sources.check(pythonFunction('tenant-b', { code: HANDLER }));
});

test('a slow check stops at the time limit and does not hold up another project', async () => {
  const timeoutMs = 400;
  const sources = checker({ timeoutMs });
  await sources.check(pythonFunction('tenant-b', { code: HANDLER })); // one checker running
  const started = Date.now();
  const slow = problemOf(sources.check(pythonFunction('tenant-a', { code: HEAVY + HANDLER })));
  let slowDone = false;
  void slow.then(() => (slowDone = true));
  await new Promise((resolve) => setTimeout(resolve, 50)); // it is being compiled now
  await sources.check(pythonFunction('tenant-b', { code: HANDLER }));
  expect(slowDone).toBe(false);
  expect(Date.now() - started).toBeLessThan(timeoutMs);
  const problem = await slow;
  expect(problem.status).toBe(400);
  expect(problem.errors).toEqual([
    { path: 'spec.code', message: expect.stringContaining('longer than the limit of 0.4 s') },
  ]);
  expect(problem.detail).toContain('(main.py)');
  await sources.check(pythonFunction('tenant-a', { code: HANDLER }));
});

test('a project holds at most all but one slot, and waiting projects take turns', async () => {
  const slots = new FairSlots(2, 1);
  const order: string[] = [];
  const releases = new Map<string, (() => void)[]>();
  const hold = (tenant: string) =>
    slots.run(tenant, async () => {
      order.push(tenant);
      await new Promise<void>((release) =>
        releases.set(tenant, [...(releases.get(tenant) ?? []), release]),
      );
    });
  const release = async (tenant: string) => {
    releases.get(tenant)?.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  const runs = [hold('a'), hold('a'), hold('a'), hold('b'), hold('c'), hold('c')];
  await new Promise((resolve) => setImmediate(resolve));
  expect(order).toEqual(['a', 'b']);
  await release('b'); // a holds its one slot: c goes, though a's burst came first
  expect(order).toEqual(['a', 'b', 'c']);
  await release('a'); // a waited longest
  await release('c');
  expect(order).toEqual(['a', 'b', 'c', 'a', 'c']);
  await release('a');
  await release('c');
  await release('a');
  await Promise.all(runs);
  expect(order).toEqual(['a', 'b', 'c', 'a', 'c', 'a']);
});
