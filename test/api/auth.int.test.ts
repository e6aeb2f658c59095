import { SignJWT } from 'jose';
import { ApiProcess, internalToken, metricsText, startApi, testStores, token } from './api-process';

/**
 * Every /api/v1 route, taken from the API's own OpenAPI document: 401 without a token or
 * with a bad one, 403 for another project's path.
 */
let api: ApiProcess;
let operations: { method: string; path: string }[];
let internalOperations: { method: string; path: string }[];

beforeAll(async () => {
  api = await startApi({ ...(await testStores()[0].env()), HKS_RECORDER: 'off' });
  const doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const routesUnder = (base: string) =>
    Object.entries(doc.paths)
      .filter(([path]) => path.startsWith(base))
      .flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
      );
  operations = routesUnder('/api/v1/');
  internalOperations = routesUnder('/internal/v1/');
}, 60_000);

afterAll(async () => {
  await api?.stop();
});

const concrete = (path: string, project: string) =>
  path.replace('{project}', project).replace('{name}', 'x').replace('{id}', 'y');

async function call(method: string, path: string, authorization?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization) headers.authorization = authorization;
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers,
    body: ['POST', 'PUT', 'PATCH'].includes(method) ? '{}' : undefined,
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    body: (await res.text()) as string,
  };
}

test('the OpenAPI document lists the routes', () => {
  expect(operations.length).toBeGreaterThanOrEqual(13);
  expect(operations).toEqual(
    expect.arrayContaining([
      { method: 'POST', path: '/api/v1/projects/{project}/applications' },
      { method: 'POST', path: '/api/v1/projects/{project}/cronjobs/{name}/trigger' },
    ]),
  );
});

test('no token: 401 on every route, as problem+json', async () => {
  for (const op of operations) {
    const res = await call(op.method, concrete(op.path, 'shop'));
    expect({ op, status: res.status }).toEqual({ op, status: 401 });
    expect(res.type).toMatch(/application\/problem\+json/);
  }
});

test('bad tokens: 401 on every route', async () => {
  const wrongKey = await token(['shop'], 'another-secret-of-at-least-thirty-two-bytes');
  const expired = await new SignJWT({ projects: ['shop'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
    .sign(new TextEncoder().encode('test-secret-of-at-least-thirty-two-bytes!'));
  const noProjects = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode('test-secret-of-at-least-thirty-two-bytes!'));
  for (const op of operations) {
    for (const [label, header] of [
      ['garbage', 'Bearer not-a-jwt'],
      ['wrong key', `Bearer ${wrongKey}`],
      ['expired', `Bearer ${expired}`],
      ['no projects claim', `Bearer ${noProjects}`],
      ['not bearer', `Basic ${Buffer.from('a:b').toString('base64')}`],
    ]) {
      const res = await call(op.method, concrete(op.path, 'shop'), header);
      expect({ op, label, status: res.status }).toEqual({ op, label, status: 401 });
    }
  }
});

test('another project: 403 on every route; the granted project and "*" pass authorization', async () => {
  const shopOnly = `Bearer ${await token(['shop'])}`;
  const admin = `Bearer ${await token(['*'])}`;
  for (const op of operations) {
    const denied = await call(op.method, concrete(op.path, 'billing'), shopOnly);
    expect({ op, status: denied.status }).toEqual({ op, status: 403 });
    expect(JSON.parse(denied.body).detail).toContain('does not grant project "billing"');
    for (const header of [shopOnly, admin]) {
      const allowed = await call(op.method, concrete(op.path, 'shop'), header);
      expect({ op, status: allowed.status }).not.toEqual({ op, status: 401 });
      expect({ op, status: allowed.status }).not.toEqual({ op, status: 403 });
    }
  }
});

test('internal routes: 401 without a token, 403 for user tokens; internal tokens get 403 on user routes', async () => {
  expect(internalOperations.length).toBe(4);
  const user = `Bearer ${await token(['*'])}`;
  for (const op of internalOperations) {
    const path = concrete(op.path, 'shop');
    expect({ op, status: (await call(op.method, path)).status }).toEqual({ op, status: 401 });
    const denied = await call(op.method, path, user);
    expect({ op, status: denied.status }).toEqual({ op, status: 403 });
    expect(JSON.parse(denied.body).detail).toContain('hks-internal');
  }
  const internal = `Bearer ${await internalToken(['*'])}`;
  for (const op of operations) {
    const res = await call(op.method, concrete(op.path, 'shop'), internal);
    expect({ op, status: res.status }).toEqual({ op, status: 403 });
  }
});

test('probes and the OpenAPI document need no token; /metrics needs the metrics token', async () => {
  for (const path of ['/healthz', '/readyz', '/openapi.json']) {
    expect({ path, status: (await fetch(`${api.url}${path}`)).status }).toEqual({
      path,
      status: 200,
    });
  }
  expect(await (await fetch(`${api.url}/readyz`)).json()).toEqual({ cluster: 'ok', store: 'ok' });
  expect((await fetch(`${api.url}/metrics`)).status).toBe(401);
  const metrics = await metricsText(api);
  expect(metrics).toContain('hks_http_request_duration_seconds_bucket');
  expect(metrics).toContain('hks_job_watch_restarts_total');
});
