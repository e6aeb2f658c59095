import { randomBytes } from 'node:crypto';
import { kubectl } from '../cluster/kubectl';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import { Store } from '../../api/store/store';
import { ApiProcess, internalToken, startApi, testStores } from './api-process';

jest.setTimeout(240_000);

/**
 * Agent sessions served by every API replica: two real API processes on one store (a SQLite file
 * both open, and PostgreSQL), the Knative stand-in running the runtimes. A session opened on one
 * replica is executed, read and closed on the other; two executes at once on both give one 409;
 * a session whose opener was killed is still served, then ended at its idle timeout by a replica
 * that did not open it. The store holds a session's secret only while it lives.
 */
const prefix = `ar${randomBytes(2).toString('hex')}-`;
const PROJECT = 'sessions-replicas';
let standIn: StandInProcess;
let bearer: string;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(
  api: ApiProcess,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const res = await fetch(`${api.url}/internal/v1/operations/sessions${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function open(api: ApiProcess, body: Record<string, unknown>): Promise<string> {
  const res = await call(api, 'POST', '', body);
  expect({ status: res.status, detail: res.body.detail }).toEqual({ status: 201 });
  return String(res.body.id);
}

async function knativeServiceExists(id: string): Promise<boolean> {
  const got = await kubectl(['get', 'ksvc', id, '-n', `${prefix}${PROJECT}`, '-o', 'name']);
  return got.code === 0;
}

async function waitGone(id: string, withinMs = 30_000): Promise<void> {
  for (const end = Date.now() + withinMs; Date.now() < end;) {
    if (!(await knativeServiceExists(id))) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the Knative Service ${id} is still there`);
}

const WRITE =
  'def handler(event):\n    open("state.txt", "w").write(event["note"])\n    return "saved"\n';
const READ = 'def handler(event):\n    return open("state.txt").read()\n';
const ONE = 'def handler(event):\n    return 1\n';
const SLOW = 'import time\ndef handler(event):\n    time.sleep(3)\n    return "slept"\n';

beforeAll(async () => {
  standIn = await startStandIn(prefix);
  bearer = await internalToken([PROJECT], '10m');
}, 120_000);

afterAll(async () => {
  await standIn?.stop();
});

