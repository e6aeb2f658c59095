/**
 * `npm run bench:faults` — a bounded load run and a fault run against real API processes.
 *
 * Load (loopback only, bounded in count): `--requests` (2000) `GET applications` and as many
 * `GET functions`, 200 at once; 50 concurrent applies of distinct applications; 20 concurrent
 * execute-once calls, each result checked; a 429 (more than the project's bound of definitions
 * checked at once) is sent again after its Retry-After and counted, as a bounded API's client
 * does. Faults: (a) SIGKILL of the API while 20 triggers with an `Idempotency-Key` are in
 * flight, every key retried against a restarted API: each key must end as one Job and one
 * execution row; (b) SIGKILL mid-execute: after the janitor's
 * interval no Knative Service, ConfigMap or ServiceAccount with the ephemeral label is left;
 * (c) the harness's etcd stopped (`SIGSTOP`) for `--outage-seconds` (20): `/readyz` and routes
 * that touch Kubernetes must answer 503 `application/problem+json` within 3 s, and the same API
 * process must serve again after `SIGCONT` (always sent, also on Ctrl-C).
 *
 * Brings up what it needs as `bench/execute.bench.ts` does: the test control plane (KUBECONFIG,
 * else the harness's cluster, reused or started and stopped again), the Knative CRDs and
 * stand-in, API processes from `startApi` (the platform's ServiceAccount and RBAC). SQLite by
 * default; `--database-url <postgres://...>` runs every API process on that PostgreSQL.
 *
 * Figures are always printed first, then the guarantees. Exit codes: 0 every guarantee held,
 * 1 one failed (or the run broke), 2 bad usage.
 */
import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION } from '../constructs';
import { type ApiProcess, internalToken, startApi, token } from '../test/api/api-process';
import { clusterDown, clusterUp } from '../test/cluster/cluster';
import { kubectl, kubectlJson } from '../test/cluster/kubectl';
import { startStandIn } from '../test/support/knative-stand-in';
import { harnessEtcdPid, pauseEtcd } from './etcd-pause';
import { type LoadFigures, type Outcome, boundedRun, countOutcomes, figuresLine } from './load-run';

const READ_CONCURRENCY = 200;
const APPLIES = 50;
const EXECUTES = 20;
const TRIGGERS = 20;
const KILLED_EXECUTES = 3;
/** A 503 during the outage must come within this (the probe API's Kube deadline is 2 s). */
const OUTAGE_ANSWER_LIMIT_MS = 3000;
const CRONJOB = 'tick';
/** The annotation the trigger route puts on a manual Job: the key's hash (api/routes/cronjobs.ts). */
const KEY_ANNOTATION = 'hks.hexabase.io/idempotency-key-sha256';
const SQUARE_CODE =
  'def handler(event, context):\n    return {"n": event["n"], "square": event["n"] ** 2}\n';
const SLEEP_CODE = 'import time\n\ndef handler(event, context):\n    time.sleep(30)\n';

interface Options {
  readonly requests: number;
  readonly outageSeconds: number;
  readonly databaseUrl?: string;
}

interface Guarantee {
  readonly name: string;
  readonly held: boolean;
  readonly detail: string;
}

function parseOptions(argv: readonly string[]): Options | string {
  const value = (flag: string) => {
    const index = argv.indexOf(flag);
    return index >= 0 ? (argv[index + 1] ?? '') : undefined;
  };
  const requests = Number(value('--requests') ?? '2000');
  const outageSeconds = Number(value('--outage-seconds') ?? '20');
  const databaseUrl = value('--database-url');
  if (!Number.isInteger(requests) || requests < 1 || requests > 100_000)
    return `--requests: given ${value('--requests')}, expected a whole number from 1 to 100000`;
  if (!Number.isInteger(outageSeconds) || outageSeconds < 1 || outageSeconds > 120)
    return `--outage-seconds: given ${value('--outage-seconds')}, expected a whole number from 1 to 120`;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl))
    return `--database-url: given ${databaseUrl || '(nothing)'}, expected a postgres:// URL`;
  return { requests, outageSeconds, databaseUrl };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A timed HTTP answer: status, media type and parsed JSON (or undefined). */
