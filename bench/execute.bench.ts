/**
 * `npm run bench:execute` — execute-once through the Python SDK on the test set-up: 50
 * `FunctionExecutor.execute(...)` calls of a trivial python handler (after a few warm-ups not
 * counted), p50/p95 of the client's total and of each phase the API reports. Baseline in the
 * same run, on this machine: the python bootstrap started directly on the same handler (spawn
 * to `GET /healthz` 200, as the Knative stand-in starts it) and its first invocation by a
 * direct POST. Platform overhead = client total − (median runtime start + median direct
 * invocation). Goal: overhead p50 under 150 ms.
 *
 * Brings up what it needs: the test control plane (KUBECONFIG, else the harness's cluster —
 * reused when running, else started and stopped again; HKS_CLUSTER_DIR and HKS_CLUSTER_*_PORT
 * apply), the Knative Serving CRDs and stand-in, an API process (SQLite, its own namespace
 * prefix, janitor on) and tokens. The client is `python3 bench/execute_bench.py`.
 *
 * Options: `--runs <n>` (default 50), `--warmup <n>` (default 3), `--output text|json`,
 * `--pool <n>`: also execute-once with a warm pool of n instances per runtime (project
 * bench-pool; python3.12 and nodejs20, each beside the same runtime without a pool, pausing
 * `--pause-ms` between executions, default 1000, so that the pool refills as between an
 * agent's calls): p50/p99 of the client's total, pool hits; goal p50 < 100 ms, p99 < 300 ms.
 * `--pool-mode services|deployment` (default services): the pool's kind (HKS_WARM_POOL_MODE);
 * `deployment` needs the test cluster's real node (HKS_CLUSTER_REAL_NODE=1 npm run cluster:up),
 * where the pool's pods run in the real runtime images.
 * Exit codes: 0 goal met, 1 goal not met, an execution failed or one was left behind, 2 bad
 * usage.
 */
import { App } from 'cdk8s';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  API_VERSION,
  ApplicationDefinition,
  buildProjectCharts,
  LABELS,
  MANAGER,
} from '../constructs';
import { type LocalRuntimePlan, planLocalRuntime } from '../dev/knative/local-runtime';
import { RevisionProcess } from '../dev/knative/revision-process';
import type { RevisionSpec } from '../dev/knative/types';
import { internalToken, startApi, token } from '../test/api/api-process';
import { clusterDown, clusterUp } from '../test/cluster/cluster';
import { kubectl } from '../test/cluster/kubectl';
import {
  expectRealNodeReady,
  realNodeNamespaceAnnotations,
} from '../test/cluster/real-node-placement';
import { startStandIn } from '../test/support/knative-stand-in';

const ROOT = join(__dirname, '..');
const GOAL_MS = 150;
const PROJECT = 'bench';
/** The project with a warm pool (`--pool`). */
const POOL_PROJECT = 'bench-pool';
const POOL_GOAL = { p50: 100, p99: 300 };
/** The handler of the nodejs20 runs of `--pool`. */
const NODE_HANDLER_CODE = 'exports.handler = (event) => ({ echo: event });\n';
/** The handler every execution and the baseline run. */
const HANDLER_CODE = 'def handler(event, context):\n    return {"echo": event}\n';
const INPUT = { run: 0 };
/** What the stand-in uses between health checks (dev/knative/stand-in.ts). */
const HEALTH_POLL_MS = 20;
// The API answers before it deletes the function: cleanup is not on the caller's path.
const PHASES = ['check', 'deploy', 'ready', 'invoke', 'logs'] as const;

interface Options {
  readonly runs: number;
  readonly warmup: number;
  readonly output: 'text' | 'json';
  /** Warm pool instances per runtime; 0: the pool comparison is not run. */
  readonly pool: number;
  /** `HKS_WARM_POOL_MODE` of the pool. */
  readonly poolMode: 'services' | 'deployment';
  readonly pauseMs: number;
}

/** One line of bench/execute_bench.py. */
interface RunLine {
  readonly run: number;
  readonly warmup: boolean;
  readonly id: string;
  readonly status: string;
  readonly totalMs: number;
  readonly durationMs: number;
  readonly timings: Readonly<Record<string, number>>;
  readonly pool?: boolean;
  readonly error?: string;
}

interface Spread {
  readonly p50: number;
  readonly p95: number;
}

