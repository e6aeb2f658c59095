/**
 * Bounded load for the benches: a fixed number of calls, at most `concurrency` at once, each
 * timed and counted by outcome. Nothing here asserts; the caller decides what a figure means.
 */

/** What one call ended with: an HTTP status, or `error` when no answer came. */
export type Outcome = number | 'error';

/** Figures of one bounded run. */
export interface LoadFigures {
  readonly calls: number;
  readonly concurrency: number;
  readonly wallMs: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Calls by outcome, e.g. `{ "200": 1998, "503": 2 }`. */
  readonly byOutcome: Readonly<Record<string, number>>;
}

/** The `p`th percentile (nearest rank) of `values`; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Counts of each outcome. */
export function countOutcomes(outcomes: readonly Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) counts[String(outcome)] = (counts[String(outcome)] ?? 0) + 1;
  return counts;
}

/**
 * Runs `call(i)` for i in 0..calls-1 with at most `concurrency` in flight; every call is timed.
 * @param call resolves with the outcome; a rejection counts as `error`
 */
export async function boundedRun(
  calls: number,
  concurrency: number,
  call: (i: number) => Promise<Outcome>,
): Promise<LoadFigures> {
  const times: number[] = [];
  const outcomes: Outcome[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < calls) {
      const i = next++;
      const t = performance.now();
      outcomes.push(await call(i).catch((): Outcome => 'error'));
      times.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, worker));
  const wallMs = performance.now() - started;
  return {
    calls,
    concurrency,
    wallMs: Math.round(wallMs),
    perSecond: Math.round((calls / wallMs) * 1000 * 10) / 10,
    p50Ms: Math.round(percentile(times, 50)),
    p95Ms: Math.round(percentile(times, 95)),
    p99Ms: Math.round(percentile(times, 99)),
    maxMs: Math.round(Math.max(0, ...times)),
    byOutcome: countOutcomes(outcomes),
  };
}

/** One line of figures: throughput, percentiles and outcomes. */
export function figuresLine(label: string, f: LoadFigures): string {
  const outcomes = Object.entries(f.byOutcome)
    .map(([status, n]) => `${status}×${n}`)
    .join(' ');
  return (
    `${label.padEnd(36)} ${String(f.calls).padStart(5)} calls, ${String(f.concurrency).padStart(3)} at once: ` +
    `${f.perSecond}/s, p50 ${f.p50Ms} ms, p95 ${f.p95Ms} ms, p99 ${f.p99Ms} ms, max ${f.maxMs} ms; ${outcomes}`
  );
}
