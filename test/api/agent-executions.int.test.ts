import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { Store } from '../../api/store/store';
import {
  AgentExecutionRecord,
  completeAgentExecution,
  insertAgentExecution,
} from '../../api/store/agent-executions';
import { sweepAuditTrail } from '../../api/retention';
import { waitFor } from '../cluster/wait';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import {
  ApiProcess,
  projectRequest,
  startApi,
  testStores,
  token,
  TEST_JWT_SECRET,
} from './api-process';

jest.setTimeout(240_000);

/**
 * The audit trail of agent executions through a real API with the Knative stand-in: what
 * execute-once calls leave recorded, whatever their outcome, the admins' list route, and its
 * retention; on SQLite and PostgreSQL.
 */
const prefix = `ae${randomBytes(2).toString('hex')}-`;
const PROJECT = 'auditlab';
const OTHER = 'auditother';
const secretKey = new TextEncoder().encode(TEST_JWT_SECRET);
let standIn: StandInProcess;

beforeAll(async () => {
  standIn = await startStandIn(prefix);
}, 120_000);

afterAll(async () => {
  await standIn?.stop();
});

/** An internal (agent) token with its own subject. */
function agentToken(subject: string, projects = [PROJECT]): Promise<string> {
  return new SignJWT({ projects })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(subject)
    .setAudience('hks-internal')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(secretKey);
}