function parseOptions(argv: readonly string[]): Options | string {
  const value = (flag: string, fallback: string) => {
    const index = argv.indexOf(flag);
    return index >= 0 ? (argv[index + 1] ?? '') : fallback;
  };
  const runs = Number(value('--runs', '50'));
  const warmup = Number(value('--warmup', '3'));
  const output = value('--output', 'text');
  if (!Number.isInteger(runs) || runs < 1)
    return `--runs: given ${value('--runs', '')}, expected a whole number >= 1`;
  if (!Number.isInteger(warmup) || warmup < 0)
    return `--warmup: given ${value('--warmup', '')}, expected a whole number >= 0`;
  if (output !== 'text' && output !== 'json')
    return `--output: given ${output}, expected text or json`;
  const pool = Number(value('--pool', '0'));
  const pauseMs = Number(value('--pause-ms', '1000'));
  if (!Number.isInteger(pool) || pool < 0 || pool > 4)
    return `--pool: given ${value('--pool', '')}, expected a whole number from 0 to 4`;
  if (!Number.isInteger(pauseMs) || pauseMs < 0)
    return `--pause-ms: given ${value('--pause-ms', '')}, expected a whole number >= 0`;
  const poolMode = value('--pool-mode', 'services');
  if (poolMode !== 'services' && poolMode !== 'deployment')
    return `--pool-mode: given ${poolMode}, expected services or deployment`;
  return { runs, warmup, output, pool, pauseMs, poolMode };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function spread(values: readonly number[]): Spread {
  const round = (n: number) => Math.round(n * 10) / 10;
  return { p50: round(percentile(values, 50)), p95: round(percentile(values, 95)) };
}

/**
 * How the stand-in would run the handler: the Function synthesized as the API does, its
 * Knative Service's container planned by the stand-in's own code (same program through PATH,
 * same environment and files).
 */
async function bootstrapPlan(dir: string): Promise<LocalRuntimePlan> {
  const definition = {
    apiVersion: API_VERSION,
    kind: 'Function',
    metadata: { name: 'bench-baseline', project: PROJECT },
    spec: {
      runtime: 'python3.12',
      code: HANDLER_CODE,
      timeoutSeconds: 10,
      scaling: { minScale: 0, maxScale: 1 },
    },
  } as ApplicationDefinition;
  const objects = buildProjectCharts(new App(), [definition]).flatMap((chart) => chart.toJson());
  const service = objects.find((o) => o.apiVersion === 'serving.knative.dev/v1');
  const configMaps = new Map<string, Record<string, string>>(
    objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data]),
  );
  const plan = await planLocalRuntime(service.spec.template.spec as RevisionSpec, dir, {
    configMap: async (name) => configMaps.get(name),
    secret: async () => undefined,
  });
  if (!plan.runnable) throw new Error(`baseline: ${plan.reason}: ${plan.message}`);
  return plan;
}

/** Milliseconds of one POST of `body` to 127.0.0.1:port, response read; fails unless 200. */
function post(port: number, body: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
      },
      (res) => {
        res.resume();
        res.once('end', () =>
          res.statusCode === 200
            ? resolve(performance.now() - started)
            : reject(new Error(`direct invocation: HTTP ${res.statusCode}`)),
        );
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

/**
 * The bootstrap started directly, `runs` times: spawn to a healthy `GET /healthz` (the
 * stand-in's own start code and poll interval, so the same figure as its `runtimeStartMs`),
 * then its first invocation by a direct POST, as an execution's only invocation.
 */
async function baseline(runs: number): Promise<{ start: number[]; invoke: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'hks-bench-execute-'));
  const plan = await bootstrapPlan(join(dir, 'revision'));
  const start: number[] = [];
  const invoke: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const process = await RevisionProcess.start({
      plan,
      logFile: join(dir, 'container.log'),
      extraEnv: { K_SERVICE: 'bench-baseline', K_CONFIGURATION: 'bench-baseline' },
      readyTimeoutMs: 30_000,
      pollIntervalMs: HEALTH_POLL_MS,
    });
    try {
      const outcome = await process.started;
      if (!outcome.ready) throw new Error(`baseline: ${outcome.reason}: ${outcome.message}`);
      const invokeMs = await post(outcome.port, JSON.stringify(INPUT));
      if (i === 0) continue; // warm the file cache
      start.push(outcome.startMs);
      invoke.push(invokeMs);
    } finally {
      await process.stop();
    }
  }
  return { start, invoke };
}

