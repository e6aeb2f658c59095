import express from 'express';
import { SignJWT } from 'jose';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { authenticate, tokenVerifier } from '../api/auth';
import { loadConfig } from '../api/config';
import { createLogger } from '../api/logger';
import { labelRoute } from '../api/metrics';
import { problemHandler } from '../api/problem';
import { MAX_REQUEST_ID_LENGTH, requestLogging, requestLogOf } from '../api/request-log';

/**
 * The request id is the client's when valid, else new, and goes back in every response; one
 * access line per request names the route template, status, duration, project and subject,
 * never the token or the body.
 */

const SECRET = 'request-log-secret-of-at-least-32-bytes';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const lines: Record<string, unknown>[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ destination }).child({ component: 'http' });
  const verify = tokenVerifier(loadConfig({ HKS_JWT_SECRET: SECRET }, '/tmp'));
  const app = express();
  app.use(requestLogging(logger));
  app.post(
    '/api/v1/projects/:project/things/:name',
    labelRoute('/api/v1/projects/:project/things/:name'),
    authenticate(verify, { kind: 'user' }),
    express.json(),
    (_req, res) => {
      res.json({ requestId: requestLogOf(res).requestId });
    },
  );
  app.get('/fail', () => {
    throw new Error('handler broke', { cause: new Error('the cause') });
  });
  app.use(problemHandler);
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

async function bearer(subject: string): Promise<string> {
  return new SignJWT({ projects: ['ledger-logs'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(SECRET));
}

/** The access line of the request with this id, once the response's close has logged it. */
async function accessLine(requestId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 50; i++) {
    const line = lines.find((l) => l.msg === 'request' && l.reqId === requestId);
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no access line for ${requestId}: ${JSON.stringify(lines)}`);
}

test("a valid client id is kept, echoed, given to the handler and logged with the request's fields", async () => {
  const token = await bearer('alice@example.com');
  const res = await fetch(`${base}/api/v1/projects/ledger-logs/things/one?x=1`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'x-request-id': 'client-id_1.2:3',
    },
    body: JSON.stringify({ secretValue: 'body-must-not-be-logged' }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('x-request-id')).toBe('client-id_1.2:3');
  expect(await res.json()).toEqual({ requestId: 'client-id_1.2:3' });
  const line = await accessLine('client-id_1.2:3');
  expect(line).toMatchObject({
    level: 'info',
    component: 'http',
    method: 'POST',
    route: '/api/v1/projects/:project/things/:name',
    status: 200,
    project: 'ledger-logs',
    subject: 'alice@example.com',
  });
  expect(line.durationMs).toEqual(expect.any(Number));
  expect(line.durationMs as number).toBeGreaterThanOrEqual(0);
  const text = JSON.stringify(lines);
  expect(text).not.toContain(token);
  expect(text).not.toContain(token.split('.')[2]);
  expect(text).not.toContain('body-must-not-be-logged');
  expect(text).not.toContain('/things/one');
});

test.each([
  ['more than 128 characters', 'a'.repeat(MAX_REQUEST_ID_LENGTH + 1)],
  ['a space', 'two words'],
  ['a quote', 'id"injected'],
  ['nothing in it', ''],
])('a client id with %s is replaced by a new UUID', async (_what, given) => {
  const res = await fetch(`${base}/api/v1/projects/ledger-logs/things/one`, {
    method: 'POST',
    headers: { 'x-request-id': given },
  });
  const id = res.headers.get('x-request-id') ?? '';
  expect(id).toMatch(UUID);
  // Without a token: a 401, still echoed and logged, with no subject.
  expect(res.status).toBe(401);
  const line = await accessLine(id);
  expect(line).toMatchObject({ status: 401, project: 'ledger-logs' });
  expect(line.subject).toBeUndefined();
});

test('the longest accepted id is kept', async () => {
  const id = 'b'.repeat(MAX_REQUEST_ID_LENGTH);
  const res = await fetch(`${base}/nowhere`, { headers: { 'x-request-id': id } });
  expect(res.headers.get('x-request-id')).toBe(id);
  expect(await accessLine(id)).toMatchObject({ route: 'unmatched', status: 404 });
});

test('each request without an id gets a new one', async () => {
  const [a, b] = await Promise.all([fetch(`${base}/nowhere`), fetch(`${base}/nowhere`)]);
  const ids = [a.headers.get('x-request-id'), b.headers.get('x-request-id')];
  expect(ids[0]).toMatch(UUID);
  expect(ids[1]).toMatch(UUID);
  expect(ids[0]).not.toBe(ids[1]);
});

test('an unhandled error is logged with its cause and the request id, the access line at error', async () => {
  const res = await fetch(`${base}/fail`, { headers: { 'x-request-id': 'failing-request' } });
  expect(res.status).toBe(500);
  await accessLine('failing-request');
  const mine = lines.filter((l) => l.reqId === 'failing-request');
  expect(mine).toEqual([
    expect.objectContaining({
      level: 'error',
      msg: 'unhandled error',
      err: expect.objectContaining({
        message: 'handler broke',
        cause: expect.objectContaining({ message: 'the cause' }),
      }),
    }),
    expect.objectContaining({ level: 'error', msg: 'request', route: '/fail', status: 500 }),
  ]);
});