interface Answer {
  readonly status: number;
  readonly type: string;
  readonly ms: number;
  readonly json: unknown;
  /** The Retry-After header, if any. */
  readonly retryAfter?: string;
}

async function call(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; timeoutMs?: number },
): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: init.headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(init.timeoutMs ?? 120_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    ms: performance.now() - started,
    json,
    retryAfter: res.headers.get('retry-after') ?? undefined,
  };
}

/** Answers 429 (the per-project bound of definitions being checked) that a caller retried. */
interface Refusals {
  count: number;
}

/**
 * {@link call}, sent again after the Retry-After of each 429 (at most 120 times), as a client
 * of a bounded API does; the 429s are counted in `refusals`.
 */
async function callRetrying(
  url: string,
  init: Parameters<typeof call>[1],
  refusals: Refusals,
): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    const answer = await call(url, init);
    if (answer.status !== 429 || attempt >= 120) return answer;
    refusals.count++;
    await sleep(1000 * (Number(answer.retryAfter) || 1));
  }
}

/** Polls `check` every 250 ms until it holds or `timeoutMs` passes; the time it took, or undefined. */
async function timeUntil(
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<number | undefined> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (await check().catch(() => false)) return Math.round(performance.now() - started);
    await sleep(250);
  }
  return undefined;
}

/** The bench's context: the project, its namespace, tokens and how to start its API. */
interface Bench {
  readonly project: string;
  readonly namespace: string;
  readonly userHeaders: Record<string, string>;
  readonly internalHeaders: Record<string, string>;
  readonly apiEnv: Record<string, string>;
  api: ApiProcess;
}

const projectUrl = (b: Bench, api: ApiProcess, path: string) =>
  `${api.url}/api/v1/projects/${b.project}${path}`;

async function ephemeralLeftovers(namespace: string): Promise<string[]> {
  const list = await kubectlJson<{ items: { kind: string; metadata: { name: string } }[] }>([
    'get',
    'services.serving.knative.dev,configmaps,serviceaccounts',
    '-n',
    namespace,
    '-l',
    'hks.hexabase.io/ephemeral=true',
    '-o',
    'json',
  ]);
  return list.items.map((o) => `${o.kind}/${o.metadata.name}`);
}

// ---------------------------------------------------------------------------------------------
// Load

interface LoadReport {
  readonly applications: LoadFigures;
  readonly functions: LoadFigures;
  readonly applies: LoadFigures;
  readonly appliesRefused: number;
  readonly applicationsListed: number;
  readonly executes: LoadFigures;
  readonly executesRefused: number;
  readonly executesCorrect: number;
  readonly executeFailures: readonly string[];
  readonly leftAfterExecutes: readonly string[];
}

async function load(b: Bench, options: Options): Promise<LoadReport> {
  const progress = (line: string) => process.stderr.write(`load: ${line}\n`);
  const get = (path: string) => async (): Promise<Outcome> =>
    (await call(projectUrl(b, b.api, path), { headers: b.userHeaders })).status;
  progress(`${options.requests} GET applications, ${READ_CONCURRENCY} at once`);
  const applications = await boundedRun(options.requests, READ_CONCURRENCY, get('/applications'));
  progress(`${options.requests} GET functions, ${READ_CONCURRENCY} at once`);
  const functions = await boundedRun(options.requests, READ_CONCURRENCY, get('/functions'));
  progress(`${APPLIES} concurrent applies`);
  const appliesRefused: Refusals = { count: 0 };
  const applies = await boundedRun(APPLIES, APPLIES, async (i) => {
    const res = await callRetrying(
      projectUrl(b, b.api, '/applications'),
      {
        method: 'POST',
        headers: b.userHeaders,
        body: {
          apiVersion: API_VERSION,
          kind: 'StatelessApplication',
          metadata: { name: `load-${i}`, project: b.project },
          spec: { image: `ghcr.io/acme/app:1.0.${i}`, port: 8080 },
        },
      },
      appliesRefused,
    );
    return res.status;
  });
  const listed = await call(projectUrl(b, b.api, '/applications'), { headers: b.userHeaders });
  const items = (listed.json as { items?: { name: string }[] } | undefined)?.items ?? [];
  const applicationsListed = items.filter((a) => a.name.startsWith('load-')).length;

  progress(`${EXECUTES} concurrent execute-once`);
  const failures: string[] = [];
  let correct = 0;
  const executesRefused: Refusals = { count: 0 };
  const executes = await boundedRun(EXECUTES, EXECUTES, async (i) => {
    const res = await callRetrying(
      `${b.api.url}/internal/v1/operations/execute`,
      {
        method: 'POST',
        headers: b.internalHeaders,
        body: { runtime: 'python3.12', code: SQUARE_CODE, input: { n: i }, timeoutSeconds: 10 },
      },
      executesRefused,
    );
    const result = res.json as { status?: string; result?: { n?: number; square?: number } };
    if (res.status === 200 && result?.status === 'succeeded' && result.result?.square === i * i)
      correct++;
    else
      failures.push(`execute ${i}: HTTP ${res.status} ${JSON.stringify(res.json).slice(0, 300)}`);
    return res.status;
  });
  let left: string[] = [];
  await timeUntil(30_000, async () => (left = await ephemeralLeftovers(b.namespace)).length === 0);
  return {
    applications,
    functions,
    applies,
    appliesRefused: appliesRefused.count,
    applicationsListed,
    executes,
    executesRefused: executesRefused.count,
    executesCorrect: correct,
    executeFailures: failures,
    leftAfterExecutes: left,
  };
}