/** Runs bench/execute_bench.py; resolves with its JSON lines. */
function runClient(
  options: Options,
  env: NodeJS.ProcessEnv,
  codeFile: string,
  pass: { runtime: string; pauseMs: number } = { runtime: 'python3.12', pauseMs: 0 },
): Promise<RunLine[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'python3',
      [
        join(ROOT, 'bench', 'execute_bench.py'),
        '--runs',
        String(options.runs),
        '--warmup',
        String(options.warmup),
        '--code-file',
        codeFile,
        '--runtime',
        pass.runtime,
        '--pause-ms',
        String(pass.pauseMs),
      ],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (options.output === 'text') process.stderr.write('.');
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (options.output === 'text') process.stderr.write('\n');
      if (code !== 0)
        return reject(new Error(`execute_bench.py exited with ${code}:\n${stderr}${stdout}`));
      resolve(
        stdout
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as RunLine),
      );
    });
  });
}

/** `runtimeStartMs` of each Service's revision from the stand-in's action log, by name. */
function standInStarts(output: string): Map<string, number> {
  const starts = new Map<string, number>();
  for (const match of output.matchAll(
    /service status service=\S+?\/(\S+) .*?\bruntimeStartMs=(\d+)/g,
  ))
    starts.set(match[1], Number(match[2]));
  return starts;
}

/** Temporary functions of the project still listed by the API (there should be none). */
async function leftBehind(apiUrl: string, userToken: string): Promise<string[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await fetch(`${apiUrl}/api/v1/projects/${PROJECT}/functions`, {
      headers: { authorization: `Bearer ${userToken}` },
    });
    if (!res.ok) throw new Error(`listing functions: HTTP ${res.status} ${await res.text()}`);
    const { items } = (await res.json()) as { items: { name: string }[] };
    const names = items.map((f) => f.name).filter((name) => name.startsWith('exec-'));
    if (names.length === 0 || Date.now() > deadline) return names;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Creates a project's namespace whose pods land on the test cluster's real node. */
async function placedOnRealNode(namespace: string, project: string): Promise<void> {
  await expectRealNodeReady();
  const manifest = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: namespace,
      labels: {
        [LABELS.managedBy]: MANAGER,
        [LABELS.project]: project,
        'pod-security.kubernetes.io/enforce': 'restricted',
      },
      annotations: realNodeNamespaceAnnotations,
    },
  };
  const created = await kubectl(['create', '-f', '-'], JSON.stringify(manifest));
  if (created.code !== 0) throw new Error(`creating namespace ${namespace}: ${created.stderr}`);
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (typeof options === 'string') {
    process.stderr.write(`${options}\n`);
    return 2;
  }
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  let startedCluster = false;
  if (!process.env.KUBECONFIG) {
    const up = await clusterUp(progress);
    process.env.KUBECONFIG = up.kubeconfig;
    startedCluster = up.started;
  }
  const prefix = `x${randomBytes(2).toString('hex')}-`;
  const deploymentPool = options.pool > 0 && options.poolMode === 'deployment';
  // The pool's pods run on the real node: their namespace exists first, annotated for it.
  if (deploymentPool) await placedOnRealNode(`${prefix}${POOL_PROJECT}`, POOL_PROJECT);
  const standIn = await startStandIn(prefix);
  const api = await startApi({
    HKS_SQLITE_PATH: join(mkdtempSync(join(tmpdir(), 'hks-bench-')), 'api.sqlite'),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_JANITOR_INTERVAL_SECONDS: '30',
    ...(options.pool > 0 ? { HKS_WARM_POOL_PROJECTS: `${POOL_PROJECT}=${options.pool}` } : {}),
    ...(deploymentPool
      ? { HKS_WARM_POOL_MODE: 'deployment', HKS_WARM_POOL_KEY: randomBytes(32).toString('hex') }
      : {}),
  }).catch(async (error: unknown) => {
    await standIn.stop();
    throw error;
  });
  try {
    progress(`baseline: the python bootstrap started directly, ${options.runs} times`);
    const base = await baseline(options.runs);
    const codeFile = join(mkdtempSync(join(tmpdir(), 'hks-bench-code-')), 'main.py');
    writeFileSync(codeFile, HANDLER_CODE);
    progress(
      `execute-once through the Python SDK: ${options.warmup} warm-up + ${options.runs} runs`,
    );
    const userToken = await token([PROJECT]);
    const lines = await runClient(
      options,
      {
        ...process.env,
        PYTHONPATH: join(ROOT, 'sdk', 'python'),
        PYTHONDONTWRITEBYTECODE: '1',
        HKS_API_URL: api.url,
        // The API accepts internal tokens of at most 10 minutes.
        HKS_INTERNAL_TOKEN: await internalToken([PROJECT, POOL_PROJECT], '10m'),
        HKS_PROJECT: PROJECT,
      },
      codeFile,
    );
    const counted = lines.filter((line) => !line.warmup);
    const runs = counted.filter((line) => line.status === 'succeeded');
    const failed = counted.filter((line) => line.status !== 'succeeded');
    if (runs.length === 0) throw new Error(`every execution failed: ${failed[0]?.error}`);
    const leaked = await leftBehind(api.url, userToken);
    if (failed.length > 0 || leaked.length > 0) {
      const logs = join(mkdtempSync(join(tmpdir(), 'hks-bench-logs-')), 'output.log');
      writeFileSync(logs, `# stand-in\n${standIn.output()}\n# API\n${api.output()}`);
      progress(`the stand-in's and the API's output: ${logs}`);
    }
    const report = figures(options, base, runs, failed, standInStarts(standIn.output()), leaked);
    const pooled =
      options.pool > 0
        ? await poolComparison(options, async (runtime, project, pauseMs) => {
            progress(`${runtime} in ${project}: ${options.warmup} warm-up + ${options.runs} runs`);
            const dir = mkdtempSync(join(tmpdir(), 'hks-bench-code-'));
            const file = join(dir, runtime === 'nodejs20' ? 'index.js' : 'main.py');
            writeFileSync(file, runtime === 'nodejs20' ? NODE_HANDLER_CODE : HANDLER_CODE);
            const token = await internalToken([PROJECT, POOL_PROJECT], '10m');
            return runClient(
              options,
              {
                ...process.env,
                PYTHONPATH: join(ROOT, 'sdk', 'python'),
                PYTHONDONTWRITEBYTECODE: '1',
                HKS_API_URL: api.url,
                HKS_INTERNAL_TOKEN: token,
                HKS_PROJECT: project,
              },
              file,
              { runtime, pauseMs },
            );
          })
        : undefined;
    process.stdout.write(
      options.output === 'json'
        ? `${JSON.stringify({ ...report, pool: pooled }, null, 2)}\n`
        : table(report) +
            (pooled ? poolTable(pooled, report.baseline.sumOfMediansMs, options.poolMode) : ''),
    );
    const poolMet = pooled === undefined || pooled.every((p) => p.goal.met);
    return report.goal.met && poolMet && failed.length === 0 && leaked.length === 0 ? 0 : 1;
  } finally {
    await api.stop();
    await standIn.stop();
    await kubectl([
      'delete',
      'namespace',
      `${prefix}${PROJECT}`,
      `${prefix}${POOL_PROJECT}`,
      '--wait=false',
      '--ignore-not-found',
    ]);
    if (startedCluster) await clusterDown(progress);
  }
}

