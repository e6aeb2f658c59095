/**
 * `npm run bench:synth [-- --runs 5]` — synthesizes 1000 generated definitions (100
 * StatelessApplications, 900 CronJobs in 10 projects) through the project's constructs, and the
 * same workloads built with cdk8s-plus-28 directly as the baseline: first in one process
 * (median of BENCH_ROUNDS, default 7; goals: ratio <= 1.25, under 2 s), then as whole
 * processes the way a user runs them (synth-process.ts: goals 1.25x for 1000 definitions,
 * 1.5x for one small project). Prints figures only.
 */
import { App } from 'cdk8s';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProjectCharts, checkDefinitions } from '../constructs';
import { baseline } from './cdk8s-plus-baseline';
import { benchWholeProcessSynth } from './synth-process';
import { definitions, PROJECTS } from './synth-workload';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

const outputBytes = new Map<(outdir: string) => void, number>();

function time(run: (outdir: string) => void): number {
  const outdir = mkdtempSync(join(tmpdir(), 'hks-bench-'));
  const start = process.hrtime.bigint();
  run(outdir);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const bytes = readdirSync(outdir).reduce((sum, f) => sum + statSync(join(outdir, f)).size, 0);
  outputBytes.set(run, bytes);
  rmSync(outdir, { recursive: true, force: true });
  return ms;
}

function kib(bytes = 0): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Keys in order, so that two builders' objects compare by content alone. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  return value;
}

/** Whether the baseline builds the very objects the constructs do: the comparison's premise. */
function compareObjects(ours: App, theirs: App): string {
  const byKey = (app: App) =>
    new Map(
      app.charts
        .flatMap((chart) => chart.toJson() as { kind: string; metadata: Record<string, string> }[])
        .map((o) => [
          `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`,
          JSON.stringify(canonical(o)),
        ]),
    );
  const a = byKey(ours);
  const b = byKey(theirs);
  const differing = [...a].filter(([key, json]) => b.get(key) !== json).map(([key]) => key);
  return differing.length === 0 && a.size === b.size
    ? `identical (${a.size} objects)`
    : `NOT identical: ${a.size} vs ${b.size} objects, ${differing.length} differ (first: ${differing[0]})`;
}

async function main(): Promise<void> {
  const docs = definitions();
  const inputs = docs.map((document, i) => ({
    document,
    source: { file: 'bench', document: i + 1 },
  }));
  const checked = checkDefinitions(inputs).map((c) => c.definition);
  const objects = {
    stateless: checked.filter((d) => d.kind === 'StatelessApplication').length,
    cronJobs: checked.filter((d) => d.kind === 'CronJob').length,
  };

  const runs = {
    validate: [] as number[],
    ours: [] as number[],
    oursTotal: [] as number[],
    baseline: [] as number[],
  };
  const measureOurs = (outdir: string) => {
    const app = new App({ outdir });
    buildProjectCharts(app, checked);
    app.synth();
  };
  const measureBaseline = (outdir: string) => {
    const app = new App({ outdir });
    baseline(app, checked);
    app.synth();
  };
  const sameObjects = (() => {
    const ours = new App({ outdir: '/nonexistent' });
    buildProjectCharts(ours, checked);
    const theirs = new App({ outdir: '/nonexistent' });
    baseline(theirs, checked);
    return compareObjects(ours, theirs);
  })();
  // One warm-up round each (module loading, JIT), then alternate to share any machine noise.
  time(measureOurs);
  time(measureBaseline);
  for (let round = 0; round < ROUNDS; round++) {
    const validate = time(() => checkDefinitions(inputs));
    const ours = time(measureOurs);
    runs.validate.push(validate);
    runs.ours.push(ours);
    runs.oursTotal.push(validate + ours);
    runs.baseline.push(time(measureBaseline));
  }
  const m = {
    validate: median(runs.validate),
    ours: median(runs.ours),
    oursTotal: median(runs.oursTotal),
    baseline: median(runs.baseline),
  };
  const rows = [
    [
      'definitions',
      `${objects.stateless} StatelessApplications + ${objects.cronJobs} CronJobs in ${PROJECTS} projects`,
    ],
    ['rounds', `${ROUNDS} (median reported)`],
    ['objects of the baseline and of hks', sameObjects],
    [
      'baseline: cdk8s-plus-28 directly',
      `${m.baseline.toFixed(0)} ms  (${kib(outputBytes.get(measureBaseline))} of YAML)`,
    ],
    [
      'hks constructs + synth',
      `${m.ours.toFixed(0)} ms  (${(m.ours / m.baseline).toFixed(2)}x baseline, goal <= 1.25x; ${kib(outputBytes.get(measureOurs))} of YAML)`,
    ],
    ['hks validation of 1000 definitions', `${m.validate.toFixed(0)} ms`],
    [
      'hks total: validate + constructs + synth',
      `${m.oursTotal.toFixed(0)} ms  (${(m.oursTotal / m.baseline).toFixed(2)}x baseline; goal < 2000 ms)`,
    ],
  ];
  for (const [label, value] of rows) process.stdout.write(`${label.padEnd(42)} ${value}\n`);
  process.stdout.write('\n');
  const runsFlag = process.argv.indexOf('--runs');
  await benchWholeProcessSynth(runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 5);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
