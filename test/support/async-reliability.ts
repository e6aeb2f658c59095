import { API_VERSION } from '../../constructs';
import { Store } from '../../api/store/store';
import { type ApiProcess, startApi, token } from '../api/api-process';
import { sleep, waitFor } from '../cluster/wait';
import { COUNTED_FUNCTION_CODE, startRunCounter } from './run-counter';

/** What a reliability run is given. */
export interface ReliabilityOptions {
  /** Invocations submitted. */
  readonly count: number;
  /** The store's environment (HKS_SQLITE_PATH or HKS_DATABASE_URL), fresh. */
  readonly storeEnv: Readonly<Record<string, string>>;
  /** The namespace prefix a running Knative stand-in handles. */
  readonly namespacePrefix: string;
  readonly project: string;
  /** Share of the function's runs that fail (500). @default 0.2 */
  readonly failRate?: number;
  /** Seed of the failures. @default 17 */
  readonly seed?: number;
  /** Progress lines. @default - none */
  readonly log?: (line: string) => void;
}

/** The figures of a run. */
export interface ReliabilityFigures {
  readonly invocations: number;
  readonly rowsInStore: number;
  readonly succeeded: number;
  readonly dead: number;
  readonly otherStates: Record<string, number>;
  readonly functionRuns: number;
  readonly failedRuns: number;
  readonly attempts: Record<number, number>;
  readonly killsAtRuns: number[];
  readonly submitRetries: number;
  readonly idempotentReplays: number;
  /** Invocations that succeeded in more than one run: the at-least-once window of a kill. */
  readonly succeededTwice: number;
  /** Runs that began after their invocation's success was stored: must be 0. */
  readonly runsAfterSuccess: number;
  readonly submitSeconds: number;
  readonly totalSeconds: number;
}

/** A run's figures and every guarantee that did not hold. */
export interface ReliabilityReport {
  readonly figures: ReliabilityFigures;
  readonly violations: string[];
}

interface View {
  id: string;
  state: string;
  attempts: number;
  maxAttempts: number;
  finishedAt?: string;
  result?: { status: number; body?: string };
}

const FINAL = new Set(['succeeded', 'dead', 'cancelled']);
const MAX_ATTEMPTS = 4;

/** One line of figures. */
export function figuresLine(f: ReliabilityFigures): string {
  const attempts = Object.entries(f.attempts)
    .map(([n, c]) => `${n}:${c}`)
    .join(' ');
  return [
    `${f.invocations} invocations (${f.rowsInStore} rows in the store): ${f.succeeded} succeeded, ${f.dead} dead${Object.keys(f.otherStates).length ? `, other ${JSON.stringify(f.otherStates)}` : ''}`,
    `function runs ${f.functionRuns} (${f.failedRuns} told to fail, ${((100 * f.failedRuns) / Math.max(1, f.functionRuns)).toFixed(1)} %); attempts per invocation ${attempts}`,
    `API killed (SIGKILL) at ${f.killsAtRuns.join(' and ')} runs; submissions retried after a kill ${f.submitRetries}, answered as replays of their Idempotency-Key ${f.idempotentReplays}`,
    `succeeded in two runs (a kill between the function's answer and its write: at-least-once) ${f.succeededTwice}; runs begun after the success was stored ${f.runsAfterSuccess}`,
    `submitted in ${f.submitSeconds.toFixed(1)} s, all finished in ${f.totalSeconds.toFixed(1)} s (${(f.invocations / f.totalSeconds).toFixed(1)} invocations/s)`,
  ].join('\n');
}

/**
 * Submits `count` asynchronous invocations of a function that fails `failRate` of its runs at
 * random (seeded), each with its own Idempotency-Key, and SIGKILLs the API twice while they run
 * (after 30 % and 70 % of `count` function runs), starting a new one each time; a submission
 * that fails for the kill is sent again with its key. At the end every invocation must be
 * succeeded or dead, once in the store, and no run may begin after its success was stored.
 */
