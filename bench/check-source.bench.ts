/**
 * `npm run bench:check-source` — the Python syntax check of function source: p50/p95 of a
 * normal check, then the wait of one project's normal checks while another project's
 * pathological check (20 MB of warnings, a file that takes seconds to compile, a parser
 * MemoryError) runs at the same time, and what each of them got back.
 *
 * Before the checker pool (one shared process, Python 3.12): a normal check p50 1.2 ms; during
 * the warnings flood the other project waited 9.4 s, and the parser MemoryError gave every
 * waiting check a 503 carrying 12.4 MB of the flood's warnings. With it: p50 1.1 ms, waits
 * p95 1.4 ms and at most 25 ms (starting the second process) in every case.
 */
import { performance } from 'node:perf_hooks';
import { API_VERSION, ApplicationDefinition, checkDefinitions } from '../constructs';
import { SourceChecker } from '../api/check-source';
import { Problem } from '../api/problem';

const PYTHON = process.env.HKS_PYTHON ?? 'python3';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);

function functionDefinition(project: string, code: string): ApplicationDefinition {
  const document = {
    apiVersion: API_VERSION,
    kind: 'Function',
    metadata: { name: 'fn', project },
    spec: { runtime: 'python3.12', code },
  };
  return checkDefinitions([{ document, source: { file: 'bench', document: 1 } }])[0].definition;
}

const NORMAL = functionDefinition(
  'tenant-b',
  Array.from(
    { length: 40 },
    (_, i) => `def step_${i}(event):\n    return {"n": ${i}, "items": [x * 2 for x in event]}\n`,
  ).join('') + 'def handler(event, context):\n    return step_0(event)\n',
);

/** Another project's inputs, each within the 900 KiB source limit. */
const PATHOLOGICAL: Record<string, ApplicationDefinition> = {
  // 220 000 string literals with an invalid escape, a warning each (over 13 MB of them), and
  // a syntax error at the end: the problem carries what the check printed.
  'warnings flood': functionDefinition(
    'tenant-a',
    `x = ${'"\\d"'.repeat(1000)}\n`.repeat(220) + 'def handler(e, c):\n    return (1\n',
  ),
  // Comprehensions make CPython 3.11's compiler quadratic: about 8 s for 630 KiB.
  'slow compile': functionDefinition(
    'tenant-a',
    Array.from({ length: 15_000 }, (_, i) => `def f${i}(a):\n    return [i for i in a]\n`).join(
      '',
    ) + 'def handler(e, c):\n    return 1\n',
  ),
  // 100 000 unary minus signs: the parser raises MemoryError.
  'parser MemoryError': functionDefinition(
    'tenant-a',
    `x = ${'-'.repeat(100_000)}1\ndef handler(e, c):\n    return 1\n`,
  ),
};

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

function outcome(result: PromiseSettledResult<void>): string {
  if (result.status === 'fulfilled') return 'ok';
  const error: unknown = result.reason;
  if (!(error instanceof Problem)) return `thrown ${String(error)}`;
  const first = error.detail.split('\n')[0].slice(0, 140);
  return `${error.status} ${error.title}, detail ${error.detail.length} chars: ${first}`;
}

async function timed(checker: SourceChecker, definition: ApplicationDefinition) {
  const start = performance.now();
  const result = (await Promise.allSettled([checker.check(definition)]))[0];
  return { ms: performance.now() - start, result };
}

async function main(): Promise<void> {
  const keepAlive = setInterval(() => undefined, 1000); // checker processes are unref'd
  const checker = new SourceChecker(PYTHON);
  await timed(checker, NORMAL); // starts the interpreter
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) times.push((await timed(checker, NORMAL)).ms);
  times.sort((a, b) => a - b);
  console.log(
    `normal check (${NORMAL.kind}, ${ROUNDS} rounds): p50 ${percentile(times, 50).toFixed(2)} ms, p95 ${percentile(times, 95).toFixed(2)} ms`,
  );

  for (const [name, definition] of Object.entries(PATHOLOGICAL)) {
    const other = timed(checker, definition);
    await new Promise((resolve) => setTimeout(resolve, 20)); // it is being checked now
    const waits: number[] = [];
    const outcomes = new Set<string>();
    let done = false;
    void other.then(() => (done = true));
    // The other project's normal checks, one after another, until the pathological one ends.
    do {
      const normal = await timed(checker, NORMAL);
      waits.push(normal.ms);
      outcomes.add(outcome(normal.result));
    } while (!done && waits.length < 1000);
    const slow = await other;
    const sorted = [...waits].sort((a, b) => a - b);
    console.log(
      `${name}: took ${slow.ms.toFixed(0)} ms, got ${outcome(slow.result)}\n` +
        `  concurrent normal checks: ${waits.length}, first waited ${waits[0].toFixed(1)} ms, ` +
        `p50 ${percentile(sorted, 50).toFixed(1)} ms, p95 ${percentile(sorted, 95).toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms; got ${[...outcomes].join(' | ')}`,
    );
  }
  const after = await timed(checker, NORMAL);
  console.log(`normal check afterwards: ${after.ms.toFixed(1)} ms, ${outcome(after.result)}`);
  checker.close();
  clearInterval(keepAlive);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