// ---------------------------------------------------------------------------------------------
// Fault (a): SIGKILL mid-trigger

interface TriggerReport {
  readonly keys: number;
  readonly answeredBeforeKill: number;
  readonly retried: Readonly<Record<string, number>>;
  readonly accepted: number;
  readonly recorded: number;
  readonly lost: readonly string[];
  readonly duplicateJobs: readonly string[];
  readonly duplicateRows: readonly string[];
  readonly changedAnswers: readonly string[];
  readonly recordMs?: number;
}

interface JobItem {
  metadata: { name: string; annotations?: Record<string, string>; finalizers?: string[] };
}

async function killMidTrigger(b: Bench, restart: () => Promise<void>): Promise<TriggerReport> {
  const progress = (line: string) => process.stderr.write(`fault (a): ${line}\n`);
  const run = randomBytes(3).toString('hex');
  const keys = Array.from({ length: TRIGGERS }, (_, i) => `faults-${run}-${i}`);
  const trigger = (key: string) =>
    call(projectUrl(b, b.api, `/cronjobs/${CRONJOB}/trigger`), {
      method: 'POST',
      headers: { ...b.userHeaders, 'idempotency-key': key },
      timeoutMs: 30_000,
    }).catch(() => undefined);
  progress(`${TRIGGERS} triggers in flight, SIGKILL of the API at the first answer`);
  const inFlight = keys.map(trigger);
  await Promise.race([Promise.race(inFlight), sleep(3000)]);
  await b.api.stop('SIGKILL');
  const first = await Promise.all(inFlight);
  const answeredBeforeKill = first.filter((a) => a && a.status < 300).length;
  await restart();
  progress(`every key retried against the restarted API`);
  const retry = await Promise.all(keys.map(trigger));
  const ids = new Map<string, string>();
  const changedAnswers: string[] = [];
  keys.forEach((key, i) => {
    const after = retry[i]?.json as { id?: string; job?: string } | undefined;
    const before = first[i]?.json as { id?: string } | undefined;
    if (retry[i] && retry[i].status < 300 && after?.id) ids.set(key, after.id);
    if (first[i] && first[i].status < 300 && before?.id !== after?.id)
      changedAnswers.push(`${key}: ${before?.id} then ${after?.id}`);
  });
  const jobNames = new Map(
    keys.map((key, i) => [key, (retry[i]?.json as { job?: string } | undefined)?.job ?? '']),
  );
  type Row = { jobName: string };
  const rows = async () => {
    const res = await call(projectUrl(b, b.api, `/cronjobs/${CRONJOB}/executions?limit=100`), {
      headers: b.userHeaders,
    });
    return res.status === 200 ? ((res.json as { items: Row[] }).items ?? []) : [];
  };
  let seen: Row[] = [];
  const recordMs = await timeUntil(120_000, async () => {
    seen = await rows();
    return [...ids.keys()].every((k) => seen.some((r) => r.jobName === jobNames.get(k)));
  });
  const jobs = await kubectlJson<{ items: JobItem[] }>(['get', 'jobs', '-n', b.namespace]);
  const lost: string[] = [];
  const duplicateJobs: string[] = [];
  const duplicateRows: string[] = [];
  for (const key of ids.keys()) {
    const hash = createHash('sha256').update(`${b.project}\n${CRONJOB}\n${key}`).digest('hex');
    const forKey = jobs.items.filter((j) => j.metadata.annotations?.[KEY_ANNOTATION] === hash);
    const rowsForKey = seen.filter((r) => r.jobName === jobNames.get(key)).length;
    if (forKey.length > 1) duplicateJobs.push(`${key}: ${forKey.length} Jobs`);
    if (rowsForKey === 0) lost.push(key);
    if (rowsForKey > 1) duplicateRows.push(`${key}: ${rowsForKey} rows`);
  }
  return {
    keys: keys.length,
    answeredBeforeKill,
    retried: countOutcomes(retry.map((a) => a?.status ?? 'error')),
    accepted: ids.size,
    recorded: ids.size - lost.length,
    lost,
    duplicateJobs,
    duplicateRows,
    changedAnswers,
    recordMs,
  };
}