/** A user token with an `admin` claim. */
function adminToken(admin: unknown, projects = [PROJECT]): Promise<string> {
  return new SignJWT({ projects, admin })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('auditor')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(secretKey);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe.each(testStores())('audit trail of agent executions ($name store)', (testStore) => {
  let api: ApiProcess;
  let storeEnv: Record<string, string>;
  let admin: Record<string, string>;

  beforeAll(async () => {
    storeEnv = await testStore.env();
    api = await startApi({ ...storeEnv, HKS_NAMESPACE_PREFIX: prefix, HKS_RECORDER: 'off' });
    admin = { authorization: `Bearer ${await adminToken([PROJECT])}` };
  }, 120_000);

  afterAll(async () => {
    await api?.stop();
  });

  async function execute(body: unknown, subject = 'agent-a', headers: Record<string, string> = {}) {
    const res = await fetch(`${api.url}/internal/v1/operations/execute`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await agentToken(subject)}`,
        'content-type': 'application/json',
        ...headers,
      },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, json: JSON.parse(text) as Record<string, unknown> };
  }

  async function list(query = '', headers = admin) {
    return projectRequest(api, PROJECT, headers, 'GET', `/agent-executions${query}`);
  }

  /** The record of the call with `requestId`, once it is no longer running. */
  async function recordOf(requestId: string): Promise<AgentExecutionRecord> {
    let found: AgentExecutionRecord | undefined;
    await waitFor(`the audit record of ${requestId}`, 30_000, async () => {
      const items = (await list('?limit=100')).json.items as AgentExecutionRecord[];
      found = items.find((r) => r.requestId === requestId && r.status !== 'running');
      return found !== undefined;
    });
    return found!;
  }

  test('a succeeded call: who, where, what ran as hashes and sizes, the outcome; never the code or input', async () => {
    const code =
      'SECRET_IN_CODE = "s3cr3t-code"\n\ndef handler(event, context):\n    return {"sum": event["a"] + event["b"]}\n';
    const input = { a: 2, b: 3, note: 's3cr3t-input' };
    const res = await execute({ runtime: 'python3.12', code, input }, 'agent-a', {
      'x-request-id': 'audit-ok-1',
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: 'succeeded', result: { sum: 5 } });
    const record = await recordOf('audit-ok-1');
    expect(record).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      kind: 'execute',
      project: PROJECT,
      subject: 'agent-a',
      startedAt: expect.any(String),
      completedAt: expect.any(String),
      status: 'succeeded',
      runtime: 'python3.12',
      codeSha256: sha256(code),
      codeBytes: Buffer.byteLength(code),
      inputBytes: Buffer.byteLength(JSON.stringify(input)),
      outputBytes: Buffer.byteLength(res.text),
      httpStatus: 200,
      durationMs: expect.any(Number),
      requestId: 'audit-ok-1',
      executionId: res.json.id,
    });
    expect(record.durationMs).toBeGreaterThan(0);
    expect(record.durationMs).toBeLessThanOrEqual(
      new Date(record.completedAt!).getTime() - new Date(record.startedAt).getTime() + 5,
    );
    const stored = JSON.stringify((await list()).json);
    expect(stored).not.toContain('s3cr3t');
  });

  test('a failed call keeps the error type, never its message', async () => {
    const res = await execute(
      {
        runtime: 'nodejs20',
        code: 'exports.handler = async () => {\n  throw new TypeError("message with s3cr3t");\n};\n',
      },
      'agent-b',
      { 'x-request-id': 'audit-failed-1' },
    );
    expect(res.json).toMatchObject({ status: 'failed', error: { type: 'TypeError' } });
    const record = await recordOf('audit-failed-1');
    expect(record).toMatchObject({
      status: 'failed',
      httpStatus: 200,
      errorTitle: 'TypeError',
      subject: 'agent-b',
      runtime: 'nodejs20',
      inputBytes: 4,
      executionId: res.json.id,
    });
    expect(JSON.stringify(record)).not.toContain('s3cr3t');
  });

  test('refused calls are recorded: code the check refuses, a bad body; another project’s call is not', async () => {
    const badCode = 'def handler(event, context)\n    return 1\n';
    const syntax = await execute({ runtime: 'python3.12', code: badCode }, 'agent-a', {
      'x-request-id': 'audit-refused-syntax',
    });
    expect(syntax.status).toBe(400);
    expect(await recordOf('audit-refused-syntax')).toMatchObject({
      status: 'refused',
      httpStatus: 400,
      errorTitle: syntax.json.title,
      runtime: 'python3.12',
      codeSha256: sha256(badCode),
      outputBytes: Buffer.byteLength(syntax.text),
    });
    const record = await recordOf('audit-refused-syntax');
    expect(record.executionId).toBeUndefined();

    const badBody = await execute({ runtime: 'cobol', code: 'x', timeoutSeconds: 0 }, 'agent-a', {
      'x-request-id': 'audit-refused-body',
    });
    expect(badBody.status).toBe(400);
    const refused = await recordOf('audit-refused-body');
    expect(refused).toMatchObject({
      status: 'refused',
      httpStatus: 400,
      errorTitle: 'Invalid request body',
      codeBytes: 1,
    });
    expect(refused.runtime).toBeUndefined();

    // A project the token does not grant: a 403, and no record in that project's trail.
    const elsewhere = await execute(
      { project: OTHER, runtime: 'python3.12', code: 'x = 1' },
      'agent-a',
      { 'x-request-id': 'audit-other' },
    );
    expect(elsewhere.status).toBe(403);
    const otherAdmin = { authorization: `Bearer ${await adminToken([OTHER], [OTHER])}` };
    const other = await projectRequest(api, OTHER, otherAdmin, 'GET', '/agent-executions');
    expect(other.status).toBe(200);
    expect(other.json.items).toEqual([]);
  });

  test('subjects and request ids are kept cut at 200 characters and without NUL', async () => {
    const requestId = `audit-long-${'r'.repeat(300)}`;
    const res = await execute({ runtime: 'python3.12' }, `nul\u0000${'s'.repeat(300)}`, {
      'x-request-id': requestId,
    });
    expect(res.status).toBe(400);
    expect(await recordOf(requestId.slice(0, 200))).toMatchObject({
      status: 'refused',
      subject: `nul${'s'.repeat(197)}`,
    });
  });

  test('a client that goes before the answer leaves a disconnected record', async () => {
    const controller = new AbortController();
    const call = fetch(`${api.url}/internal/v1/operations/execute`, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        authorization: `Bearer ${await agentToken('agent-gone')}`,
        'content-type': 'application/json',
        'x-request-id': 'audit-gone',
      },
      body: JSON.stringify({
        runtime: 'python3.12',
        code: 'import time\n\ndef handler(event, context):\n    time.sleep(4)\n    return 1\n',
      }),
    }).catch((error: unknown) => error);
    await waitFor('the call to be recorded as running', 20_000, async () => {
      const items = (await list('?status=running')).json.items as AgentExecutionRecord[];
      return items.some((r) => r.requestId === 'audit-gone');
    });
    controller.abort();
    await call;
    const record = await recordOf('audit-gone');
    expect(record).toMatchObject({ status: 'disconnected', subject: 'agent-gone' });
    expect(record.httpStatus).toBeUndefined();
  });

  describe('the list', () => {
    let store: Store;
    const base = Date.parse('2026-02-01T00:00:00.000Z');
    const at = (minute: number) => new Date(base + minute * 60_000).toISOString();

    beforeAll(async () => {
      store = await Store.open({
        databaseUrl: storeEnv.HKS_DATABASE_URL,
        sqlitePath: storeEnv.HKS_SQLITE_PATH ?? ':memory:',
      });
      // 30 calls of February 2026, a minute apart: every third refused, by two subjects.
      const started = performance.now();
      for (let minute = 0; minute < 30; minute++) {
        const id = randomUUID();
        await insertAgentExecution(
          store.knex,
          id,
          {
            kind: 'execute',
            project: PROJECT,
            subject: minute % 2 ? 'paged-odd' : 'paged-even',
            runtime: 'nodejs20',
          },
          at(minute),
        );
        await completeAgentExecution(
          store.knex,
          id,
          { status: minute % 3 ? 'succeeded' : 'refused', durationMs: 5, httpStatus: 200 },
          at(minute),
        );
      }
      // What the audit adds to a call: its two writes (sequential, beside a running API).
      process.stdout.write(
        `audit trail (${testStore.name}): a record's insert and completion ${((performance.now() - started) / 30).toFixed(1)} ms per call (mean of 30)\n`,
      );
    });

    afterAll(async () => {
      await store?.close();
    });

    const february = '&since=2026-02-01T00:00:00Z&until=2026-03-01T00:00:00Z';

    test('newest first, cursor pages, filters by status, subject and start time', async () => {
      const seen: AgentExecutionRecord[] = [];
      let cursor: string | undefined;
      do {
        const page = await list(
          `?limit=7${february}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        expect(page.status).toBe(200);
        seen.push(...(page.json.items as AgentExecutionRecord[]));
        cursor = page.json.nextCursor as string | undefined;
      } while (cursor);
      expect(seen.map((r) => r.startedAt)).toEqual(
        Array.from({ length: 30 }, (_, i) => at(29 - i)),
      );
      const refused = (await list(`?status=refused${february}`)).json
        .items as AgentExecutionRecord[];
      expect(refused.map((r) => r.startedAt)).toEqual([27, 24, 21, 18, 15, 12, 9, 6, 3, 0].map(at));
      const odd = (await list(`?subject=paged-odd&status=succeeded${february}`)).json
        .items as AgentExecutionRecord[];
      expect(odd.every((r) => r.subject === 'paged-odd' && r.status === 'succeeded')).toBe(true);
      expect(odd).toHaveLength(10);
      const window = (await list('?since=2026-02-01T09:10:00%2B09:00&until=2026-02-01T00:13:00Z'))
        .json.items as AgentExecutionRecord[];
      expect(window.map((r) => r.startedAt)).toEqual([12, 11, 10].map(at));
      const everything = (await list('?limit=100&kind=execute')).json
        .items as AgentExecutionRecord[];
      // The calls of the tests above, made today, come before February 2026's.
      expect(everything.length).toBeGreaterThan(30);
      expect(everything[0].startedAt > at(29)).toBe(true);
    });

    test.each([
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['status=bogus', 'status'],
      ['kind=batch', 'kind'],
      ['since=yesterday', 'since'],
      ['since=2026-02-02T00:00:00Z&until=2026-02-01T00:00:00Z', 'since'],
      ['cursor=bm90LWEtY3Vyc29y', 'cursor'],
      [`subject=${'x'.repeat(201)}`, 'subject'],
      ['project=x', 'project'],
    ])('?%s is a 400 naming %s', async (query, field) => {
      const res = await list(`?${query}`);
      expect(res.status).toBe(400);
      expect(res.type).toMatch(/application\/problem\+json/);
      const errors = res.json.errors as { path: string; message: string }[];
      expect(errors.map((e) => e.path)).toContain(field);
      expect(errors.find((e) => e.path === field)?.message).toMatch(/given|expected|Unrecognized/);
    });
  });

  test('only the project’s admins read it: the admin claim, checked like the others', async () => {
    const withToken = async (bearer: string) =>
      (await list('', { authorization: `Bearer ${bearer}` })).status;
    const member = await list('', { authorization: `Bearer ${await token([PROJECT])}` });
    expect(member.status).toBe(403);
    expect(member.json.detail).toContain('"admin" claim');
    expect(await withToken(await token(['*']))).toBe(403);
    expect(await withToken(await adminToken([OTHER]))).toBe(403);
    // Admin of a project the token is not granted is nothing.
    expect(await withToken(await adminToken([PROJECT], [OTHER]))).toBe(403);
    expect(await withToken(await adminToken(['*']))).toBe(200);
    expect(await withToken(await adminToken([PROJECT], ['*']))).toBe(200);
    const malformed = await list('', { authorization: `Bearer ${await adminToken(PROJECT)}` });
    expect(malformed.status).toBe(401);
    expect(malformed.json.detail).toContain('"admin" claim is "auditlab", expected a list');
    // Agents (internal tokens) do not read the trail of their own calls.
    expect(await withToken(await agentToken('agent-a'))).toBe(403);
  });

  test('the OpenAPI document: the route, its admin role, filters and record schema', async () => {
    const doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    const route = doc.paths['/api/v1/projects/{project}/agent-executions'].get;
    expect(route.security).toEqual([{ bearer: ['admin'] }]);
    const names = (route.parameters as { name: string }[]).map((p) => p.name);
    expect(names).toEqual(
      expect.arrayContaining(['limit', 'cursor', 'status', 'subject', 'kind', 'since', 'until']),
    );
    const schema = JSON.stringify(
      (route.responses as Record<string, { content: Record<string, unknown> }>)['200'].content,
    );
    for (const field of ['codeSha256', 'inputBytes', 'outputBytes', 'errorTitle', 'sessionId'])
      expect(schema).toContain(field);
    const execute = doc.paths['/internal/v1/operations/execute'].post;
    expect(execute.parameters as { name: string; in: string }[]).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'X-Request-Id', in: 'header' })]),
    );
  });
});

describe.each(testStores())('retention of the audit trail ($name store)', (testStore) => {
  let store: Store;
  const now = new Date('2026-06-30T00:00:00.000Z');
  const daysAgo = (days: number, ms = 0) =>
    new Date(now.getTime() - days * 86_400_000 + ms).toISOString();

  beforeAll(async () => {
    const env = await testStore.env();
    store = await Store.open({
      databaseUrl: env.HKS_DATABASE_URL,
      sqlitePath: env.HKS_SQLITE_PATH ?? ':memory:',
    });
  });

  afterAll(async () => {
    await store?.close();
  });

  async function record(project: string, startedAt: string, status: 'running' | 'succeeded') {
    const id = randomUUID();
    await insertAgentExecution(store.knex, id, { kind: 'execute', project }, startedAt);
    if (status !== 'running')
      await completeAgentExecution(store.knex, id, { status, durationMs: 1 }, startedAt);
    return id;
  }

  const startsOf = async (project: string) =>
    (
      await store
        .knex('agent_executions')
        .select('started_at')
        .where({ project })
        .orderBy('started_at', 'desc')
    ).map((r: { started_at: string }) => r.started_at);

  test('removes records older than the age limit, running ones too, and beyond the newest N per project', async () => {
    for (let i = 0; i < 12; i++) await record('ret-a', daysAgo(i * 10, i), 'succeeded');
    await record('ret-a', daysAgo(200), 'running');
    for (let i = 0; i < 3; i++) await record('ret-b', daysAgo(i), 'succeeded');
    // Age 90 days: the records of 90 days ago and more go (the one at exactly 90 days + 9 ms stays).
    const first = await sweepAuditTrail(
      store.knex,
      { maxAgeDays: 90, maxRecordsPerProject: 5 },
      2,
      now,
    );
    expect(first).toEqual({ expired: 3, overCount: 5 });
    expect(await startsOf('ret-a')).toEqual([0, 10, 20, 30, 40].map((d, i) => daysAgo(d, i)));
    expect(await startsOf('ret-b')).toHaveLength(3);
    expect(
      await sweepAuditTrail(store.knex, { maxAgeDays: 90, maxRecordsPerProject: 5 }, 2, now),
    ).toEqual({
      expired: 0,
      overCount: 0,
    });
    // 0 turns a limit off.
    expect(
      await sweepAuditTrail(store.knex, { maxAgeDays: 0, maxRecordsPerProject: 0 }, 2, now),
    ).toEqual({
      expired: 0,
      overCount: 0,
    });
  });

  test('a real API sweeps it every HKS_RETENTION_INTERVAL_SECONDS with its HKS_RETENTION_AUDIT_* limits', async () => {
    const env = await testStore.env();
    const shared = await Store.open({
      databaseUrl: env.HKS_DATABASE_URL,
      sqlitePath: env.HKS_SQLITE_PATH ?? ':memory:',
    });
    try {
      const recent = Date.now();
      for (let i = 0; i < 8; i++) {
        const id = randomUUID();
        await insertAgentExecution(
          shared.knex,
          id,
          { kind: 'execute', project: 'ret-api' },
          new Date(recent - i * 1000).toISOString(),
        );
      }
      const old = randomUUID();
      await insertAgentExecution(
        shared.knex,
        old,
        { kind: 'execute', project: 'ret-old' },
        new Date(recent - 3 * 86_400_000).toISOString(),
      );
      const api = await startApi({
        ...env,
        // Its own prefix: the recorder of this process records no other suite's Jobs here.
        HKS_NAMESPACE_PREFIX: `ar${randomBytes(2).toString('hex')}-`,
        HKS_RETENTION_INTERVAL_SECONDS: '1',
        HKS_RETENTION_AUDIT_MAX_AGE_DAYS: '2',
        HKS_RETENTION_AUDIT_MAX_RECORDS_PER_PROJECT: '3',
      });
      try {
        await waitFor('the API to sweep the audit trail', 30_000, async () => {
          const rows = await shared.knex('agent_executions').select('project');
          return (
            rows.length === 3 && rows.every((r: { project: string }) => r.project === 'ret-api')
          );
        });
      } finally {
        await api.stop();
      }
    } finally {
      await shared.close();
    }
  });
});
