/**
 * `npm run bench:session` — an agent session's execute overhead on the test set-up. For each
 * source runtime, one session is opened; then, interleaved, `--runs` executes of a trivial
 * handler through the API (`POST /internal/v1/operations/sessions/:id/execute`, timed by the
 * client) and as many direct calls of the session function's runtime with the same request the
 * API sends it (files envelope with the code, the session's secret, the log tail), through the
 * Knative stand-in's router: the runtime's own invocation, measured in the same run. Then
 * `--execute-runs` fresh execute-once calls of the same code for comparison. Prints p50/p99 of
 * each, the API's phases of the session executes, the overhead (session − direct) and the
 * ratios. Goal: session overhead p50 under 20 ms over the runtime's own invocation.
 *
 * Brings up what it needs: the test control plane (KUBECONFIG, else the harness's cluster —
 * reused when running, else started and stopped again), the Knative stand-in, an API process
 * (SQLite, its own namespace prefix) and tokens. The session's secret is read from its Secret
 * with the cluster's admin credentials (the API itself cannot read Secrets).
 *
 * Options: `--runs <n>` (default 100), `--execute-runs <n>` (default 10), `--warmup <n>`
 * (default 5), `--output text|json`. Exit codes: 0 goal met, 1 goal not met or a call failed,
 * 2 bad usage.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SourceRuntimeName } from '../constructs';
import { internalToken, startApi } from '../test/api/api-process';
import { clusterDown, clusterUp } from '../test/cluster/cluster';
import { kubectl, kubectlJson } from '../test/cluster/kubectl';
import { startStandIn } from '../test/support/knative-stand-in';

const GOAL_MS = 20;
const PROJECT = 'bench-sessions';
const RUNTIMES: readonly SourceRuntimeName[] = ['python3.12', 'nodejs20'];
const CODE: Readonly<Record<SourceRuntimeName, string>> = {
  'python3.12': 'def handler(event, context):\n    return {"echo": event}\n',
  nodejs20: 'exports.handler = (event, context) => ({ echo: event });\n',
};
const HANDLER: Readonly<Record<SourceRuntimeName, string>> = {
  'python3.12': 'main.handler',
  nodejs20: 'index.handler',
};
const PHASES = ['check', 'invoke', 'logs'] as const;

interface Options {
  readonly runs: number;
  readonly executeRuns: number;
  readonly warmup: number;
  readonly output: 'text' | 'json';
}

interface Spread {
  readonly p50: number;
  readonly p99: number;
}

function parseOptions(argv: readonly string[]): Options | string {
  const value = (flag: string, fallback: string) => {
    const index = argv.indexOf(flag);
    return index >= 0 ? (argv[index + 1] ?? '') : fallback;
  };
  const whole = (flag: string, fallback: string, min: number) => {
    const n = Number(value(flag, fallback));
    return Number.isInteger(n) && n >= min
      ? n
      : `${flag}: given ${value(flag, '')}, expected a whole number >= ${min}`;
  };
  const runs = whole('--runs', '100', 1);
  const executeRuns = whole('--execute-runs', '10', 0);
  const warmup = whole('--warmup', '5', 0);
  const output = value('--output', 'text');
  for (const n of [runs, executeRuns, warmup]) if (typeof n === 'string') return n;
  if (output !== 'text' && output !== 'json')
    return `--output: given ${output}, expected text or json`;
  return {
    runs: runs as number,
    executeRuns: executeRuns as number,
    warmup: warmup as number,
    output,
  };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function spread(values: readonly number[]): Spread {
  const round = (n: number) => Math.round(n * 10) / 10;
  return { p50: round(percentile(values, 50)), p99: round(percentile(values, 99)) };
}

/** Milliseconds `call` takes, with what it returned. */
async function timed<T>(call: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const value = await call();
  return [performance.now() - started, value];
}

interface RuntimeFigures {
  readonly runtime: SourceRuntimeName;
  readonly sessionMs: Spread;
  readonly directMs: Spread;
  readonly executeOnceMs: Spread;
  readonly phasesMs: Readonly<Record<string, Spread>>;
  readonly overheadMs: Spread;
  readonly overheadP50Ms: number;
  readonly sessionToDirect: number;
  readonly executeOnceToSession: number;
  readonly failures: readonly string[];
}

