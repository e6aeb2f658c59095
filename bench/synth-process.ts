/**
 * Whole-process synth, as a user runs it, against plain cdk8s-plus-28 scripts in the same run:
 *
 * - 1000 definitions (the workload of synth-workload.ts, written as one YAML file per project):
 *   `npm run synth -- --apps <dir>` and `node lib/cli/synth.js --apps <dir>` (npm's own start
 *   apart) against `node <baseline>.js`, the cdk8s-plus-baseline.ts chart transpiled to plain
 *   JavaScript, reading the same definitions as JSON;
 * - one small project (apps/shop.yaml): the same two commands against a plain node script
 *   printing one chart (a Deployment, a Service and a CronJob).
 *
 * Runs alternate, so the machine's noise falls on every variant alike; medians are printed.
 * Needs `npm run build` (the compiled lib/). Goals: 1000 definitions within 1.25x the baseline,
 * the small project within 1.5x the plain script.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { stringify } from 'yaml';
import type { ApplicationDefinition } from '../constructs';
import { definitions } from './synth-workload';

const ROOT = join(__dirname, '..');

/** A plain script printing one chart, as someone without the platform would write it. */
const ONE_CHART_SCRIPT = `
const { App, Chart } = require('cdk8s');
const kplus = require('cdk8s-plus-28');
const app = new App();
const chart = new Chart(app, 'shop', { namespace: 'shop' });
const api = new kplus.Deployment(chart, 'api', {
  replicas: 2,
  containers: [{ image: 'ghcr.io/acme/shop-api:1.4.2', portNumber: 8080, securityContext: { ensureNonRoot: true } }],
});
api.exposeViaService({ ports: [{ port: 8080 }] });
new kplus.CronJob(chart, 'nightly-report', {
  schedule: require('cdk8s').Cron.schedule({ minute: '0', hour: '3' }),
  containers: [{ image: 'ghcr.io/acme/shop-api:1.4.2', args: ['report.js'] }],
});
process.stdout.write(app.synthYaml());
`;

/** One way of running a synth: the command and its arguments, from the repository root. */
interface Variant {
  readonly label: string;
  readonly command: string;
  readonly args: readonly string[];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Runs a command to its end; its wall time in ms, or a failure with its output. */
function timed(variant: Variant): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(variant.command, variant.args, {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve(performance.now() - start)
        : reject(new Error(`${variant.label} exited with ${code}:\n${stderr}`)),
    );
  });
}

/** Writes the workload as YAML (one file per project) and as JSON for the baseline. */
function writeWorkload(dir: string): { apps: string; json: string } {
  const docs = definitions();
  const apps = join(dir, 'apps');
  mkdirSync(apps);
  const byProject = new Map<string, ApplicationDefinition[]>();
  for (const doc of docs) {
    byProject.set(doc.metadata.project, [...(byProject.get(doc.metadata.project) ?? []), doc]);
  }
  for (const [project, projectDocs] of byProject) {
    writeFileSync(
      join(apps, `${project}.yaml`),
      projectDocs.map((d) => stringify(d)).join('---\n'),
    );
  }
  const json = join(dir, 'definitions.json');
  writeFileSync(json, JSON.stringify(docs));
  return { apps, json };
}

/** The baseline chart as plain CommonJS, the way its author would run it: `node baseline.js`. */
function writeBaselineScript(dir: string): string {
  const source = readFileSync(join(__dirname, 'cdk8s-plus-baseline.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  });
  const file = join(dir, 'baseline.js');
  writeFileSync(file, outputText);
  return file;
}

/** Runs every variant `runs` times, alternating; the median of each, by label. */
async function alternate(variants: readonly Variant[], runs: number): Promise<Map<string, number>> {
  const times = new Map<string, number[]>(variants.map((v) => [v.label, []]));
  for (const variant of variants) await timed(variant); // warm the file cache
  for (let round = 0; round < runs; round++) {
    for (const variant of variants) times.get(variant.label)?.push(await timed(variant));
  }
  return new Map([...times].map(([label, values]) => [label, median(values)]));
}

/** Measures and prints the whole-process figures. */
export async function benchWholeProcessSynth(runs: number): Promise<void> {
  const synthJs = join(ROOT, 'lib', 'cli', 'synth.js');
  if (!existsSync(synthJs)) throw new Error(`${synthJs} is missing: run npm run build first`);
  // Under the repository, so that the plain scripts resolve cdk8s from its node_modules.
  mkdirSync(join(ROOT, '.hks'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.hks', 'bench-synth-'));
  try {
    const { apps, json } = writeWorkload(dir);
    const baselineJs = writeBaselineScript(dir);
    const oneChartJs = join(dir, 'one-chart.js');
    writeFileSync(oneChartJs, ONE_CHART_SCRIPT);
    const out = (name: string) => join(dir, name);
    const node = process.execPath;
    const large = await alternate(
      [
        {
          label: 'npm',
          command: 'npm',
          args: ['run', '-s', 'synth', '--', '--apps', apps, '--out', out('npm')],
        },
        { label: 'node', command: node, args: [synthJs, '--apps', apps, '--out', out('node')] },
        { label: 'baseline', command: node, args: [baselineJs, json, out('baseline')] },
      ],
      runs,
    );
    const shop = join(ROOT, 'apps', 'shop.yaml');
    const small = await alternate(
      [
        {
          label: 'npm',
          command: 'npm',
          args: ['run', '-s', 'synth', '--', '--apps', shop, '--out', out('npm-small')],
        },
        { label: 'node', command: node, args: [synthJs, '--apps', shop, '--out', out('small')] },
        { label: 'plain', command: node, args: [oneChartJs] },
      ],
      runs,
    );
    const ms = (value = 0) => `${value.toFixed(0)} ms`;
    const ratio = (a = 0, b = 1) => `${(a / b).toFixed(2)}x`;
    const rows: Array<[string, string]> = [
      ['whole processes', `${runs} alternating runs each (median)`],
      ['1000 defs: plain cdk8s-plus-28 script', ms(large.get('baseline'))],
      [
        '1000 defs: npm run synth',
        `${ms(large.get('npm'))}  (${ratio(large.get('npm'), large.get('baseline'))} baseline, goal <= 1.25x)`,
      ],
      [
        '1000 defs: node lib/cli/synth.js',
        `${ms(large.get('node'))}  (${ratio(large.get('node'), large.get('baseline'))} baseline)`,
      ],
      ['small project: plain node script, one chart', ms(small.get('plain'))],
      [
        'small project: npm run synth',
        `${ms(small.get('npm'))}  (${ratio(small.get('npm'), small.get('plain'))} plain, goal <= 1.5x)`,
      ],
      [
        'small project: node lib/cli/synth.js',
        `${ms(small.get('node'))}  (${ratio(small.get('node'), small.get('plain'))} plain)`,
      ],
    ];
    for (const [label, value] of rows) process.stdout.write(`${label.padEnd(46)} ${value}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
