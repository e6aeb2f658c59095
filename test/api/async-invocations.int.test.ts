import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runHksFunc } from '../../cli/hks-func/program';
import { HksClient } from '../../sdk/typescript';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyCallback } from '../../api/async-invocations/callback';
import { API_VERSION } from '../../constructs';
import { sleep, waitFor } from '../cluster/wait';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import { COUNTED_FUNCTION_CODE, RunCounter, startRunCounter } from '../support/run-counter';
import { ApiProcess, projectRequest, startApi, testStores, token } from './api-process';

jest.setTimeout(300_000);

/**
 * Asynchronous invocations through real API processes on the real control plane, the
 * functions run by the Knative stand-in: 202 and polling, the result a synchronous invoke
 * gives, idempotency keys, cancel, retries until dead, signed callbacks received by a real
 * server, the refusals (nothing queued), a SIGKILL while invocations run, and on PostgreSQL
 * two replicas sharing the queue with no invocation run again after its success.
 */

const prefix = `a${randomBytes(2).toString('hex')}-`;
let standIn: StandInProcess;

interface View {
  id: string;
  state: string;
  attempts: number;
  maxAttempts: number;
  attemptIds: string[];
  location?: string;
  finishedAt?: string;
  lastError?: string;
  callback?: { state: string; attempts: number; status?: number };
  result?: { status: number; contentType?: string; body?: string; bytes: number };
}

const FINAL = ['succeeded', 'dead', 'cancelled'];

const fn = (project: string, name: string, code: string) => ({
  apiVersion: API_VERSION,
  kind: 'Function',
  metadata: { name, project },
  spec: { runtime: 'python3.12', code },
});

const ECHO_CODE = [
  'import time',
  '',
  'def handler(event, context):',
  '    if event.get("sleep"):',
  '        time.sleep(event["sleep"])',
  '    if event.get("status"):',
  '        return {"statusCode": event["status"], "body": {"asked": event["status"]}}',
  '    return {"word": event.get("word"), "length": len(event.get("word") or "")}',
  '',
].join('\n');

/** One API process and a project's helpers on it. */
class Client {
  constructor(
    public api: ApiProcess,
    private readonly project: string,
    private readonly headers: Record<string, string>,
  ) {}

  public request(method: string, path: string, body?: unknown) {
    return projectRequest(this.api, this.project, this.headers, method, path, body);
  }

  public async invoke(
    name: string,
    body: unknown,
    extra: Record<string, string> = {},
    query = '',
  ): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
    const res = await fetch(
      `${this.api.url}/api/v1/projects/${this.project}/functions/${name}/invoke${query}`,
      {
        method: 'POST',
        headers: { ...this.headers, ...extra },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      },
    );
    return {
      status: res.status,
      headers: res.headers,
      json: (await res.json()) as Record<string, unknown>,
    };
  }

  public async submit(name: string, body: unknown, extra: Record<string, string> = {}) {
    const res = await this.invoke(name, body, { prefer: 'respond-async', ...extra });
    if (res.status !== 202 && res.status !== 200)
      throw new Error(`submit: ${res.status} ${JSON.stringify(res.json)}`);
    return res.json as unknown as View;
  }

  public async view(name: string, id: string): Promise<View> {
    const res = await this.request('GET', `/functions/${name}/async-invocations/${id}`);
    if (res.status !== 200) throw new Error(`GET ${id}: ${res.status} ${res.text}`);
    return res.json as unknown as View;
  }

  public async finished(name: string, id: string, timeoutMs = 60_000): Promise<View> {
    let view: View | undefined;
    await waitFor(`invocation ${id} finished`, timeoutMs, async () => {
      view = await this.view(name, id);
      return FINAL.includes(view.state);
    });
    return view as View;
  }

  public async count(name: string): Promise<number> {
    const res = await this.request('GET', `/functions/${name}/async-invocations?limit=500`);
    return (res.json.items as unknown[]).length;
  }
}

async function deploy(client: Client, project: string, name: string, code: string) {
  const res = await client.request('POST', '/applications', fn(project, name, code));
  expect([200, 201]).toContain(res.status);
  await waitFor(`${name} ready`, 90_000, async () => {
    const got = await client.request('GET', `/functions/${name}`);
    return got.status === 200 && got.json.ready === true;
  });
}

