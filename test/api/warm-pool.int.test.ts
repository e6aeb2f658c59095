import { randomBytes } from 'node:crypto';
import { kubectl } from '../cluster/kubectl';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import { ApiProcess, internalToken, metricsText, startApi, testStores } from './api-process';

jest.setTimeout(240_000);

/**
 * Warm pools for execute-once through the real API on the test cluster, with the Knative
 * stand-in running the instances as processes: an execute served by a ready instance (nothing
 * deployed on the call), the instance deleted after it and the pool refilled; nothing of one
 * execution seen by the next; an empty pool or a project without one deploying as before; a
 * timeout; bad input consuming no instance; the instances gone when the API stops.
 */
const prefix = `wp${randomBytes(2).toString('hex')}-`;
const POOLED = 'warm-pool-main';
const UNPOOLED = 'warm-pool-none';
const POOL_LABEL = 'hks.hexabase.io/warm-pool';
let api: ApiProcess;
let standIn: StandInProcess;
let internal: string;

interface Result {
  id: string;
  status: string;
  pool?: boolean;
  result?: unknown;
  stdout: string;
  stopped?: boolean;
  timings: Record<string, number>;
}

async function execute(
  body: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${api.url}/internal/v1/operations/execute`, {
    method: 'POST',
    headers: { authorization: `Bearer ${internal}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function executed(body: Record<string, unknown>): Promise<Result> {
  const res = await execute(body);
  expect({ status: res.status, detail: res.body.detail }).toEqual({ status: 200 });
  return res.body as unknown as Result;
}

/** Names of the project's Knative Services labelled as pool instances of `runtime`. */
async function poolServices(project: string, runtime?: string): Promise<string[]> {
  const got = await kubectl([
    'get',
    'ksvc',
    '-n',
    `${prefix}${project}`,
    '-l',
    runtime ? `${POOL_LABEL}=${runtime}` : POOL_LABEL,
    '-o',
    'jsonpath={.items[*].metadata.name}',
  ]);
  return got.stdout.split(' ').filter(Boolean);
}

async function exists(project: string, name: string): Promise<boolean> {
  return (await kubectl(['get', 'ksvc', name, '-n', `${prefix}${project}`])).code === 0;
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The pool's ready instances of `runtime` as the API's gauge reports them. */
async function readyInPool(runtime: string): Promise<number> {
  const text = await metricsText(api);
  const line = text
    .split('\n')
    .find((l) =>
      l.startsWith(
        `hks_warm_pool_instances{project="${POOLED}",runtime="${runtime}",state="ready"}`,
      ),
    );
  return Number(line?.split(' ').pop() ?? 0);
}

const CODE = {
  'python3.12': {
    writer:
      'counter = 41\ndef handler(event):\n    global counter\n    counter += 1\n    import builtins\n    builtins.leaked = "yes"\n    with open("notes.txt", "w") as f:\n        f.write(event["note"])\n    return counter\n',
    reader:
      'import os, builtins\ndef handler(event, context):\n    return {"notes": os.path.exists("notes.txt"), "leaked": getattr(builtins, "leaked", None)}\n',
    slow: 'import time\ndef handler(event):\n    time.sleep(30)\n',
    printer: 'def handler(event):\n    print("from the pool")\n    return 1\n',
    badSignature: 'def handler(a, b, c):\n    return 1\n',
  },
  nodejs20: {
    writer:
      "let counter = 41;\nexports.handler = (event) => {\n  counter += 1;\n  globalThis.leaked = 'yes';\n  require('node:fs').writeFileSync('notes.txt', event.note);\n  return counter;\n};\n",
    reader:
      "exports.handler = async () => ({ notes: require('node:fs').existsSync('notes.txt'), leaked: globalThis.leaked ?? null });\n",
    slow: 'exports.handler = () => new Promise((resolve) => setTimeout(resolve, 30000));\n',
    printer: "exports.handler = () => {\n  console.log('from the pool');\n  return 1;\n};\n",
    badSignature: 'exports.handler = (a, b, c) => 1;\n',
  },
} as const;

beforeAll(async () => {
  standIn = await startStandIn(prefix);
  api = await startApi({
    ...(await testStores()[0].env()),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
    HKS_JANITOR_INTERVAL_SECONDS: '0',
    HKS_EPHEMERAL_MAX_PER_PROJECT: '4',
    HKS_WARM_POOL_PROJECTS: `${POOLED}=1`,
  });
  internal = await internalToken([POOLED, UNPOOLED]);
}, 120_000);

afterAll(async () => {
  if (process.env.HKS_TEST_SHOW_API_LOG) console.log(api?.output());
  await api?.stop();
  await standIn?.stop();
});

describe.each(['python3.12', 'nodejs20'] as const)('%s warm pool', (runtime) => {
  const ready = () =>
    waitFor(`a ready ${runtime} pool instance`, async () => (await readyInPool(runtime)) === 1);

  it('serves an execute from a ready instance, deletes it after and refills the pool', async () => {
    await ready();
    const [waiting] = await poolServices(POOLED, runtime);
    const first = await executed({
      project: POOLED,
      runtime,
      code: CODE[runtime].writer,
      input: { note: 'n1' },
    });
    expect(first).toMatchObject({ status: 'succeeded', result: 42, pool: true, id: waiting });
    // Nothing was deployed or awaited on the call.
    expect(first.timings.deploy).toBeUndefined();
    expect(first.timings.ready).toBeUndefined();
    await waitFor('the used instance to be deleted', async () => !(await exists(POOLED, waiting)));
    await ready();
    const [refilled] = await poolServices(POOLED, runtime);
    expect(refilled).toBeDefined();
    expect(refilled).not.toBe(waiting);
  });

  it('leaves nothing of one execution to the next: no file, no global', async () => {
    await ready();
    const writer = await executed({
      project: POOLED,
      runtime,
      code: CODE[runtime].writer,
      input: { note: 'n2' },
    });
    expect(writer).toMatchObject({ pool: true, result: 42 });
    await ready();
    const reader = await executed({ project: POOLED, runtime, code: CODE[runtime].reader });
    expect(reader).toMatchObject({
      status: 'succeeded',
      pool: true,
      result: { notes: false, leaked: null },
    });
    expect(reader.id).not.toBe(writer.id);
  });

  it('refuses bad input naming the field without consuming the instance', async () => {
    await ready();
    const [waiting] = await poolServices(POOLED, runtime);
    const refused = await execute({ project: POOLED, runtime, code: CODE[runtime].badSignature });
    expect(refused.status).toBe(400);
    expect(String(refused.body.detail)).toMatch(/handler/);
    const deep = await execute({
      project: POOLED,
      runtime,
      code: CODE[runtime].reader,
      input: JSON.parse('['.repeat(600) + ']'.repeat(600)) as unknown,
    });
    expect(deep).toMatchObject({ status: 400, body: { errors: [{ path: 'input' }] } });
    expect(await poolServices(POOLED, runtime)).toEqual([waiting]);
    expect(await readyInPool(runtime)).toBe(1);
  });

  it('deletes the instance at a timeout', async () => {
    await ready();
    const result = await executed({
      project: POOLED,
      runtime,
      code: CODE[runtime].slow,
      timeoutSeconds: 2,
    });
    expect(result).toMatchObject({ status: 'timeout', pool: true, stopped: true });
    expect(await exists(POOLED, result.id)).toBe(false);
  });

  it('streams an execute served by the pool: ready, running, output, then the result', async () => {
    await ready();
    const res = await fetch(`${api.url}/internal/v1/operations/execute`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${internal}`,
        'content-type': 'application/json',
        accept: 'text/event-stream',
      },
      body: JSON.stringify({ project: POOLED, runtime, code: CODE[runtime].printer }),
    });
    expect(res.status).toBe(200);
    const events = (await res.text())
      .split('\n\n')
      .map((block) => ({
        event: /^event: (.*)$/m.exec(block)?.[1],
        data: /^data: (.*)$/m.exec(block)?.[1],
      }))
      .filter((e) => e.event !== undefined);
    const phases = events
      .filter((e) => e.event === 'phase')
      .map((e) => (JSON.parse(e.data ?? '{}') as { phase: string }).phase);
    expect(phases).toEqual(['ready', 'running']);
    // A print may come as two writes (its text, then the newline).
    const output = events
      .filter((e) => e.event === 'output')
      .map((e) => JSON.parse(e.data ?? '{}') as { stream: string; text: string });
    expect(output.map((o) => o.stream)).toEqual(output.map(() => 'stdout'));
    expect(output.map((o) => o.text).join('')).toBe('from the pool\n');
    const result = events.find((e) => e.event === 'result');
    expect(JSON.parse(result?.data ?? '{}')).toMatchObject({ status: 'succeeded', pool: true });
  });

  it('deploys as before when the pool is empty or the project has none', async () => {
    await ready();
    // Two at once with a pool of one: one takes the instance, the other deploys.
    const both = await Promise.all(
      [1, 2].map(() => executed({ project: POOLED, runtime, code: CODE[runtime].reader })),
    );
    expect(both.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect(both.map((r) => r.pool === true).sort()).toEqual([false, true]);
    const deployed = both.find((r) => r.pool === undefined);
    expect(deployed?.timings.deploy).toBeGreaterThan(0);
    const unpooled = await executed({ project: UNPOOLED, runtime, code: CODE[runtime].reader });
    expect(unpooled.pool).toBeUndefined();
    expect(unpooled.timings.deploy).toBeGreaterThan(0);
    expect(await poolServices(UNPOOLED)).toEqual([]);
    const metrics = await metricsText(api);
    expect(metrics).toMatch(
      new RegExp(
        `hks_warm_pool_executions_total\\{project="${POOLED}",runtime="${runtime.replace('.', '\\.')}",result="miss"\\} [1-9]`,
      ),
    );
  });
});

describe("at the project's cap", () => {
  const CAPPED = 'warm-pool-capped';
  let capped: ApiProcess;
  let bearer: string;

  beforeAll(async () => {
    capped = await startApi({
      ...(await testStores()[0].env()),
      HKS_NAMESPACE_PREFIX: prefix,
      HKS_RECORDER: 'off',
      HKS_JANITOR_INTERVAL_SECONDS: '0',
      HKS_EPHEMERAL_MAX_PER_PROJECT: '2',
      HKS_WARM_POOL_PROJECTS: `${CAPPED}=1`,
      HKS_WARM_POOL_RUNTIMES: 'python3.12',
    });
    bearer = await internalToken([CAPPED]);
  });

  afterAll(async () => {
    await capped?.stop();
  });

  it('an execute comes first: an idle instance gives its slot up', async () => {
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${capped.url}/internal/v1/operations/${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    await waitFor('the pool instance', async () => (await poolServices(CAPPED)).length === 1);
    const [idle] = await poolServices(CAPPED);
    // The pool's instance and this function fill the cap of 2.
    const held = await post('deploy-function', {
      runtime: 'python3.12',
      code: CODE['python3.12'].reader,
    });
    expect(held.status).toBe(201);
    // Not pooled (nodejs20): it must deploy, at a full cap.
    const run = await post('execute', { runtime: 'nodejs20', code: CODE.nodejs20.reader });
    expect({ status: run.status, detail: run.body.detail }).toEqual({ status: 200 });
    expect(run.body).toMatchObject({ status: 'succeeded', result: { notes: false } });
    expect(run.body.pool).toBeUndefined();
    expect(await exists(CAPPED, idle)).toBe(false);
    const removed = await fetch(
      `${capped.url}/internal/v1/operations/functions/${String(held.body.id)}`,
      {
        method: 'DELETE',
        headers: { authorization: `Bearer ${bearer}` },
      },
    );
    expect(removed.status).toBe(204);
  });
});

describe('stopping the API', () => {
  it('deletes every pool instance', async () => {
    await waitFor('both pools ready', async () => (await poolServices(POOLED)).length === 2);
    await api.stop();
    await waitFor('no pool instance left', async () => (await poolServices(POOLED)).length === 0);
  });
});