export async function runAsyncReliability(options: ReliabilityOptions): Promise<ReliabilityReport> {
  const log = options.log ?? (() => undefined);
  const { count, project } = options;
  const counter = await startRunCounter(options.failRate ?? 0.2, options.seed ?? 17);
  const env = {
    ...options.storeEnv,
    HKS_NAMESPACE_PREFIX: options.namespacePrefix,
    HKS_RECORDER: 'off',
    HKS_ASYNC_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    HKS_ASYNC_RETRY_BASE_MS: '200',
    HKS_ASYNC_RETRY_MAX_MS: '2000',
    HKS_ASYNC_LEASE_SECONDS: '3',
    HKS_ASYNC_CONCURRENCY: '16',
    HKS_ASYNC_POLL_MS: '100',
    HKS_ASYNC_MAX_QUEUED_PER_PROJECT: String(count + 100),
  };
  const headers = {
    authorization: `Bearer ${await token([project], undefined, '1h')}`,
    'content-type': 'application/json',
  };
  let api: ApiProcess = await startApi(env);
  const url = (path: string) => `${api.url}/api/v1/projects/${project}${path}`;
  try {
    const deployed = await fetch(url('/applications'), {
      method: 'POST',
      headers,
      body: JSON.stringify({
        apiVersion: API_VERSION,
        kind: 'Function',
        metadata: { name: 'flaky', project },
        spec: { runtime: 'python3.12', code: COUNTED_FUNCTION_CODE },
      }),
    });
    if (![200, 201].includes(deployed.status)) throw new Error(`deploy: ${await deployed.text()}`);
    await waitFor('flaky ready', 90_000, async () => {
      const res = await fetch(url('/functions/flaky'), { headers });
      return res.ok && ((await res.json()) as { ready?: boolean }).ready === true;
    });
    const started = performance.now();
    const violations: string[] = [];
    const ids: string[] = new Array<string>(count);
    let submitRetries = 0;
    let idempotentReplays = 0;
    let restarting = false;

    const submitOne = async (n: number): Promise<void> => {
      for (;;) {
        try {
          const res = await fetch(url('/functions/flaky/invoke'), {
            method: 'POST',
            headers: { ...headers, prefer: 'respond-async', 'idempotency-key': `rel-${n}` },
            body: JSON.stringify({ n, counter: counter.url }),
            signal: AbortSignal.timeout(30_000),
          });
          const json = (await res.json()) as { id?: string };
          if (res.status === 202 || res.status === 200) {
            if (res.status === 200) idempotentReplays++;
            if (ids[n] !== undefined && ids[n] !== json.id)
              violations.push(`item ${n}: its key gave ${ids[n]}, then ${json.id}`);
            ids[n] = String(json.id);
            return;
          }
          throw new Error(`status ${res.status}: ${JSON.stringify(json)}`);
        } catch (error) {
          if (!restarting) log(`submission ${n} failed (${(error as Error).message}); again`);
          submitRetries++;
          await sleep(250);
        }
      }
    };
    const submitting = (async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < count) await submitOne(next++);
        }),
      );
    })();

    const progress = setInterval(() => {
      const submitted = ids.filter((id) => id !== undefined).length;
      log(
        `progress: ${submitted}/${count} submitted, ${counter.runs.length} runs; API: ${api.output().trim().split('\n').slice(-2).join(' | ').slice(0, 600)}`,
      );
    }, 15_000);
    const killsAtRuns: number[] = [];
    for (const share of [0.3, 0.7]) {
      await waitFor(
        `${share * 100} % of the runs`,
        600_000,
        async () => counter.runs.length >= share * count,
        undefined,
        50,
      );
      restarting = true;
      killsAtRuns.push(counter.runs.length);
      log(`SIGKILL at ${counter.runs.length} runs`);
      await api.stop('SIGKILL');
      api = await startApi(env);
      restarting = false;
    }
    await submitting;
    const submitSeconds = (performance.now() - started) / 1000;
    log(`all ${count} submitted in ${submitSeconds.toFixed(1)} s`);

    const views = new Map<string, View>();
    await waitFor(
      'every invocation finished',
      900_000,
      async () => {
        const open = ids.filter((id) => !FINAL.has(views.get(id)?.state ?? ''));
        for (let i = 0; i < open.length; i += 32)
          await Promise.all(
            open.slice(i, i + 32).map(async (id) => {
              const res = await fetch(url(`/functions/flaky/async-invocations/${id}`), { headers });
              if (res.ok) views.set(id, (await res.json()) as View);
            }),
          );
        return ids.every((id) => FINAL.has(views.get(id)?.state ?? ''));
      },
      undefined,
      1000,
    );
    const totalSeconds = (performance.now() - started) / 1000;
    clearInterval(progress);

    const runsOf = new Map<number, typeof counter.runs>();
    for (const run of counter.runs) runsOf.set(run.n, [...(runsOf.get(run.n) ?? []), run]);
    const states: Record<string, number> = {};
    const attempts: Record<number, number> = {};
    let succeededTwice = 0;
    let runsAfterSuccess = 0;
    ids.forEach((id, n) => {
      const view = views.get(id) as View;
      states[view.state] = (states[view.state] ?? 0) + 1;
      attempts[view.attempts] = (attempts[view.attempts] ?? 0) + 1;
      const runs = runsOf.get(n) ?? [];
      if (runs.length === 0) violations.push(`item ${n} (${id}): never run`);
      if (view.state === 'succeeded') {
        const finished = Date.parse(view.finishedAt ?? '');
        const after = runs.filter((r) => r.at > finished);
        runsAfterSuccess += after.length;
        if (after.length > 0)
          violations.push(`item ${n} (${id}): ${after.length} runs after its success was stored`);
        if (runs.filter((r) => !r.fail).length > 1) succeededTwice++;
        const serial = (JSON.parse(view.result?.body ?? '{}') as { serial?: number }).serial;
        if (!runs.some((r) => r.serial === serial && !r.fail))
          violations.push(
            `item ${n} (${id}): its result ${view.result?.body} is not a successful run's`,
          );
      } else if (view.state === 'dead') {
        if (view.attempts !== MAX_ATTEMPTS)
          violations.push(
            `item ${n} (${id}): dead after ${view.attempts} attempts, expected ${MAX_ATTEMPTS}`,
          );
      } else violations.push(`item ${n} (${id}): ended ${view.state}`);
    });
    if (new Set(ids).size !== count)
      violations.push(`${new Set(ids).size} distinct ids for ${count} items`);
    await api.stop();
    const store = await Store.open({
      databaseUrl: options.storeEnv.HKS_DATABASE_URL,
      sqlitePath: options.storeEnv.HKS_SQLITE_PATH ?? '',
    });
    let rowsInStore = 0;
    try {
      const row = (await store
        .knex('async_invocations')
        .where({ project })
        .count({ n: '*' })
        .first()) as { n: number | string };
      rowsInStore = Number(row.n);
    } finally {
      await store.close();
    }
    if (rowsInStore !== count)
      violations.push(`${rowsInStore} rows in the store for ${count} items`);
    const { succeeded = 0, dead = 0, ...otherStates } = states;
    return {
      violations,
      figures: {
        invocations: count,
        rowsInStore,
        succeeded,
        dead,
        otherStates,
        functionRuns: counter.runs.length,
        failedRuns: counter.runs.filter((r) => r.fail).length,
        attempts,
        killsAtRuns,
        submitRetries,
        idempotentReplays,
        succeededTwice,
        runsAfterSuccess,
        submitSeconds,
        totalSeconds,
      },
    };
  } finally {
    await api.stop().catch(() => undefined);
    await counter.close();
  }
}