type Report = ReturnType<typeof figures>;

/** One runtime with and without a warm pool, executed through the SDK. */
interface PoolPass {
  readonly runtime: string;
  readonly withoutPool: { readonly runs: number; readonly totalMs: Spread & { p99: number } };
  readonly withPool: {
    readonly runs: number;
    readonly hits: number;
    readonly totalMs: Spread & { p99: number };
    readonly hitTotalMs: Spread & { p99: number };
    readonly invokeMs: Spread;
    readonly checkMs: Spread;
  };
  readonly failed: number;
  readonly goal: {
    readonly p50BelowMs: number;
    readonly p99BelowMs: number;
    readonly met: boolean;
  };
}

/** Each runtime without the pool (project bench) and with it (bench-pool, paced). */
async function poolComparison(
  options: Options,
  run: (runtime: string, project: string, pauseMs: number) => Promise<RunLine[]>,
): Promise<PoolPass[]> {
  const passes: PoolPass[] = [];
  for (const runtime of ['python3.12', 'nodejs20']) {
    const counted = (lines: RunLine[]) => lines.filter((l) => !l.warmup);
    const without = counted(await run(runtime, PROJECT, 0));
    const withPool = counted(await run(runtime, POOL_PROJECT, options.pauseMs));
    const ok = (lines: RunLine[]) => lines.filter((l) => l.status === 'succeeded');
    const hits = ok(withPool).filter((l) => l.pool === true);
    const total = spread99(ok(withPool).map((l) => l.totalMs));
    passes.push({
      runtime,
      withoutPool: {
        runs: ok(without).length,
        totalMs: spread99(ok(without).map((l) => l.totalMs)),
      },
      withPool: {
        runs: ok(withPool).length,
        hits: hits.length,
        totalMs: total,
        hitTotalMs: spread99(hits.map((l) => l.totalMs)),
        invokeMs: spread(hits.map((l) => l.timings.invoke ?? 0)),
        checkMs: spread(hits.map((l) => l.timings.check ?? 0)),
      },
      failed: without.length + withPool.length - ok(without).length - ok(withPool).length,
      goal: {
        p50BelowMs: POOL_GOAL.p50,
        p99BelowMs: POOL_GOAL.p99,
        met: total.p50 < POOL_GOAL.p50 && total.p99 < POOL_GOAL.p99,
      },
    });
  }
  return passes;
}