// ---------------------------------------------------------------------------------------------
// Fault (b): SIGKILL mid-execute

interface ExecuteKillReport {
  readonly deployedObjects: number;
  readonly cleanMs?: number;
  readonly left: readonly string[];
}

async function killMidExecute(
  b: Bench,
  restart: () => Promise<void>,
  limitMs: number,
): Promise<ExecuteKillReport> {
  const progress = (line: string) => process.stderr.write(`fault (b): ${line}\n`);
  progress(`${KILLED_EXECUTES} sleeping executes, SIGKILL of the API once they are deployed`);
  const running = Array.from({ length: KILLED_EXECUTES }, () =>
    call(`${b.api.url}/internal/v1/operations/execute`, {
      method: 'POST',
      headers: b.internalHeaders,
      body: { runtime: 'python3.12', code: SLEEP_CODE, timeoutSeconds: 3 },
    }).catch(() => undefined),
  );
  let deployed: string[] = [];
  await timeUntil(30_000, async () => {
    deployed = await ephemeralLeftovers(b.namespace);
    return deployed.length >= KILLED_EXECUTES * 3;
  });
  await b.api.stop('SIGKILL');
  await Promise.all(running);
  await restart();
  progress(`waiting for the restarted API's janitor`);
  let left: string[] = deployed;
  const cleanMs = await timeUntil(
    limitMs,
    async () => (left = await ephemeralLeftovers(b.namespace)).length === 0,
  );
  return { deployedObjects: deployed.length, cleanMs, left };
}

// ---------------------------------------------------------------------------------------------
// Fault (c): etcd stopped

interface OutageReport {
  readonly skipped?: string;
  readonly byRoute: Readonly<Record<string, { byStatus: Record<string, number>; maxMs: number }>>;
  readonly notProblem503: number;
  readonly maxMs: number;
  readonly firstSuccessAfterResumeMs?: number;
  readonly readyAfterResumeMs?: number;
  readonly mainApiServesAfterResumeMs?: number;
}