describe.each(testStores())('two replicas on $name', (store) => {
  let storeEnv: Record<string, string>;
  let a: ApiProcess;
  let b: ApiProcess;
  /** The store both replicas use, read directly. */
  let db: Store;

  beforeAll(async () => {
    storeEnv = {
      ...(await store.env()),
      HKS_NAMESPACE_PREFIX: prefix,
      HKS_RECORDER: 'off',
      // Only the sessions' own ends delete functions here, never the janitor.
      HKS_JANITOR_INTERVAL_SECONDS: '0',
      HKS_SESSION_SWEEP_SECONDS: '1',
    };
    [a, b] = await Promise.all([startApi(storeEnv), startApi(storeEnv)]);
    db = await Store.open({
      databaseUrl: storeEnv.HKS_DATABASE_URL,
      sqlitePath: storeEnv.HKS_SQLITE_PATH ?? ':memory:',
    });
  }, 120_000);

  afterAll(async () => {
    if (process.env.HKS_TEST_SHOW_API_LOG) console.log(a?.output(), b?.output());
    await db?.close();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const secretOf = async (id: string) =>
    ((await db.knex('agent_sessions').where({ id }).first()) as { secret: string | null }).secret;

  test('opened on A, executed, read and closed on B; A then answers 410 naming why', async () => {
    const id = await open(a, { runtime: 'python3.12', idleTimeoutSeconds: 60 });
    expect(await secretOf(id)).toMatch(/^[0-9a-f]{64}$/);
    const written = await call(b, 'POST', `/${id}/execute`, { code: WRITE, input: { note: 'n1' } });
    expect({ status: written.status, result: written.body.result }).toEqual({
      status: 200,
      result: 'saved',
    });
    // The session folder's file, written through B, read through A and B.
    for (const api of [a, b]) {
      const read = await call(api, 'POST', `/${id}/execute`, { code: READ });
      expect({ status: read.status, result: read.body.result }).toEqual({
        status: 200,
        result: 'n1',
      });
    }
    const view = await call(b, 'GET', `/${id}`);
    expect(view).toMatchObject({
      status: 200,
      body: { id, project: PROJECT, state: 'idle', executions: 3, createdBy: 'test-internal' },
    });
    expect((await call(b, 'DELETE', `/${id}`)).status).toBe(204);
    await waitGone(id);
    for (const [method, path] of [
      ['GET', `/${id}`],
      ['POST', `/${id}/execute`],
      ['DELETE', `/${id}`],
    ] as const) {
      const next = await call(a, method, path, method === 'POST' ? { code: READ } : undefined);
      expect({ call: `${method} ${path}`, status: next.status, detail: next.body.detail }).toEqual({
        call: `${method} ${path}`,
        status: 410,
        detail: `Session "${id}" has ended (it was closed); open a new one`,
      });
    }
    // What lets a call load code into the function is gone with it.
    expect(await secretOf(id)).toBeNull();
    // An id no replica ever opened is unknown to both.
    for (const api of [a, b])
      expect((await call(api, 'GET', '/sess-0123456789ab')).status).toBe(404);
  });

  test('two executes at once, on A and on B: one runs, the other is a 409', async () => {
    const id = await open(b, { runtime: 'python3.12', idleTimeoutSeconds: 60, timeoutSeconds: 10 });
    const answers = await Promise.all(
      [a, b].map((api) => call(api, 'POST', `/${id}/execute`, { code: SLOW })),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    const ran = answers.find((r) => r.status === 200);
    const busy = answers.find((r) => r.status === 409);
    expect(ran?.body.result).toBe('slept');
    expect(busy?.body.detail).toBe(
      `Session "${id}" is running an execution; a session runs one at a time`,
    );
    // The lease is released with the answer: the next execute, on either replica, runs.
    const view = await call(a, 'GET', `/${id}`);
    expect(view.body).toMatchObject({ state: 'idle', executions: 1 });
    const after = await call(a, 'POST', `/${id}/execute`, { code: ONE });
    expect(after.status).not.toBe(409);
    expect((await call(a, 'DELETE', `/${id}`)).status).toBe(204);
  });

  test('its opener killed, the session is served by B and ended at its idle timeout by a replica that did not open it', async () => {
    const opener = await startApi(storeEnv);
    let id: string;
    try {
      id = await open(opener, { runtime: 'python3.12', idleTimeoutSeconds: 4 });
    } finally {
      await opener.stop('SIGKILL');
    }
    const written = await call(b, 'POST', `/${id}/execute`, {
      code: WRITE,
      input: { note: 'kept' },
    });
    expect({ status: written.status, result: written.body.result }).toEqual({
      status: 200,
      result: 'saved',
    });
    expect((await call(a, 'POST', `/${id}/execute`, { code: READ })).body.result).toBe('kept');
    // No call comes: the sweep of A or B ends it once 4 s have passed since the last execute.
    const lastUsed = Date.now();
    await waitGone(id);
    expect(Date.now() - lastUsed).toBeGreaterThanOrEqual(3_500);
    const endedBy = [a, b].filter((api) =>
      api
        .output()
        .split('\n')
        .some((line) => line.includes('ended an idle session') && line.includes(id)),
    );
    expect(endedBy).toHaveLength(1);
    const next = await call(b, 'GET', `/${id}`);
    expect({ status: next.status, detail: next.body.detail }).toEqual({
      status: 410,
      detail: `Session "${id}" has ended (idle for 4 s); open a new one`,
    });
    expect(await secretOf(id)).toBeNull();
  });
});