function spread99(values: readonly number[]): Spread & { p99: number } {
  if (values.length === 0) return { p50: NaN, p95: NaN, p99: NaN };
  return { ...spread(values), p99: Math.round(percentile(values, 99) * 10) / 10 };
}

function poolTable(
  passes: readonly PoolPass[],
  baselineMs: number,
  mode: Options['poolMode'],
): string {
  const ms = (n: number) => `${n.toFixed(1)} ms`.padStart(10);
  const lines = [
    `\nwarm pool (--pool, --pool-mode ${mode}), the python bootstrap started and invoked directly: ${baselineMs.toFixed(1)} ms (sum of medians, above)\n`,
    `${''.padEnd(40)} ${'p50'.padStart(10)} ${'p99'.padStart(10)}\n`,
  ];
  for (const p of passes) {
    lines.push(
      `${`${p.runtime} without pool (${p.withoutPool.runs} runs)`.padEnd(40)} ${ms(p.withoutPool.totalMs.p50)} ${ms(p.withoutPool.totalMs.p99)}\n`,
      `${`${p.runtime} with pool (${p.withPool.hits}/${p.withPool.runs} hits)`.padEnd(40)} ${ms(p.withPool.totalMs.p50)} ${ms(p.withPool.totalMs.p99)}\n`,
      `${'  pool hits only'.padEnd(40)} ${ms(p.withPool.hitTotalMs.p50)} ${ms(p.withPool.hitTotalMs.p99)}\n`,
      `${'  check (p50/p95)'.padEnd(40)} ${ms(p.withPool.checkMs.p50)} ${ms(p.withPool.checkMs.p95)}\n`,
      `${'  invoke (p50/p95)'.padEnd(40)} ${ms(p.withPool.invokeMs.p50)} ${ms(p.withPool.invokeMs.p95)}\n`,
      `  goal p50 < ${p.goal.p50BelowMs} ms, p99 < ${p.goal.p99BelowMs} ms: ${p.goal.met ? 'met' : 'NOT met'}${p.failed ? ` (${p.failed} failed, not counted)` : ''}\n`,
    );
  }
  return lines.join('');
}