async function etcdOutage(b: Bench, options: Options): Promise<OutageReport> {
  const progress = (line: string) => process.stderr.write(`fault (c): ${line}\n`);
  const pid = harnessEtcdPid();
  if (pid === undefined)
    return {
      skipped: 'no etcd of the test harness runs here (KUBECONFIG names another cluster)',
      byRoute: {},
      notProblem503: 0,
      maxMs: 0,
    };
  // Its own Kube deadline (2 s), same store: the route answers 503 in bounded time.
  const probe = await startApi({
    ...b.apiEnv,
    HKS_KUBE_TIMEOUT_SECONDS: '2',
    HKS_RECORDER: 'off',
    HKS_JANITOR_INTERVAL_SECONDS: '0',
  });
  try {
    const routes: Record<string, string> = {
      '/readyz': `${probe.url}/readyz`,
      'GET functions': projectUrl(b, probe, '/functions'),
      [`GET cronjobs/${CRONJOB}`]: projectUrl(b, probe, `/cronjobs/${CRONJOB}`),
    };
    for (const [route, url] of Object.entries(routes)) {
      const warm = await call(url, { headers: b.userHeaders });
      if (warm.status !== 200) throw new Error(`${route} before the outage: HTTP ${warm.status}`);
    }
    progress(`etcd (pid ${pid}) stopped for ${options.outageSeconds} s`);
    const answers: Record<string, Answer[]> = Object.fromEntries(
      Object.keys(routes).map((r) => [r, []]),
    );
    const paused = pauseEtcd(pid);
    let resumedAt = 0;
    try {
      const until = performance.now() + options.outageSeconds * 1000;
      // Two sequential probers per route: each waits for its answer before asking again.
      await Promise.all(
        Object.entries(routes).flatMap(([route, url]) =>
          [0, 1].map(async () => {
            while (performance.now() + OUTAGE_ANSWER_LIMIT_MS < until) {
              const started = performance.now();
              const answer = await call(url, {
                headers: b.userHeaders,
                timeoutMs: 30_000,
              }).catch(() => ({
                status: 0,
                type: '',
                ms: performance.now() - started,
                json: undefined,
              }));
              answers[route].push(answer);
              await sleep(200);
            }
          }),
        ),
      );
      await sleep(Math.max(0, until - performance.now()));
    } finally {
      paused.resume();
      resumedAt = performance.now();
    }
    progress('etcd resumed');
    const sinceResume = async (url: string, headers: Record<string, string>) =>
      (await timeUntil(
        60_000,
        async () => (await call(url, { headers, timeoutMs: 5000 })).status === 200,
      )) !== undefined
        ? Math.round(performance.now() - resumedAt)
        : undefined;
    const [firstSuccessAfterResumeMs, readyAfterResumeMs, mainApiServesAfterResumeMs] =
      await Promise.all([
        sinceResume(routes['GET functions'], b.userHeaders),
        sinceResume(routes['/readyz'], {}),
        sinceResume(projectUrl(b, b.api, '/functions'), b.userHeaders),
      ]);
    const all = Object.values(answers).flat();
    const slow = Object.entries(answers).flatMap(([route, list]) =>
      list
        .filter((a) => a.status !== 503 || a.ms > OUTAGE_ANSWER_LIMIT_MS)
        .map((a) => `${route} ${a.status || 'no answer'} after ${Math.round(a.ms)} ms`),
    );
    if (slow.length) {
      const logs = join(mkdtempSync(join(tmpdir(), 'hks-bench-faults-logs-')), 'probe-api.log');
      writeFileSync(logs, probe.output());
      progress(`answers out of bounds: ${slow.join('; ')}; the probe API's output: ${logs}`);
    }
    return {
      byRoute: Object.fromEntries(
        Object.entries(answers).map(([route, list]) => [
          route,
          {
            byStatus: countOutcomes(list.map((a) => (a.status === 0 ? 'error' : a.status))),
            maxMs: Math.round(Math.max(0, ...list.map((a) => a.ms))),
          },
        ]),
      ),
      notProblem503: all.filter(
        (a) => a.status !== 503 || !a.type.startsWith('application/problem+json'),
      ).length,
      maxMs: Math.round(Math.max(0, ...all.map((a) => a.ms))),
      firstSuccessAfterResumeMs,
      readyAfterResumeMs,
      mainApiServesAfterResumeMs,
    };
  } finally {
    await probe.stop();
  }
}

// ---------------------------------------------------------------------------------------------

