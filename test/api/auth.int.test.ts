import { request as httpRequest } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { ApiProcess, internalToken, metricsText, startApi, testStores, token } from './api-process';
import { TEST_JWT_SECRET } from './api-process';
import {
  hmacToken,
  JwksServer,
  nowSeconds,
  startJwksServer,
  unsignedToken,
} from '../support/jwks-server';

/**
 * Every /api/v1 route, taken from the API's own OpenAPI document: 401 without a token or
 * with a bad one, 403 for another project's path.
 */
let api: ApiProcess;
let operations: { method: string; path: string }[];
let internalOperations: { method: string; path: string }[];
/** `METHOD path` of the routes that need a role besides the project grant (OpenAPI role names). */
let adminOperations: Set<string>;

beforeAll(async () => {
  api = await startApi({ ...(await testStores()[0].env()), HKS_RECORDER: 'off' });
  const doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
  };
  const routesUnder = (base: string) =>
    Object.entries(doc.paths)
      .filter(([path]) => path.startsWith(base))
      .flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
      );
  operations = routesUnder('/api/v1/');
  internalOperations = routesUnder('/internal/v1/');
  adminOperations = new Set(
    operations
      .filter((op) =>
        doc.paths[op.path][op.method.toLowerCase()].security?.some((s) =>
          Object.values(s).some((roles) => roles.includes('admin')),
        ),
      )
      .map((op) => `${op.method} ${op.path}`),
  );
}, 60_000);

afterAll(async () => {
  await api?.stop();
});

/** A user token whose `admin` claim lists `admin`. */
function adminToken(projects: string[], admin: string[]): Promise<string> {
  return new SignJWT({ projects, admin })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('test-admin')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
}

/** A UUID: what an invocation id must be, and a valid execution id (a Job's uid) too. */
const SOME_ID = '0b6f1c2e-5d4a-4e3b-9f21-7c8d9e0a1b2c';

const concrete = (path: string, project: string) =>
  path
    .replace('{project}', project)
    .replace('{name}', 'x')
    .replace('{id}', SOME_ID)
    .replace('{schedule}', 'nightly');

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
  // The same grants with the admin role in the project, for the routes that need it.
  const shopAdmin = `Bearer ${await adminToken(['shop'], ['shop'])}`;
  const allAdmin = `Bearer ${await adminToken(['*'], ['*'])}`;
  for (const op of operations.filter((o) => o.path.includes('{project}'))) {
    const denied = await call(op.method, concrete(op.path, 'billing'), shopOnly);
    expect({ op, status: denied.status }).toEqual({ op, status: 403 });
    expect(JSON.parse(denied.body).detail).toContain('does not grant project "billing"');
    const granted = adminOperations.has(`${op.method} ${op.path}`)
      ? [shopAdmin, allAdmin]
      : [shopOnly, admin];
    for (const header of granted) {
      const allowed = await call(op.method, concrete(op.path, 'shop'), header);
      expect({ op, status: allowed.status }).not.toEqual({ op, status: 401 });
      expect({ op, status: allowed.status }).not.toEqual({ op, status: 403 });
    }
  }
  // Routes of no project (/schedules/next) take any user token.
  for (const op of operations.filter((o) => !o.path.includes('{project}'))) {
    const allowed = await call(op.method, op.path, shopOnly);
    expect({ op, status: allowed.status }).not.toEqual({ op, status: 401 });
    expect({ op, status: allowed.status }).not.toEqual({ op, status: 403 });
  }
});

test('routes of the admin role: 403 for a granted token without it, naming the admin claim', async () => {
  expect([...adminOperations]).toEqual(['GET /api/v1/projects/{project}/agent-executions']);
  for (const key of adminOperations) {
    const [method, path] = key.split(' ');
    for (const header of [
      `Bearer ${await token(['shop'])}`,
      `Bearer ${await token(['*'])}`,
      `Bearer ${await adminToken(['shop'], ['billing'])}`,
    ]) {
      const denied = await call(method, concrete(path, 'shop'), header);
      expect({ key, status: denied.status }).toEqual({ key, status: 403 });
      expect(JSON.parse(denied.body).detail).toContain('"admin" claim');
    }
  }
});