async function benchRuntime(
  runtime: SourceRuntimeName,
  options: Options,
  apiUrl: string,
  bearer: string,
  namespace: string,
): Promise<RuntimeFigures> {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${apiUrl}/internal/v1/operations${path}`, {
      method: 'POST',
      headers: { authorization: bearer, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const opened = await post('/sessions', { runtime, idleTimeoutSeconds: 600 });
  if (opened.status !== 201)
    throw new Error(`open: ${opened.status} ${JSON.stringify(opened.body)}`);
  const id = String(opened.body.id);
  const secret = Buffer.from(
    (
      await kubectlJson<{ data: { secret: string } }>([
        'get',
        'secret',
        `${id}-session`,
        '-n',
        namespace,
      ])
    ).data.secret,
    'base64',
  ).toString('utf8');
  const service = await kubectlJson<{ status: { url: string } }>([
    'get',
    'ksvc',
    id,
    '-n',
    namespace,
  ]);
  const failures: string[] = [];
  const viaApi = async (run: number) => {
    const answer = await post(`/sessions/${id}/execute`, { code: CODE[runtime], input: { run } });
    if (answer.body.status !== 'succeeded')
      failures.push(`session ${run}: ${JSON.stringify(answer.body)}`);
    return answer.body.timings as Record<string, number>;
  };
  // What the API sends the runtime (api/operations.ts invokeOnce with a session call).
  const direct = async (run: number) => {
    const res = await fetch(service.status.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hks-log': 'tail',
        'x-hks-files': 'envelope',
        'x-hks-session-secret': secret,
      },
      body: JSON.stringify({
        code: CODE[runtime],
        handler: HANDLER[runtime],
        timeoutSeconds: 30,
        event: { run },
        inputFiles: {},
        outputLimits: { maxFiles: 100, maxFileBytes: 1 << 20, maxTotalBytes: 1 << 20 },
      }),
    });
    await res.arrayBuffer();
    if (res.status !== 200) failures.push(`direct ${run}: ${res.status}`);
  };
  for (let i = 0; i < options.warmup; i++) {
    await viaApi(-1);
    await direct(-1);
  }
  const session: number[] = [];
  const directMs: number[] = [];
  const phases: Record<string, number[]> = Object.fromEntries(PHASES.map((p) => [p, []]));
  for (let run = 0; run < options.runs; run++) {
    const [ms, timings] = await timed(() => viaApi(run));
    session.push(ms);
    for (const p of PHASES) phases[p].push(timings?.[p] ?? 0);
    directMs.push((await timed(() => direct(run)))[0]);
  }
  await fetch(`${apiUrl}/internal/v1/operations/sessions/${id}`, {
    method: 'DELETE',
    headers: { authorization: bearer },
  });
  const executeOnce: number[] = [];
  for (let run = 0; run < options.executeRuns; run++) {
    const [ms, answer] = await timed(() =>
      post('/execute', { runtime, code: CODE[runtime], input: { run } }),
    );
    if (answer.body.status !== 'succeeded') failures.push(`execute ${run}: ${answer.status}`);
    executeOnce.push(ms);
  }
  const overhead = session.map((ms, i) => ms - directMs[i]);
  const sessionSpread = spread(session);
  const directSpread = spread(directMs);
  const overheadP50 = Math.round((sessionSpread.p50 - directSpread.p50) * 10) / 10;
  return {
    runtime,
    sessionMs: sessionSpread,
    directMs: directSpread,
    executeOnceMs: spread(executeOnce),
    phasesMs: Object.fromEntries(PHASES.map((p) => [p, spread(phases[p])])),
    overheadMs: spread(overhead),
    overheadP50Ms: overheadP50,
    sessionToDirect: Math.round((sessionSpread.p50 / directSpread.p50) * 100) / 100,
    executeOnceToSession:
      executeOnce.length > 0
        ? Math.round((percentile(executeOnce, 50) / sessionSpread.p50) * 10) / 10
        : 0,
    failures,
  };
}

function table(report: { figures: RuntimeFigures[]; machine: Record<string, number> }): string {
  const ms = (n: number) => `${n.toFixed(1)} ms`.padStart(10);
  const row = (label: string, s: Spread) => `${label.padEnd(44)} ${ms(s.p50)} ${ms(s.p99)}\n`;
  const lines = [
    `agent sessions, ${report.machine.cpus} CPUs, load average ${report.machine.loadAverage1m}\n`,
  ];
  for (const f of report.figures) {
    lines.push(
      `\n${f.runtime}${' '.repeat(44 - f.runtime.length)} ${'p50'.padStart(10)} ${'p99'.padStart(10)}\n`,
      row('session execute through the API (client)', f.sessionMs),
      ...PHASES.map((p) => row(`  API ${p}`, f.phasesMs[p])),
      row("the runtime's own invocation (direct)", f.directMs),
      row('overhead per run (session - direct)', f.overheadMs),
      row('fresh execute-once (client)', f.executeOnceMs),
      `session overhead p50 ${f.overheadP50Ms.toFixed(1)} ms (goal < ${GOAL_MS} ms: ${f.overheadP50Ms < GOAL_MS ? 'met' : 'NOT met'}); ` +
        `session ${f.sessionToDirect}x the direct invocation; execute-once ${f.executeOnceToSession}x a session execute\n`,
      ...f.failures.slice(0, 5).map((failure) => `failed: ${failure}\n`),
    );
  }
  return lines.join('');
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
  const prefix = `bs${randomBytes(2).toString('hex')}-`;
  const standIn = await startStandIn(prefix);
  const api = await startApi({
    HKS_SQLITE_PATH: join(mkdtempSync(join(tmpdir(), 'hks-bench-')), 'api.sqlite'),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
    HKS_JANITOR_INTERVAL_SECONDS: '30',
  }).catch(async (error: unknown) => {
    await standIn.stop();
    throw error;
  });
  try {
    const bearer = `Bearer ${await internalToken([PROJECT], '10m')}`;
    const figures: RuntimeFigures[] = [];
    for (const runtime of RUNTIMES) {
      progress(
        `${runtime}: ${options.warmup} warm-up + ${options.runs} session executes and direct calls, ${options.executeRuns} execute-once`,
      );
      figures.push(await benchRuntime(runtime, options, api.url, bearer, `${prefix}${PROJECT}`));
    }
    const report = {
      machine: { cpus: cpus().length, loadAverage1m: Math.round(loadavg()[0] * 100) / 100 },
      goalMs: GOAL_MS,
      figures,
    };
    process.stdout.write(
      options.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : table(report),
    );
    const met = figures.every((f) => f.overheadP50Ms < GOAL_MS && f.failures.length === 0);
    return met ? 0 : 1;
  } finally {
    await api.stop();
    await standIn.stop();
    await kubectl([
      'delete',
      'namespace',
      `${prefix}${PROJECT}`,
      '--wait=false',
      '--ignore-not-found',
    ]);
    if (startedCluster) await clusterDown(progress);
  }
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
