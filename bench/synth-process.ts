/**
 * Whole-process synth, as a user runs it, against plain cdk8s-plus-28 scripts in the same run:
 *
 * - 1000 definitions (the workload of synth-workload.ts, written as one YAML file per project):
 *   the installed `hks-synth` bin (node_modules/.bin/hks-synth of a scratch project that has
 *   this package installed, as a user's shell, Makefile or CI step runs it), `npm run synth`
 *   and the unbundled `node lib/cli/synth.js`, against `node <baseline>.js`, the
 *   cdk8s-plus-baseline.ts chart transpiled to plain JavaScript, reading the same definitions
 *   as JSON;
 * - one small project (apps/shop.yaml): the same commands and `npx hks-synth` against a plain
 *   node script printing one chart (a Deployment, a Service and a CronJob).
 *
 * npm's (and npx's) own start is a fixed cost outside the package: `npm run` of a script that
 * only starts node (`node -e 0`) is measured in the same run, as the baseline of that cost.
 * Runs alternate, so the machine's noise falls on every variant alike; medians are printed.
 * Needs `npm run build` (lib/ and the bundled lib/cli/synth.bundle.js). Goals: 1000
 * definitions within 1.25x the baseline, the small project within 1.5x the plain script.
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { loadavg } from 'node:os';
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
  /** @default - the repository root */
  readonly cwd?: string;
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
      cwd: variant.cwd ?? ROOT,
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

/**
 * A project with this package installed the way npm installs it: node_modules/hks-platform
 * (here a link to the repository) and its bins linked into node_modules/.bin.
 */
function writeUserProject(dir: string): string {
  const project = join(dir, 'user-project');
  mkdirSync(join(project, 'node_modules', '.bin'), { recursive: true });
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'user-project', private: true, scripts: { noop: 'node -e 0' } }),
  );
  symlinkSync(ROOT, join(project, 'node_modules', 'hks-platform'));
  symlinkSync(
    join('..', 'hks-platform', 'bin', 'hks-synth.js'),
    join(project, 'node_modules', '.bin', 'hks-synth'),
  );
  return project;
}

/** The 1-minute load average, as uptime prints it. */
function loadNow(): string {
  return loadavg()[0].toFixed(2);
}

/** One measured row: a label, its median and the median it is compared with. */
interface Row {
  readonly label: string;
  readonly ms: number;
  readonly against?: { readonly label: string; readonly ms: number; readonly goal?: number };
}

function printRows(rows: readonly Row[]): void {
  for (const { label, ms, against } of rows) {
    let line = `${label.padEnd(52)} ${ms.toFixed(0).padStart(6)} ms`;
    if (against) {
      const ratio = ms / against.ms;
      line += `  ${ratio.toFixed(2)}x ${against.label}`;
      if (against.goal !== undefined) {
        line += `  (goal <= ${against.goal}x: ${ratio <= against.goal ? 'met' : 'NOT met'})`;
      }
    }
    process.stdout.write(`${line}\n`);
  }
}

/** Measures and prints the whole-process figures. */
export async function benchWholeProcessSynth(runs: number): Promise<void> {
  for (const built of [join('lib', 'cli', 'synth.js'), join('lib', 'cli', 'synth.bundle.js')]) {
    if (!existsSync(join(ROOT, built))) throw new Error(`${built} is missing: run npm run build`);
  }
  const synthJs = join(ROOT, 'lib', 'cli', 'synth.js');
  const loadAtStart = loadNow();
  // Under the repository, so that the plain scripts resolve cdk8s from its node_modules.
  mkdirSync(join(ROOT, '.hks'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.hks', 'bench-synth-'));
  try {
    const { apps, json } = writeWorkload(dir);
    const baselineJs = writeBaselineScript(dir);
    const oneChartJs = join(dir, 'one-chart.js');
    writeFileSync(oneChartJs, ONE_CHART_SCRIPT);
    const project = writeUserProject(dir);
    const bin = join(project, 'node_modules', '.bin', 'hks-synth');
    const out = (name: string) => join(dir, name);
    const node = process.execPath;
    const npmNoop: Variant = {
      label: 'npm-noop',
      command: 'npm',
      args: ['run', '-s', 'noop'],
      cwd: project,
    };
    const commands = (input: string, suffix: string): Variant[] => [
      {
        label: 'bin',
        command: bin,
        args: ['--apps', input, '--out', out(`bin${suffix}`)],
        cwd: project,
      },
      {
        label: 'npm',
        command: 'npm',
        args: ['run', '-s', 'synth', '--', '--apps', input, '--out', out(`npm${suffix}`)],
      },
      {
        label: 'node',
        command: node,
        args: [synthJs, '--apps', input, '--out', out(`node${suffix}`)],
      },
    ];
    const large = await alternate(
      [
        { label: 'baseline', command: node, args: [baselineJs, json, out('baseline')] },
        ...commands(apps, ''),
      ],
      runs,
    );
    const shop = join(ROOT, 'apps', 'shop.yaml');
    const small = await alternate(
      [
        { label: 'plain', command: node, args: [oneChartJs] },
        ...commands(shop, '-small'),
        {
          label: 'npx',
          command: 'npx',
          args: ['--no-install', 'hks-synth', '--apps', shop, '--out', out('npx-small')],
          cwd: project,
        },
        npmNoop,
        { label: 'node-noop', command: node, args: ['-e', '0'] },
      ],
      runs,
    );
    const at = (medians: Map<string, number>, label: string) => medians.get(label) ?? NaN;
    const baseline = { label: 'baseline', ms: at(large, 'baseline') };
    const plain = { label: 'plain', ms: at(small, 'plain') };
    // npm's own start: npm run of `node -e 0` less `node -e 0` itself.
    const npmStart = at(small, 'npm-noop') - at(small, 'node-noop');
    process.stdout.write(
      `whole processes: ${runs} alternating runs each, medians (load ${loadAtStart} at the start, ${loadNow()} at the end)\n`,
    );
    printRows([
      { label: '1000 defs: plain cdk8s-plus-28 script (baseline)', ms: baseline.ms },
      {
        label: '1000 defs: hks-synth (the installed bin)',
        ms: at(large, 'bin'),
        against: { ...baseline, goal: 1.25 },
      },
      {
        label: '1000 defs: npm run synth',
        ms: at(large, 'npm'),
        against: { ...baseline, goal: 1.25 },
      },
      {
        label: "1000 defs: npm run synth less npm's own start",
        ms: at(large, 'npm') - npmStart,
        against: baseline,
      },
      {
        label: '1000 defs: node lib/cli/synth.js (unbundled)',
        ms: at(large, 'node'),
        against: baseline,
      },
      { label: 'small project: plain node script, one chart (plain)', ms: plain.ms },
      {
        label: 'small project: hks-synth (the installed bin)',
        ms: at(small, 'bin'),
        against: { ...plain, goal: 1.5 },
      },
      {
        label: 'small project: npx hks-synth',
        ms: at(small, 'npx'),
        against: { ...plain, goal: 1.5 },
      },
      {
        label: 'small project: npm run synth',
        ms: at(small, 'npm'),
        against: { ...plain, goal: 1.5 },
      },
      {
        label: 'small project: node lib/cli/synth.js (unbundled)',
        ms: at(small, 'node'),
        against: plain,
      },
      {
        label: "small project: npm run synth less npm's own start",
        ms: at(small, 'npm') - npmStart,
        against: plain,
      },
      { label: 'npm run of a script running node -e 0', ms: at(small, 'npm-noop') },
      { label: 'node -e 0', ms: at(small, 'node-noop') },
      { label: "npm's own start (the difference)", ms: npmStart },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