function guaranteesOf(
  l: LoadReport,
  t: TriggerReport,
  e: ExecuteKillReport,
  o: OutageReport,
): Guarantee[] {
  const only = (f: LoadFigures, status: number) =>
    Object.keys(f.byOutcome).every((s) => s === String(status));
  const list: Guarantee[] = [
    {
      name: 'load: every read answered 200',
      held: only(l.applications, 200) && only(l.functions, 200),
      detail: `applications ${JSON.stringify(l.applications.byOutcome)}, functions ${JSON.stringify(l.functions.byOutcome)}`,
    },
    {
      name: 'load: every apply 201 and listed',
      held: only(l.applies, 201) && l.applicationsListed === APPLIES,
      detail: `${JSON.stringify(l.applies.byOutcome)}, ${l.applicationsListed}/${APPLIES} listed`,
    },
    {
      name: 'load: every execute correct, nothing left',
      held: l.executesCorrect === EXECUTES && l.leftAfterExecutes.length === 0,
      detail: `${l.executesCorrect}/${EXECUTES} correct; left: ${l.leftAfterExecutes.join(', ') || 'none'}${l.executeFailures.length ? `; ${l.executeFailures[0]}` : ''}`,
    },
    {
      name: 'kill mid-trigger: nothing lost, no duplicate',
      held:
        t.accepted === t.keys &&
        t.lost.length === 0 &&
        t.duplicateJobs.length === 0 &&
        t.duplicateRows.length === 0 &&
        t.changedAnswers.length === 0,
      detail:
        `${t.recorded}/${t.accepted} accepted recorded once (${t.keys} keys)` +
        [
          ...t.lost.map((k) => `; lost ${k}`),
          ...t.duplicateJobs,
          ...t.duplicateRows,
          ...t.changedAnswers,
        ]
          .map((s) => (s.startsWith(';') ? s : `; ${s}`))
          .join(''),
    },
    {
      name: 'kill mid-execute: nothing left behind',
      held: e.deployedObjects > 0 && e.left.length === 0,
      detail: e.left.length ? `left: ${e.left.join(', ')}` : `${e.deployedObjects} objects removed`,
    },
  ];
  if (o.skipped)
    return [...list, { name: 'etcd outage', held: true, detail: `skipped: ${o.skipped}` }];
  return [
    ...list,
    {
      name: 'etcd away: 503 problem+json, bounded',
      held: o.notProblem503 === 0 && o.maxMs <= OUTAGE_ANSWER_LIMIT_MS,
      detail: `${o.notProblem503} other answers, max ${o.maxMs} ms (limit ${OUTAGE_ANSWER_LIMIT_MS})`,
    },
    {
      name: 'etcd back: same processes serve',
      held:
        o.firstSuccessAfterResumeMs !== undefined &&
        o.readyAfterResumeMs !== undefined &&
        o.mainApiServesAfterResumeMs !== undefined,
      detail: `first 200 after ${o.firstSuccessAfterResumeMs ?? '-'} ms, /readyz ${o.readyAfterResumeMs ?? '-'} ms, main API ${o.mainApiServesAfterResumeMs ?? '-'} ms`,
    },
  ];
}

