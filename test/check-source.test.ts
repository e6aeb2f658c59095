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
    },
  ]);
});

test('without an interpreter a check is a 503 saying what to set', async () => {
  const missing = await problemOf(
    new SourceChecker('/nonexistent/python3').check(pythonFunction('shop', { code: HANDLER })),
  );
  expect(missing.status).toBe(503);
  expect(missing.detail).toMatch(/"\/nonexistent\/python3".*set HKS_PYTHON/s);
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