/** A callback receiver: every POST with its headers and body. */
async function startReceiver(): Promise<{
  url: string;
  received: { headers: IncomingHttpHeaders; body: Buffer }[];
  close(): Promise<void>;
}> {
  const received: { headers: IncomingHttpHeaders; body: Buffer }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

beforeAll(async () => {
  standIn = await startStandIn(prefix);
}, 120_000);

afterAll(async () => {
  await standIn?.stop();
});

describe.each(testStores())('asynchronous invocations ($name)', (testStore) => {
  const project = `asyncinv-${testStore.name}`;
  let env: Record<string, string>;
  let client: Client;
  let headers: Record<string, string>;
  const apiEnv = () => ({
    ...env,
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
    HKS_ASYNC_MAX_ATTEMPTS: '3',
    HKS_ASYNC_RETRY_BASE_MS: '100',
    HKS_ASYNC_RETRY_MAX_MS: '400',
    HKS_ASYNC_POLL_MS: '100',
    HKS_ASYNC_PAYLOAD_LIMIT_BYTES: '4096',
  });

  beforeAll(async () => {
    env = await testStore.env();
    headers = {
      authorization: `Bearer ${await token([project])}`,
      'content-type': 'application/json',
    };
    client = new Client(await startApi(apiEnv()), project, headers);
    await deploy(client, project, 'echo', ECHO_CODE);
  }, 150_000);

  afterAll(async () => {
    await client?.api.stop();
  });

  test('202 with a Location, polled until succeeded, its result what a synchronous invoke answers', async () => {
    const sync = await client.invoke('echo', { word: 'hello' });
    expect(sync.status).toBe(200);
    const res = await client.invoke('echo', { word: 'hello' }, { prefer: 'respond-async' });
    expect(res.status).toBe(202);
    expect(res.headers.get('preference-applied')).toBe('respond-async');
    const id = String(res.json.id);
    const location = `/api/v1/projects/${project}/functions/echo/async-invocations/${id}`;
    expect(res.json).toEqual({ id, state: 'queued', location });
    expect(res.headers.get('location')).toBe(location);
    const done = await client.finished('echo', id);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 1, attemptIds: [id] });
    expect(done.result?.status).toBe(200);
    expect(JSON.parse(done.result?.body ?? '')).toEqual(sync.json);
    // The attempt is in the invocation history under the invocation's id, trigger async.
    await waitFor('attempt recorded', 10_000, async () => {
      const got = await client.request('GET', `/functions/echo/invocations/${id}`);
      return got.status === 200 && got.json.trigger === 'async' && got.json.status === 'succeeded';
    });
    // ?async=true does the same.
    const byQuery = await client.invoke('echo', { word: 'q' }, {}, '?async=true');
    expect(byQuery.status).toBe(202);
    expect((await client.finished('echo', String(byQuery.json.id))).state).toBe('succeeded');
  });

  test('an Idempotency-Key returns the same invocation; another body with it is a 422 naming the key', async () => {
    const key = `order-${randomBytes(3).toString('hex')}`;
    const first = await client.invoke(
      'echo',
      { word: 'once' },
      { prefer: 'respond-async', 'idempotency-key': key },
    );
    expect(first.status).toBe(202);
    const again = await client.invoke(
      'echo',
      { word: 'once' },
      { prefer: 'respond-async', 'idempotency-key': key },
    );
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json.id).toBe(first.json.id);
    const other = await client.invoke(
      'echo',
      { word: 'twice' },
      { prefer: 'respond-async', 'idempotency-key': key },
    );
    expect(other.status).toBe(422);
    expect(String(other.json.detail)).toContain(`Idempotency-Key "${key}"`);
    expect(String(other.json.detail)).toContain(String(first.json.id));
  });

  test('a failing function is retried with backoff, then dead; each attempt in the history; a 400 is not retried', async () => {
    const view = await client.submit('echo', { status: 503 });
    const dead = await client.finished('echo', view.id);
    expect(dead).toMatchObject({ state: 'dead', attempts: 3, maxAttempts: 3 });
    expect(dead.lastError).toContain('The function answered 503 on the last of 3 attempts');
    expect(dead.result?.status).toBe(503);
    expect(new Set(dead.attemptIds).size).toBe(3);
    for (const attempt of dead.attemptIds)
      await waitFor(`attempt ${attempt} recorded`, 10_000, async () => {
        const got = await client.request('GET', `/functions/echo/invocations/${attempt}`);
        return got.status === 200 && got.json.trigger === 'async' && got.json.httpStatus === 503;
      });
    const notRetried = await client.finished(
      'echo',
      (await client.submit('echo', { status: 400 })).id,
    );
    expect(notRetried).toMatchObject({ state: 'dead', attempts: 1 });
    expect(notRetried.lastError).toContain('(not retried)');
  });

  test('the callback receives the result, signed with the project key; a wrong key fails verification', async () => {
    const receiver = await startReceiver();
    try {
      const view = await client.submit(
        'echo',
        { word: 'called back' },
        { 'x-callback-url': receiver.url },
      );
      await waitFor('callback', 30_000, async () => receiver.received.length > 0);
      const [call] = receiver.received;
      expect(call.headers['x-hks-invocation-id']).toBe(view.id);
      expect(call.headers['x-hks-status']).toBe('200');
      expect(call.headers['x-hks-state']).toBe('succeeded');
      expect(Number(call.headers['x-hks-duration-ms'])).toBeGreaterThanOrEqual(0);
      expect(JSON.parse(call.body.toString())).toEqual({ word: 'called back', length: 11 });
      const keyRes = await client.request('GET', '/async-callback-key');
      const key = String(keyRes.json.key);
      const signature = String(call.headers['x-hks-signature']);
      expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(verifyCallback(key, call.body, signature)).toBe(true);
      expect(verifyCallback(`${key.slice(0, -1)}0`, call.body, signature)).toBe(false);
      expect(verifyCallback(key, Buffer.from('tampered'), signature)).toBe(false);
      await waitFor('delivery recorded', 10_000, async () => {
        const got = await client.view('echo', view.id);
        return got.callback?.state === 'delivered' && got.callback.status === 200;
      });
    } finally {
      await receiver.close();
    }
  });

  test('bad submissions are refused naming what is wrong, and nothing is queued', async () => {
    const before = await client.count('echo');
    const refusals: [Record<string, string>, string, number, string][] = [
      [
        { 'x-callback-url': 'ftp://example.com/x' },
        '{}',
        400,
        'x-callback-url: given "ftp://example.com/x", expected an http:// or https:// URL',
      ],
      [
        { 'x-callback-url': 'not a url' },
        '{}',
        400,
        'expected an absolute http:// or https:// URL',
      ],
      [
        { 'x-callback-url': `${client.api.url}/api/v1/projects/${project}/functions` },
        '{}',
        400,
        'expected a URL of another service than this API',
      ],
      [
        { 'x-callback-url': `http://localhost:${new URL(client.api.url).port}/x` },
        '{}',
        400,
        'another service than this API',
      ],
      [
        { 'x-callback-url': 'http://169.254.169.254/latest/meta-data' },
        '{}',
        400,
        'link-local and cloud metadata',
      ],
      [
        { 'x-callback-url': 'http://metadata.google.internal/' },
        '{}',
        400,
        'link-local and cloud metadata',
      ],
      [
        { 'idempotency-key': 'has spaces in it' },
        '{}',
        400,
        'Idempotency-Key: given "has spaces in it", expected 1 to 200 characters',
      ],
      [{ 'idempotency-key': 'k'.repeat(201) }, '{}', 400, '(201 characters)'],
      [
        {},
        JSON.stringify({ word: 'x'.repeat(5000) }),
        413,
        'expected at most 4096 bytes (HKS_ASYNC_PAYLOAD_LIMIT_BYTES)',
      ],
    ];
    for (const [extra, body, status, detail] of refusals) {
      const res = await client.invoke('echo', body, { prefer: 'respond-async', ...extra });
      expect({ extra, status: res.status }).toEqual({ extra, status });
      expect(String(res.json.detail)).toContain(detail);
    }
    const missing = await client.invoke('nothing-here', {}, { prefer: 'respond-async' });
    expect(missing.status).toBe(404);
    expect(await client.count('echo')).toBe(before);
    const badId = await client.request('GET', '/functions/echo/async-invocations/nope');
    expect(badId.status).toBe(400);
  });

  test('the TypeScript SDK, hks-func invoke --async and the Python SDK submit, wait, cancel and verify', async () => {
    const sdk = new HksClient({ apiUrl: client.api.url, token: headers.authorization.slice(7) });
    const submitted = await sdk.asyncInvocations.invokeAsync(
      project,
      'echo',
      { word: 'sdk' },
      { idempotencyKey: `sdk-${testStore.name}` },
    );
    expect(submitted.replayed).toBe(false);
    const again = await sdk.asyncInvocations.invokeAsync(
      project,
      'echo',
      { word: 'sdk' },
      { idempotencyKey: `sdk-${testStore.name}` },
    );
    expect(again).toMatchObject({ id: submitted.id, replayed: true });
    const done = await sdk.asyncInvocations.waitForInvocation(project, 'echo', submitted.id, {
      intervalMs: 200,
    });
    expect(JSON.parse(done.result?.body ?? '')).toEqual({ word: 'sdk', length: 3 });
    expect(
      (await sdk.asyncInvocations.listInvocations(project, 'echo', { state: 'succeeded' })).map(
        (i) => i.id,
      ),
    ).toContain(submitted.id);
    await expect(
      sdk.asyncInvocations.cancelInvocation(project, 'echo', submitted.id),
    ).rejects.toMatchObject({ status: 409 });

    let stdout = '';
    let stderr = '';
    const cli = async (...args: string[]) => {
      stdout = '';
      stderr = '';
      return runHksFunc(
        [
          ...args,
          '--api-url',
          client.api.url,
          '--token',
          headers.authorization.slice(7),
          '--project',
          project,
        ],
        {
          stdout: (t) => (stdout += t),
          stderr: (t) => (stderr += t),
          env: { HKS_CONFIG: '/nonexistent/hks-config.json' },
          stderrIsTTY: false,
          cwd: process.cwd(),
        },
      );
    };
    expect({
      code: await cli('invoke', 'echo', '--async', '--wait', '--data', '{"word":"cli"}'),
      stderr,
    }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(stdout.trim())).toEqual({ word: 'cli', length: 3 });
    expect(await cli('invoke', 'echo', '--async', '--data', '{"word":"queued"}')).toBe(0);
    expect(stdout).toMatch(/^Queued echo: [0-9a-f-]{36} \(queued\)\n\/api\/v1\/projects\//);
    expect(await cli('invoke', 'echo', '--async', '--wait', '--data', '{"status":400}')).toBe(1);
    expect(stderr).toContain('is dead after 1 attempt');
    expect(await cli('invoke', 'echo', '--wait')).toBe(2);
    expect(stderr).toContain('--wait: given without --async, expected with --async');

    const script = [
      'import json, time',
      'from hks_sdk import Functions, verify_callback',
      'from hks_sdk.async_invocations import sign_callback',
      'f = Functions()',
      's = f.invoke_async("echo", {"word": "py"}, idempotency_key="py-key")',
      'again = f.invoke_async("echo", {"word": "py"}, idempotency_key="py-key")',
      'done = f.wait_invocation("echo", s.id, timeout=60, interval=0.2)',
      'key = f.callback_key()',
      'sig = sign_callback(key, b"x", int(time.time()))',
      'print(json.dumps({"same": again.id == s.id, "replayed": again.replayed, "state": done.state, "body": json.loads(done.result["body"]), "ok": verify_callback(key, b"x", sig), "bad": verify_callback(key + "0", b"x", sig)}))',
    ].join('\n');
    const { stdout: out } = await promisify(execFile)('python3', ['-c', script], {
      env: {
        ...process.env,
        PYTHONPATH: join(__dirname, '..', '..', 'sdk', 'python'),
        HKS_API_URL: client.api.url,
        HKS_TOKEN: headers.authorization.slice(7),
        HKS_PROJECT: project,
      },
    });
    expect(JSON.parse(out)).toEqual({
      same: true,
      replayed: true,
      state: 'succeeded',
      body: { word: 'py', length: 2 },
      ok: true,
      bad: false,
    });
  });

  test('a full queue answers 429 with Retry-After; cancel takes a queued one, 409 for one that finished; SIGKILL while running: a new API finishes them all', async () => {
    // A replica that runs nothing (concurrency 0) keeps the queue as submitted.
    await client.api.stop();
    client.api = await startApi({
      ...apiEnv(),
      HKS_ASYNC_CONCURRENCY: '0',
      HKS_ASYNC_MAX_QUEUED_PER_PROJECT: '4',
    });
    const queued: View[] = [];
    for (let n = 0; n < 4; n++)
      queued.push(await client.submit('echo', { word: `q${n}`, sleep: 2 }));
    const full = await client.invoke('echo', { word: 'q5' }, { prefer: 'respond-async' });
    expect(full.status).toBe(429);
    expect(full.headers.get('retry-after')).toBe('5');
    expect(String(full.json.detail)).toContain(
      'has 4 asynchronous invocations queued, running or waiting for a retry, expected fewer than 4 (HKS_ASYNC_MAX_QUEUED_PER_PROJECT)',
    );
    const cancelled = await client.request(
      'DELETE',
      `/functions/echo/async-invocations/${queued[0].id}`,
    );
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.state).toBe('cancelled');
    const twice = await client.request(
      'DELETE',
      `/functions/echo/async-invocations/${queued[0].id}`,
    );
    expect(twice.status).toBe(409);
    expect(String(twice.json.detail)).toContain('is already cancelled');

    // A worker with a short lease takes the rest, and is killed while they run.
    await client.api.stop();
    client.api = await startApi({ ...apiEnv(), HKS_ASYNC_LEASE_SECONDS: '3' });
    await waitFor('running', 30_000, async () =>
      (await Promise.all(queued.slice(1).map((q) => client.view('echo', q.id)))).every(
        (v) => v.state === 'running',
      ),
    );
    const running = await client.request(
      'DELETE',
      `/functions/echo/async-invocations/${queued[1].id}`,
    );
    expect(running.status).toBe(409);
    expect(String(running.json.detail)).toContain(
      `Invocation ${queued[1].id} is running (attempt 1 of 3)`,
    );
    await client.api.stop('SIGKILL');
    client.api = await startApi({ ...apiEnv(), HKS_ASYNC_LEASE_SECONDS: '3' });
    for (const q of queued.slice(1)) {
      const done = await client.finished('echo', q.id);
      expect(done).toMatchObject({ state: 'succeeded', attempts: 2 });
    }
    expect((await client.view('echo', queued[0].id)).state).toBe('cancelled');
    const finished = await client.request(
      'DELETE',
      `/functions/echo/async-invocations/${queued[1].id}`,
    );
    expect(finished.status).toBe(409);
    expect(String(finished.json.detail)).toContain('is already succeeded');
  });
});