function figuresText(
  options: Options,
  l: LoadReport,
  t: TriggerReport,
  e: ExecuteKillReport,
  o: OutageReport,
  janitorLimitMs: number,
): string {
  const lines = [
    `load and fault run, ${options.databaseUrl ? 'PostgreSQL' : 'SQLite'}, ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(2)}, ${new Date().toISOString()}`,
    figuresLine('GET applications', l.applications),
    figuresLine('GET functions', l.functions),
    figuresLine('POST applications (distinct)', l.applies),
    `  429 answers retried after Retry-After: ${l.appliesRefused}`,
    figuresLine('execute-once', l.executes),
    `  429 answers retried after Retry-After: ${l.executesRefused}; results correct: ${l.executesCorrect}/${EXECUTES}`,
    `kill -9 mid-trigger: ${t.keys} keys, ${t.answeredBeforeKill} answered before the kill, retries ${JSON.stringify(t.retried)}; ` +
      `${t.recorded}/${t.accepted} recorded once${t.recordMs !== undefined ? ` (all within ${t.recordMs} ms of the retries)` : ''}, ` +
      `duplicate Jobs ${t.duplicateJobs.length}, duplicate rows ${t.duplicateRows.length}`,
    `kill -9 mid-execute: ${e.deployedObjects} temporary objects at the kill; ` +
      (e.cleanMs !== undefined
        ? `none left ${e.cleanMs} ms after the restart`
        : `${e.left.length} left after ${janitorLimitMs} ms`),
  ];
  if (o.skipped) lines.push(`etcd outage: skipped (${o.skipped})`);
  else {
    lines.push(`etcd stopped ${options.outageSeconds} s:`);
    for (const [route, r] of Object.entries(o.byRoute))
      lines.push(`  ${route.padEnd(20)} ${JSON.stringify(r.byStatus)}, max ${r.maxMs} ms`);
    lines.push(
      `  after SIGCONT: GET functions 200 after ${o.firstSuccessAfterResumeMs ?? '-'} ms, /readyz 200 after ${o.readyAfterResumeMs ?? '-'} ms, ` +
        `main API after ${o.mainApiServesAfterResumeMs ?? '-'} ms (no restart)`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function summaryTable(guarantees: readonly Guarantee[]): string {
  return `${guarantees
    .map((g) => `${(g.held ? 'held' : 'FAILED').padEnd(7)} ${g.name.padEnd(46)} ${g.detail}`)
    .join('\n')}\n`;
}

/** Lets the recorder's finalizers go so the namespace can be deleted once no API runs. */
async function releaseJobs(namespace: string): Promise<void> {
  const jobs = await kubectlJson<{ items: JobItem[] }>(['get', 'jobs', '-n', namespace]).catch(
    () => ({ items: [] as JobItem[] }),
  );
  await Promise.all(
    jobs.items
      .filter((j) => j.metadata.finalizers?.length)
      .map((j) =>
        kubectl([
          'patch',
          'job',
          j.metadata.name,
          '-n',
          namespace,
          '--type=json',
          '-p',
          '[{"op":"remove","path":"/metadata/finalizers"}]',
        ]),
      ),
  );
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
  const suffix = randomBytes(2).toString('hex');
  const prefix = `f${suffix}-`;
  // A project of its own per run, so a reused PostgreSQL holds nothing of an earlier run.
  const project = `faults-${suffix}`;
  const janitorIntervalSeconds = 2;
  const readyTimeoutSeconds = 30;
  const apiEnv: Record<string, string> = {
    ...(options.databaseUrl
      ? { HKS_DATABASE_URL: options.databaseUrl }
      : { HKS_SQLITE_PATH: join(mkdtempSync(join(tmpdir(), 'hks-bench-faults-')), 'api.sqlite') }),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_READY_TIMEOUT_SECONDS: String(readyTimeoutSeconds),
    // Temporary functions expire right after their ready wait and timeout: what the janitor
    // must remove after a kill is due within seconds.
    HKS_EPHEMERAL_GRACE_SECONDS: '0',
    HKS_EPHEMERAL_MAX_PER_PROJECT: String(EXECUTES + KILLED_EXECUTES),
    HKS_JANITOR_INTERVAL_SECONDS: String(janitorIntervalSeconds),
  };
  const standIn = await startStandIn(prefix);
  const b: Bench = {
    project,
    namespace: `${prefix}${project}`,
    userHeaders: {
      authorization: `Bearer ${await token([project], undefined, '30m')}`,
      'content-type': 'application/json',
    },
    internalHeaders: {
      authorization: `Bearer ${await internalToken([project], '10m')}`,
      'content-type': 'application/json',
    },
    apiEnv,
    api: await startApi(apiEnv),
  };
  const restart = async () => {
    b.api = await startApi(apiEnv);
  };
  try {
    const cron = await call(projectUrl(b, b.api, '/applications'), {
      method: 'POST',
      headers: b.userHeaders,
      body: {
        apiVersion: API_VERSION,
        kind: 'CronJob',
        metadata: { name: CRONJOB, project },
        spec: { image: 'ghcr.io/acme/job:1', schedule: '0 0 1 1 *' },
      },
    });
    if (cron.status !== 201)
      throw new Error(`POST the CronJob: HTTP ${cron.status} ${JSON.stringify(cron.json)}`);
    const started = performance.now();
    const l = await load(b, options);
    const t = await killMidTrigger(b, restart);
    // Expired after the ready wait + the 3 s timeout (grace 0), swept within an interval.
    const janitorLimitMs = (readyTimeoutSeconds + 3 + 4 * janitorIntervalSeconds + 15) * 1000;
    const e = await killMidExecute(b, restart, janitorLimitMs);
    const o = await etcdOutage(b, options);
    process.stdout.write(figuresText(options, l, t, e, o, janitorLimitMs));
    process.stdout.write(`total ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    const guarantees = guaranteesOf(l, t, e, o);
    process.stdout.write(summaryTable(guarantees));
    return guarantees.every((g) => g.held) ? 0 : 1;
  } finally {
    await b.api.stop();
    await standIn.stop();
    await releaseJobs(b.namespace);
    await kubectl(['delete', 'namespace', b.namespace, '--wait=false', '--ignore-not-found']);
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