function figures(
  options: Options,
  base: { start: number[]; invoke: number[] },
  runs: readonly RunLine[],
  failed: readonly RunLine[],
  standIn: Map<string, number>,
  leaked: readonly string[],
) {
  const runtimeStart = percentile(base.start, 50);
  const directInvoke = percentile(base.invoke, 50);
  const phase = (name: string) => runs.map((r) => r.timings[name] ?? 0);
  const phaseSum = (r: RunLine) => PHASES.reduce((sum, p) => sum + (r.timings[p] ?? 0), 0);
  const total = runs.map((r) => r.totalMs);
  const overhead = total.map((t) => t - runtimeStart - directInvoke);
  const withStandIn = runs.filter((r) => standIn.has(r.id));
  const measured = {
    total: spread(total),
    apiDuration: spread(runs.map((r) => r.durationMs)),
    ...Object.fromEntries(PHASES.map((p) => [p, spread(phase(p))])),
    clientApiRemainder: spread(runs.map((r) => r.totalMs - phaseSum(r))),
  } as Record<string, Spread>;
  const overheadByPhase = {
    check: spread(phase('check')),
    deploy: spread(phase('deploy')),
    readyMinusRuntimeStart: spread(phase('ready').map((v) => v - runtimeStart)),
    invokeMinusDirectInvocation: spread(phase('invoke').map((v) => v - directInvoke)),
    logs: spread(phase('logs')),
    clientApiRemainder: measured.clientApiRemainder,
  };
  const overheadSpread = spread(overhead);
  return {
    runs: runs.length,
    warmup: options.warmup,
    failed: failed.map((r) => ({ id: r.id, status: r.status, error: r.error ?? '' })),
    machine: { cpus: cpus().length, loadAverage1m: Math.round(loadavg()[0] * 100) / 100 },
    baseline: {
      runtimeStartMs: spread(base.start),
      directInvocationMs: spread(base.invoke),
      sumOfMediansMs: Math.round((runtimeStart + directInvoke) * 10) / 10,
    },
    measuredMs: measured,
    standIn: {
      runs: withStandIn.length,
      runtimeStartMs: spread(withStandIn.map((r) => standIn.get(r.id) ?? 0)),
      readyMinusRuntimeStartMs: spread(
        withStandIn.map((r) => (r.timings.ready ?? 0) - (standIn.get(r.id) ?? 0)),
      ),
    },
    overheadMs: { total: overheadSpread, ...overheadByPhase },
    goal: {
      overheadP50BelowMs: GOAL_MS,
      overheadP50Ms: overheadSpread.p50,
      met: overheadSpread.p50 < GOAL_MS,
    },
    ratios: {
      totalP50ToBaseline:
        Math.round((measured.total.p50 / (runtimeStart + directInvoke)) * 100) / 100,
      overheadShareOfTotalP50: Math.round((overheadSpread.p50 / measured.total.p50) * 100) / 100,
      readyP50ToRuntimeStart: Math.round((measured.ready.p50 / runtimeStart) * 100) / 100,
      invokeP50ToDirectInvocation: Math.round((measured.invoke.p50 / directInvoke) * 100) / 100,
    },
    leftBehind: leaked,
  };
}

function table(report: Report): string {
  const ms = (n: number) => `${n.toFixed(1)} ms`.padStart(10);
  const row = (label: string, s: Spread, note = '') =>
    `${label.padEnd(40)} ${ms(s.p50)} ${ms(s.p95)}${note ? `  ${note}` : ''}\n`;
  const m = report.measuredMs;
  const o = report.overheadMs;
  const b = report.baseline;
  const lines = [
    `execute-once through the Python SDK, ${report.runs} runs succeeded (+${report.warmup} warm-up), ` +
      `${report.machine.cpus} CPUs, load average ${report.machine.loadAverage1m}\n`,
    `${''.padEnd(40)} ${'p50'.padStart(10)} ${'p95'.padStart(10)}\n`,
    row('client total (SDK execute)', m.total),
    row('  API durationMs', m.apiDuration),
    ...PHASES.map((p) => row(`  ${p}`, m[p])),
    row('  client<->API remainder', m.clientApiRemainder, '(total - sum of phases)'),
    'baseline, same run (bootstrap started directly)\n',
    row('  runtime start (spawn to /healthz 200)', b.runtimeStartMs),
    row('  direct invocation (first POST)', b.directInvocationMs),
    `${'  sum of medians'.padEnd(40)} ${ms(b.sumOfMediansMs)}\n`,
    `stand-in action log (${report.standIn.runs} of the runs)\n`,
    row('  runtimeStartMs', report.standIn.runtimeStartMs),
    row('  ready - runtimeStartMs', report.standIn.readyMinusRuntimeStartMs),
    'platform overhead (total - median runtime start - median direct invocation)\n',
    row('  overhead', o.total),
    row('  check', o.check),
    row('  deploy', o.deploy),
    row('  ready - runtime start', o.readyMinusRuntimeStart),
    row('  invoke - direct invocation', o.invokeMinusDirectInvocation),
    row('  logs', o.logs),
    row('  client<->API remainder', o.clientApiRemainder),
    `overhead p50 ${report.goal.overheadP50Ms.toFixed(1)} ms, goal < ${report.goal.overheadP50BelowMs} ms: ${report.goal.met ? 'met' : 'NOT met'}\n`,
    `ratios (p50): total ${report.ratios.totalP50ToBaseline}x the baseline; overhead ${Math.round(report.ratios.overheadShareOfTotalP50 * 100)}% of the total; ` +
      `ready ${report.ratios.readyP50ToRuntimeStart}x the runtime start; invoke ${report.ratios.invokeP50ToDirectInvocation}x the direct invocation\n`,
    ...report.failed.map((f) => `not counted: ${f.id} ${f.status}: ${f.error}\n`),
    report.leftBehind.length
      ? `temporary functions left behind: ${report.leftBehind.join(', ')}\n`
      : 'temporary functions left behind: none\n',
  ];
  return lines.join('');
}

void main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