test('internal routes: 401 without a token, 403 for user tokens; internal tokens get 403 on user routes', async () => {
  // The 4 operations, the 4 of agent sessions and the 7 project routes of agents (api/agent-routes.ts).
  expect(internalOperations.length).toBe(15);
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

/** A request with the path sent exactly as given: fetch would resolve `..` and `%2E%2E`. */
function rawCall(
  base: string,
  method: string,
  path: string,
  authorization: string,
): Promise<{ status: number; type: string; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    // The path goes in the options: a URL argument would be normalized.
    const req = httpRequest(
      base,
      {
        method,
        path,
        headers: { authorization, 'content-type': 'application/json' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          let json: Record<string, unknown>;
          try {
            json = JSON.parse(body) as Record<string, unknown>;
          } catch {
            json = { text: body };
          }
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), json });
        });
      },
    );
    req.on('error', reject);
    req.end(['POST', 'PUT', 'PATCH'].includes(method) ? '{}' : undefined);
  });
}

describe('path parameters', () => {
  const valid: Record<string, string> = {
    project: 'shop',
    name: 'x',
    id: SOME_ID,
    schedule: 'nightly',
  };
  const bad: [string, string, string][] = [
    ['an encoded slash', 'a%2Fb', '"a/b"'],
    ['..', '..', '".."'],
    ['an encoded ..', '%2E%2E', '".."'],
    ['upper case', 'Shop', '"Shop"'],
    ['an over-long value', 'a'.repeat(64), '(64 characters)'],
  ];

  test('every route: a bad project, name or id is a 400 problem naming the parameter', async () => {
    const admin = `Bearer ${await token(['*'])}`;
    const internal = `Bearer ${await internalToken(['*'])}`;
    let checked = 0;
    for (const op of [...operations, ...internalOperations]) {
      const params = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const param of params) {
        for (const [label, value, shown] of bad) {
          const path = op.path.replace(/\{(\w+)\}/g, (_m, name: string) =>
            name === param ? value : valid[name],
          );
          const authorization = op.path.startsWith('/internal/') ? internal : admin;
          const res = await rawCall(api.url, op.method, path, authorization);
          const seen = { op, param, label, status: res.status };
          expect(seen).toEqual({ ...seen, status: 400 });
          expect(res.type).toMatch(/application\/problem\+json/);
          expect(res.json.title).toBe('Invalid request path');
          expect(res.json.detail).toMatch(new RegExp(`^path parameter ${param}: given `));
          expect(res.json.detail).toContain(shown);
          expect(res.json.detail).toContain('expected');
          expect(res.json.errors).toEqual([
            { path: param, message: expect.stringContaining('expected') },
          ]);
          checked++;
        }
      }
    }
    // At least the project of every /api/v1 route.
    expect(checked).toBeGreaterThanOrEqual(bad.length * operations.length);
  });

  test('a project name over 40 characters and an execution id over 36 are refused', async () => {
    const admin = `Bearer ${await token(['*'])}`;
    const longProject = await rawCall(
      api.url,
      'GET',
      `/api/v1/projects/${'p'.repeat(41)}/applications`,
      admin,
    );
    expect(longProject.status).toBe(400);
    expect(longProject.json.detail).toContain('expected at most 40 characters');
    const longId = await rawCall(
      api.url,
      'GET',
      `/api/v1/projects/shop/cronjobs/x/executions/${'0'.repeat(37)}`,
      admin,
    );
    expect(longId.status).toBe(400);
    expect(longId.json.detail).toContain('at most 36 characters');
  });

  test('without a token a bad path is still a 401', async () => {
    const res = await rawCall(api.url, 'GET', '/api/v1/projects/Shop/applications', '');
    expect(res.status).toBe(401);
  });
});