const postgres = testStores().find((s) => s.name === 'postgres');
(postgres ? describe : describe.skip)('two replicas on PostgreSQL', () => {
  const project = 'asyncinv-replicas';
  const COUNT = 120;
  let replicas: Client[] = [];
  let counter: RunCounter;

  beforeAll(async () => {
    counter = await startRunCounter(0);
    const env = await (postgres as NonNullable<typeof postgres>).env();
    const headers = {
      authorization: `Bearer ${await token([project])}`,
      'content-type': 'application/json',
    };
    const apiEnv = {
      ...env,
      HKS_NAMESPACE_PREFIX: prefix,
      HKS_RECORDER: 'off',
      HKS_ASYNC_CONCURRENCY: '6',
      HKS_ASYNC_POLL_MS: '50',
    };
    const first = new Client(await startApi(apiEnv), project, headers);
    await deploy(first, project, 'counted', COUNTED_FUNCTION_CODE);
    replicas = [first, new Client(await startApi(apiEnv), project, headers)];
  }, 150_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.api.stop()));
    await counter?.close();
  });

  test('both replicas run the queue and no invocation runs twice', async () => {
    const ids = await Promise.all(
      Array.from({ length: COUNT }, (_, n) =>
        replicas[n % 2].submit('counted', { n, counter: counter.url }).then((v) => v.id),
      ),
    );
    for (const id of ids)
      expect((await replicas[0].finished('counted', id)).state).toBe('succeeded');
    const runsOf = new Map<number, number>();
    for (const run of counter.runs) runsOf.set(run.n, (runsOf.get(run.n) ?? 0) + 1);
    expect(runsOf.size).toBe(COUNT);
    expect([...runsOf.values()].filter((runs) => runs !== 1)).toEqual([]);
    const perReplica = await Promise.all(
      replicas.map(async (r) => {
        const res = await fetch(`${r.api.url}/metrics`, {
          headers: { authorization: 'Bearer test-metrics-token-0123456789' },
        });
        const line = (await res.text())
          .split('\n')
          .find((l) => l.startsWith('hks_async_attempts_total{outcome="succeeded"}'));
        return Number(line?.split(' ')[1] ?? 0);
      }),
    );
    process.stdout.write(
      `two replicas: ${COUNT} invocations, attempts per replica ${perReplica.join(' + ')}\n`,
    );
    expect(perReplica.reduce((a, b) => a + b, 0)).toBe(COUNT);
    expect(Math.min(...perReplica)).toBeGreaterThan(0);
    await sleep(0);
  });
});
