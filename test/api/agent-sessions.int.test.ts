import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { kubectl } from '../cluster/kubectl';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import { ApiProcess, internalToken, startApi, TEST_JWT_SECRET, testStores } from './api-process';

jest.setTimeout(240_000);

/**
 * Agent sessions through the real API on the test cluster, with the Knative stand-in running
 * the runtimes as processes: successive executions in one warm function (files kept, globals
 * not, no new revision), the secret the runtime asks for, the idle timeout, a timeout ending the
 * session, projects kept apart, bad input, the cap and the audit trail.
 */
const prefix = `as${randomBytes(2).toString('hex')}-`;
const PROJECT = 'sessions-main';
const OTHER = 'sessions-other';
const CAPPED = 'sessions-capped';
const MAX_IDLE = 120;
let api: ApiProcess;
let standIn: StandInProcess;
let internal: string;

interface Opened {
  id: string;
  project: string;
  expiresAt: string;
  idleTimeoutSeconds: number;
  timings: Record<string, number>;
}

interface Result {
  id: string;
  sessionId: string;
  status: string;
  result?: unknown;
  error?: { type: string; message: string };
  stdout: string;
  stopped?: boolean;
  sessionEnded?: boolean;
  outputFiles?: Record<string, unknown>;
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  bearer = internal,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${api.url}/internal/v1/operations/sessions${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function open(body: Record<string, unknown>): Promise<Opened> {
  const res = await call('POST', '', body);
  expect({ status: res.status, detail: res.body.detail }).toEqual({ status: 201 });
  return res.body as unknown as Opened;
}

async function execute(id: string, body: Record<string, unknown>): Promise<Result> {
  const res = await call('POST', `/${id}/execute`, body);
  expect({ status: res.status, detail: res.body.detail }).toEqual({ status: 200 });
  return res.body as unknown as Result;
}

/** The session function's Knative Service as the cluster has it, or undefined once gone. */
async function knativeService(project: string, id: string) {
  const got = await kubectl(['get', 'ksvc', id, '-n', `${prefix}${project}`, '-o', 'json']);
  if (got.code !== 0) return undefined;
  return JSON.parse(got.stdout) as {
    metadata: { generation: number; labels: Record<string, string> };
    status: { url: string; latestCreatedRevisionName: string };
  };
}

async function revisions(project: string, id: string): Promise<string[]> {
  const got = await kubectl([
    'get',
    'revisions.serving.knative.dev',
    '-n',
    `${prefix}${project}`,
    '-l',
    `serving.knative.dev/service=${id}`,
    '-o',
    'jsonpath={.items[*].metadata.name}',
  ]);
  return got.stdout.split(' ').filter(Boolean);
}

async function waitGone(project: string, id: string): Promise<void> {
  for (const end = Date.now() + 30_000; Date.now() < end;) {
    if ((await knativeService(project, id)) === undefined) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the Knative Service ${id} is still there`);
}

const CODE = {
  'python3.12': {
    writer:
      'counter = 41\ndef handler(event):\n    global counter\n    counter += 1\n    with open("notes.txt", "w") as f:\n        f.write(event["note"])\n    return counter\n',
    reader:
      'def handler(event, context):\n    print("reading notes")\n    return {"notes": open("notes.txt").read(), "counter": globals().get("counter")}\n',
    slow: 'import time\ndef handler(event):\n    time.sleep(30)\n',
    badSignature: 'def handler(a, b, c):\n    return 1\n',
  },
  nodejs20: {
    writer:
      "let counter = 41;\nexports.handler = (event) => {\n  counter += 1;\n  require('node:fs').writeFileSync('notes.txt', event.note);\n  return counter;\n};\n",
    reader:
      "exports.handler = async (event, context) => {\n  console.log('reading notes');\n  return { notes: require('node:fs').readFileSync('notes.txt', 'utf8'), counter: typeof counter === 'undefined' ? null : counter };\n};\n",
    slow: 'exports.handler = () => new Promise((resolve) => setTimeout(resolve, 30000));\n',
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
    HKS_EPHEMERAL_MAX_PER_PROJECT: '2',
    HKS_SESSION_MAX_IDLE_SECONDS: String(MAX_IDLE),
    // No sweep: an idle session is ended by the next call (the sweep: agent-sessions-replicas).
    HKS_SESSION_SWEEP_SECONDS: '0',
  });
  internal = await internalToken([PROJECT]);
}, 120_000);

afterAll(async () => {
  if (process.env.HKS_TEST_SHOW_API_LOG) console.log(api?.output());
  await api?.stop();
  await standIn?.stop();
});

describe.each(['python3.12', 'nodejs20'] as const)('%s session', (runtime) => {
  let session: Opened;

  beforeAll(async () => {
    session = await open({ runtime, idleTimeoutSeconds: 60, timeoutSeconds: 10 });
  });

  it('keeps the session folder between executions of new code, not module globals, in one revision', async () => {
    expect(session).toMatchObject({ id: expect.stringMatching(/^sess-/), project: PROJECT });
    expect(session.timings.deploy).toBeGreaterThan(0);
    const before = await knativeService(PROJECT, session.id);
    const first = await execute(session.id, { code: CODE[runtime].writer, input: { note: 'n1' } });
    expect(first).toMatchObject({ status: 'succeeded', result: 42, sessionId: session.id });
    const second = await execute(session.id, { code: CODE[runtime].reader, input: null });
    expect(second).toMatchObject({
      status: 'succeeded',
      // The file written by call 1 is there; call 1's module global is not.
      result: { notes: 'n1', counter: null },
      stdout: 'reading notes\n',
    });
    // The writer again: its module starts afresh, so its counter counts from 41 again.
    const third = await execute(session.id, { code: CODE[runtime].writer, input: { note: 'n3' } });
    expect(third.result).toBe(42);
    const after = await knativeService(PROJECT, session.id);
    expect(after?.metadata.generation).toBe(before?.metadata.generation);
    expect(after?.status.latestCreatedRevisionName).toBe(before?.status.latestCreatedRevisionName);
    expect(await revisions(PROJECT, session.id)).toEqual([
      before?.status.latestCreatedRevisionName,
    ]);
    // The executes pushed the janitor's deadline forward, past an execution and an idle timeout.
    const expiry = (s: typeof after) => Number(s?.metadata.labels['hks.hexabase.io/expires-at']);
    let pushed = after;
    for (const end = Date.now() + 5000; expiry(pushed) <= expiry(before) && Date.now() < end;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      pushed = await knativeService(PROJECT, session.id);
    }
    expect(expiry(pushed)).toBeGreaterThan(expiry(before));
    expect(expiry(pushed)).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 10 + 60);
    const view = await call('GET', `/${session.id}`);
    expect(view).toMatchObject({
      status: 200,
      body: {
        id: session.id,
        state: 'idle',
        executions: 3,
        runtime,
        idleTimeoutSeconds: 60,
        createdBy: 'test-internal',
      },
    });
  });

  it('the runtime refuses to load code without the session secret', async () => {
    const service = await knativeService(PROJECT, session.id);
    const direct = await fetch(service?.status.url ?? '', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hks-files': 'envelope' },
      body: JSON.stringify({ code: CODE[runtime].writer, event: { note: 'intruder' } }),
    });
    expect(direct.status).toBe(403);
    expect(await direct.text()).toContain('x-hks-session-secret');
    const read = await execute(session.id, { code: CODE[runtime].reader });
    expect(read.result).toMatchObject({ notes: 'n3' });
  });

  it('checks the code before sending it: a handler the runtime cannot call is a 400 naming it', async () => {
    const refused = await call('POST', `/${session.id}/execute`, {
      code: CODE[runtime].badSignature,
    });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('handler');
    const tooLong = await call('POST', `/${session.id}/execute`, {
      code: CODE[runtime].reader,
      timeoutSeconds: 11,
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.detail).toBe(
      "body.timeoutSeconds: given 11, expected at most 10 (the session's timeoutSeconds)",
    );
  });

  it('closes on DELETE: its function is deleted, the next call is a 410 naming the session', async () => {
    expect((await call('DELETE', `/${session.id}`)).status).toBe(204);
    await waitGone(PROJECT, session.id);
    const next = await call('POST', `/${session.id}/execute`, { code: CODE[runtime].reader });
    expect(next.status).toBe(410);
    expect(next.body.detail).toBe(
      `Session "${session.id}" has ended (it was closed); open a new one`,
    );
  });
});

test('a timeout inside a session stops the code and ends the session', async () => {
  const session = await open({ runtime: 'nodejs20', timeoutSeconds: 5 });
  const result = await execute(session.id, { code: CODE.nodejs20.slow, timeoutSeconds: 1 });
  expect(result).toMatchObject({
    status: 'timeout',
    stopped: true,
    sessionEnded: true,
    error: { type: 'Timeout' },
  });
  expect(await knativeService(PROJECT, session.id)).toBeUndefined();
  const next = await call('GET', `/${session.id}`);
  expect(next.status).toBe(410);
  expect(next.body.detail).toBe(
    `Session "${session.id}" has ended (its execution ended timeout); open a new one`,
  );
});

test('after its idle timeout the next call ends the session and deletes its function', async () => {
  const session = await open({ runtime: 'python3.12', idleTimeoutSeconds: 2 });
  expect(Date.parse(session.expiresAt) - Date.now()).toBeLessThanOrEqual(2000);
  await execute(session.id, { code: 'def handler(event):\n    return 1\n' });
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const next = await call('GET', `/${session.id}`);
  expect(next.status).toBe(410);
  expect(next.body.detail).toBe(`Session "${session.id}" has ended (idle for 2 s); open a new one`);
  await waitGone(PROJECT, session.id);
});

test('after an API crash the janitor removes the session function, its Secret with it', async () => {
  const env = {
    ...(await testStores()[0].env()),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
  };
  const crashing = await startApi({
    ...env,
    HKS_JANITOR_INTERVAL_SECONDS: '0',
    HKS_EPHEMERAL_GRACE_SECONDS: '0',
  });
  const res = await fetch(`${crashing.url}/internal/v1/operations/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${internal}`, 'content-type': 'application/json' },
    body: JSON.stringify({ runtime: 'nodejs20', idleTimeoutSeconds: 3 }),
  });
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  await crashing.stop('SIGKILL');
  const secret = () =>
    kubectl(['get', 'secret', `${id}-session`, '-n', `${prefix}${PROJECT}`, '-o', 'name']);
  expect((await secret()).stdout.trim()).toBe(`secret/${id}-session`);
  expect(await knativeService(PROJECT, id)).toBeDefined();
  // Another replica's janitor: the label's expiry (idle timeout + grace 0) has passed by then.
  const sweeper = await startApi({ ...env, HKS_JANITOR_INTERVAL_SECONDS: '1' });
  try {
    await waitGone(PROJECT, id);
    for (const end = Date.now() + 30_000; (await secret()).code === 0 && Date.now() < end;) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect((await secret()).code).not.toBe(0);
  } finally {
    await sweeper.stop();
  }
});

test("another project's token gets a 404 for a session, as for one that never was", async () => {
  const session = await open({ runtime: 'python3.12' });
  const other = await internalToken([OTHER]);
  for (const [method, path, body] of [
    ['GET', `/${session.id}`, undefined],
    ['POST', `/${session.id}/execute`, { code: CODE['python3.12'].reader }],
    ['DELETE', `/${session.id}`, undefined],
  ] as const) {
    const res = await call(method, path, body, other);
    expect(`${method} ${res.status}`).toBe(`${method} 404`);
    const unknown = await call('GET', '/sess-000000000000', undefined, other);
    expect(res.body.detail).toBe(
      String(unknown.body.detail).replace('sess-000000000000', session.id),
    );
  }
  expect((await call('GET', `/${session.id}`)).status).toBe(200);
  expect((await call('DELETE', `/${session.id}`)).status).toBe(204);
});

test('bad input is refused naming the field, and nothing is deployed', async () => {
  const listed = () => kubectl(['get', 'ksvc', '-n', `${prefix}${PROJECT}`, '-o', 'name']);
  const before = (await listed()).stdout;
  const cases: [Record<string, unknown>, string][] = [
    [{ runtime: 'ruby' }, 'runtime'],
    [{ runtime: 'python3.12', idleTimeoutSeconds: MAX_IDLE + 1 }, 'idleTimeoutSeconds'],
    [{ runtime: 'python3.12', idleTimeoutSeconds: 0 }, 'idleTimeoutSeconds'],
    [{ runtime: 'python3.12', timeoutSeconds: 601 }, 'timeoutSeconds'],
    [{ runtime: 'python3.12', env: { HKS_X: '1' } }, 'env.HKS_X'],
    [{ runtime: 'python3.12', code: 'x' }, 'code'],
  ];
  for (const [body, field] of cases) {
    const res = await call('POST', '', body);
    expect(`${field}: ${res.status}`).toBe(`${field}: 400`);
    expect((res.body.errors as { path: string }[]).map((e) => e.path)).toContain(field);
  }
  expect((await listed()).stdout).toBe(before);
});

test('a session counts as one temporary function under the project cap: 429 beyond it', async () => {
  const capped = await internalToken([CAPPED]);
  const opened: string[] = [];
  for (let i = 0; i < 2; i++) {
    const res = await call('POST', '', { runtime: 'nodejs20' }, capped);
    expect({ status: res.status, detail: res.body.detail }).toEqual({ status: 201 });
    opened.push(String(res.body.id));
  }
  const third = await call('POST', '', { runtime: 'nodejs20' }, capped);
  expect(third.status).toBe(429);
  expect(third.body.detail).toContain('HKS_EPHEMERAL_MAX_PER_PROJECT=2');
  for (const id of opened)
    expect((await call('DELETE', `/${id}`, undefined, capped)).status).toBe(204);
});

test('every execute in a session is in the audit trail as kind session', async () => {
  const admin = await new SignJWT({ projects: [PROJECT], admin: [PROJECT] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('auditor')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
  const res = await fetch(
    `${api.url}/api/v1/projects/${PROJECT}/agent-executions?kind=session&limit=100`,
    { headers: { authorization: `Bearer ${admin}` } },
  );
  expect(res.status).toBe(200);
  const { items } = (await res.json()) as {
    items: { kind: string; subject: string; runtime: string; status: string }[];
  };
  // Per runtime: three executes, the read after the refused direct call, the bad signature
  // (refused), the timeout too long (refused) and the call after closing (refused); the timeout;
  // the idle session's one.
  expect(items.filter((i) => i.status === 'succeeded')).toHaveLength(2 * 4 + 1);
  expect(items.filter((i) => i.status === 'timeout')).toHaveLength(1);
  expect(new Set(items.map((i) => i.kind))).toEqual(new Set(['session']));
  expect(new Set(items.map((i) => i.subject))).toEqual(new Set(['test-internal']));
  expect(new Set(items.map((i) => i.runtime))).toEqual(new Set(['python3.12', 'nodejs20']));
});