describe('tokens', () => {
  const userRoute = '/api/v1/projects/shop/applications';
  const internalRoute = '/internal/v1/operations/functions/fn-000000000000';
  const claims = (extra: Record<string, unknown> = {}) => ({
    projects: ['shop'],
    iat: nowSeconds(),
    exp: nowSeconds() + 300,
    ...extra,
  });
  const internalClaims = (extra: Record<string, unknown> = {}) =>
    claims({ aud: 'hks-internal', ...extra });

  async function detailOf(base: string, method: string, path: string, jwt: string) {
    const res = await rawCall(base, method, path, `Bearer ${jwt}`);
    return { status: res.status, detail: String(res.json.detail) };
  }

  test('the test helpers mint accepted tokens', async () => {
    expect((await detailOf(api.url, 'GET', userRoute, await token(['shop']))).status).toBe(200);
    const internal = await detailOf(api.url, 'DELETE', internalRoute, await internalToken(['*']));
    expect(internal.status).toBe(404);
  });

  test('exp is required and bounded: no exp, or a lifetime over a day, is a 401', async () => {
    for (const [label, jwt, message] of [
      ['no exp', hmacToken(claims({ exp: undefined }), TEST_JWT_SECRET), '"exp"'],
      [
        'two days',
        hmacToken(claims({ exp: nowSeconds() + 2 * 86400 }), TEST_JWT_SECRET),
        'expected at most 86400 s (HKS_JWT_MAX_LIFETIME_SECONDS)',
      ],
    ]) {
      const res = await detailOf(api.url, 'GET', userRoute, jwt);
      expect({ label, status: res.status }).toEqual({ label, status: 401 });
      expect(res.detail).toContain(message);
    }
  });

  test('iat in the future (now + 100000 s) is a 401 for internal and user tokens', async () => {
    const future = { iat: nowSeconds() + 100000, exp: nowSeconds() + 100300 };
    for (const [method, path, jwt] of [
      ['DELETE', internalRoute, hmacToken(internalClaims(future), TEST_JWT_SECRET)],
      ['GET', userRoute, hmacToken(claims(future), TEST_JWT_SECRET)],
    ]) {
      const res = await detailOf(api.url, method, path, jwt);
      expect(res).toEqual({
        status: 401,
        detail: expect.stringContaining('in the future, expected at most 60 s'),
      });
    }
  });

  test('internal tokens: exp at most 600 s from now, even when exp − iat is within it', async () => {
    const jwt = hmacToken(
      internalClaims({ iat: nowSeconds() + 50, exp: nowSeconds() + 630 }),
      TEST_JWT_SECRET,
    );
    const res = await detailOf(api.url, 'DELETE', internalRoute, jwt);
    expect(res.status).toBe(401);
    expect(res.detail).toContain('expected at most 600 s');
  });

  test('alg none and embedded keys are a 401 on both families', async () => {
    const cases: [string, string, string][] = [
      [userRoute, unsignedToken(claims()), 'alg is "none"'],
      [internalRoute, unsignedToken(internalClaims()), 'alg is "none"'],
      [
        userRoute,
        hmacToken(claims(), TEST_JWT_SECRET, { jku: 'http://127.0.0.1:1/keys' }),
        'carries jku',
      ],
      [
        internalRoute,
        hmacToken(internalClaims(), TEST_JWT_SECRET, { x5u: 'http://127.0.0.1:1/cert' }),
        'carries x5u',
      ],
    ];
    for (const [path, jwt, message] of cases) {
      const res = await detailOf(api.url, path === userRoute ? 'GET' : 'DELETE', path, jwt);
      expect({ path, message, status: res.status }).toEqual({ path, message, status: 401 });
      expect(res.detail).toContain(message);
      expect(res.detail).not.toContain(TEST_JWT_SECRET);
    }
  });

  describe('with an internal secret of its own', () => {
    const INTERNAL_SECRET = 'internal-test-secret-of-at-least-32-bytes';
    let separate: ApiProcess;

    beforeAll(async () => {
      separate = await startApi({
        ...(await testStores()[0].env()),
        HKS_RECORDER: 'off',
        HKS_INTERNAL_JWT_SECRET: INTERNAL_SECRET,
      });
    }, 60_000);

    afterAll(async () => {
      await separate?.stop();
    });

    test('internal tokens verify with HKS_INTERNAL_JWT_SECRET only; user tokens with HKS_JWT_SECRET only', async () => {
      const ownKey = await internalToken(['*'], '5m', INTERNAL_SECRET);
      expect((await detailOf(separate.url, 'DELETE', internalRoute, ownKey)).status).toBe(404);
      const userKey = await internalToken(['*'], '5m');
      const refused = await detailOf(separate.url, 'DELETE', internalRoute, userKey);
      expect(refused.status).toBe(401);
      expect(refused.detail).toContain(
        'verify only with the internal key, HKS_INTERNAL_JWT_SECRET',
      );
      expect(refused.detail).not.toContain(INTERNAL_SECRET);
      expect((await detailOf(separate.url, 'GET', userRoute, await token(['shop']))).status).toBe(
        200,
      );
      const mintedWithInternal = await token(['shop'], INTERNAL_SECRET);
      expect((await detailOf(separate.url, 'GET', userRoute, mintedWithInternal)).status).toBe(401);
    });
  });

  describe('JWKS mode', () => {
    let keys: JwksServer;
    let jwks: ApiProcess;
    const issued = (extra: Record<string, unknown> = {}) =>
      claims({ iss: 'https://issuer.test', aud: 'hks-api', ...extra });

    beforeAll(async () => {
      keys = await startJwksServer('test-key');
      jwks = await startApi({
        ...(await testStores()[0].env()),
        HKS_RECORDER: 'off',
        HKS_JWT_SECRET: '',
        HKS_JWKS_URL: keys.url,
        HKS_JWT_ISSUER: 'https://issuer.test',
        HKS_JWT_AUDIENCE: 'hks-api',
      });
    }, 60_000);

    afterAll(async () => {
      await jwks?.stop();
      await keys?.close();
    });

    test('a token signed with a served key passes; the audience is checked', async () => {
      expect((await detailOf(jwks.url, 'GET', userRoute, await keys.sign(issued()))).status).toBe(
        200,
      );
      const otherAudience = await keys.sign(issued({ aud: 'another-api' }));
      expect((await detailOf(jwks.url, 'GET', userRoute, otherAudience)).status).toBe(401);
    });

    test('an unknown kid, HS256 keyed with the public key, and alg none are a 401', async () => {
      const cases: [string, string, string][] = [
        ['unknown kid', await keys.sign(issued(), { kid: 'not-served' }), 'no applicable key'],
        [
          'HS256 with the PEM public key',
          hmacToken(issued(), keys.publicPem, { kid: keys.kid }),
          'alg is "HS256", expected one of RS256',
        ],
        [
          'HS256 with the JWK',
          hmacToken(issued(), JSON.stringify(keys.publicJwk), { kid: keys.kid }),
          'alg is "HS256"',
        ],
        ['alg none', unsignedToken(issued()), 'alg is "none"'],
      ];
      for (const [label, jwt, message] of cases) {
        const res = await detailOf(jwks.url, 'GET', userRoute, jwt);
        expect({ label, status: res.status }).toEqual({ label, status: 401 });
        expect(res.detail).toContain(message);
      }
    });

    test('a key embedded in the header is refused even when the token verifies with it', async () => {
      const own = await generateKeyPair('RS256');
      const jwt = await new SignJWT(issued())
        .setProtectedHeader({ alg: 'RS256', kid: keys.kid, jwk: await exportJWK(own.publicKey) })
        .sign(own.privateKey);
      const res = await detailOf(jwks.url, 'GET', userRoute, jwt);
      expect(res.status).toBe(401);
      expect(res.detail).toContain('carries jwk');
    });
  });
});
