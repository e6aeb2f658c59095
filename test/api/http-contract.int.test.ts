import { randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { API_VERSION } from '../../constructs';
import { kubectlJson, kubectlOk } from '../cluster/kubectl';
import { waitFor } from '../cluster/wait';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import {
  ApiProcess,
  metricsText,
  projectRequest,
  startApi,
  testStores,
  token,
} from './api-process';

jest.setTimeout(180_000);

/**
 * The API's HTTP contract at its edges: body limits (413), encodings and charsets (415/400)
 * checked before anything is deployed, 405 with Allow, one metrics route label per route,
 * function responses streamed under HKS_FUNCTION_RESPONSE_LIMIT_BYTES (502 beyond, without
 * the API's memory growing), and no body on a 204.
 */
const prefix = `c${randomBytes(2).toString('hex')}-`;
const project = 'contract';
const namespace = `${prefix}${project}`;
let api: ApiProcess;
let standIn: StandInProcess;
let headers: Record<string, string>;

/** What the local function server answers next. */
let answer: { size: number; declared: boolean; status?: number } = { size: 2, declared: true };
let fnServer: Server;
let fnUrl: string;

const request = (method: string, path: string, body?: unknown) =>
  projectRequest(api, project, headers, method, path, body);

const stateless = (name: string, env: Record<string, string> = {}) => ({
  apiVersion: API_VERSION,
  kind: 'StatelessApplication',
  metadata: { name, project },
  spec: { image: 'nginx:1.27', port: 80, env },
});

async function send(body: Buffer | string, extra: Record<string, string>) {
  const res = await fetch(`${api.url}/api/v1/projects/${project}/applications`, {
    method: 'POST',
    headers: { ...headers, ...extra },
    body,
  });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    json: (await res.json()) as { detail?: string; status?: number },
  };
}

beforeAll(async () => {
  fnServer = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const { size, declared, status } = answer;
      res.statusCode = status ?? 200;
      res.setHeader('content-type', 'application/octet-stream');
      if (declared) res.setHeader('content-length', String(size));
      const chunk = Buffer.alloc(Math.min(size, 64 * 1024), 'y');
      let sent = 0;
      const more = () => {
        while (sent < size) {
          const part = chunk.subarray(0, Math.min(chunk.length, size - sent));
          sent += part.length;
          if (!res.write(part)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
  });
  await new Promise<void>((resolve) => fnServer.listen(0, '127.0.0.1', resolve));
  fnUrl = `http://127.0.0.1:${(fnServer.address() as AddressInfo).port}`;
  standIn = await startStandIn(prefix);
  api = await startApi({
    ...(await testStores()[0].env()),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
    HKS_DEFINITION_LIMIT_BYTES: '65536',
  });
  headers = {
    authorization: `Bearer ${await token([project])}`,
    'content-type': 'application/json',
  };
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await standIn?.stop();
  fnServer?.closeAllConnections();
  await new Promise((resolve) => fnServer?.close(resolve));
});

test('a definition over HKS_DEFINITION_LIMIT_BYTES is a 413 naming the limit; nothing is applied', async () => {
  const env = Object.fromEntries(
    Array.from({ length: 2000 }, (_, i) => [`VAR_${i}`, 'x'.repeat(40)]),
  );
  const res = await request('POST', '/applications', stateless('too-big', env));
  expect(res.status).toBe(413);
  expect(res.type).toMatch(/^application\/problem\+json/);
  expect(res.json.detail).toMatch(
    /^The request body is \d+ bytes, expected at most 65536 bytes \(HKS_DEFINITION_LIMIT_BYTES\)$/,
  );
  expect((await request('GET', '/applications/too-big')).status).toBe(404);
});

test('bad encodings and charsets are 4xx problems, checked before anything is deployed', async () => {
  const body = JSON.stringify(stateless('encoded'));
  const cases: [Record<string, string>, Buffer | string, number, RegExp][] = [
    [{ 'content-encoding': 'compress' }, body, 415, /^Content-Encoding: given "compress"/],
    [{ 'content-encoding': 'gzip' }, body, 400, /could not be decoded as its Content-Encoding/],
    [{ 'content-encoding': 'br' }, body, 400, /could not be decoded as its Content-Encoding/],
    [
      { 'content-type': 'application/json; charset=latin1' },
      body,
      415,
      /^Content-Type charset: given "latin1", expected utf-8$/,
    ],
  ];
  for (const [extra, sent, status, detail] of cases) {
    const res = await send(sent, extra);
    expect({ extra, status: res.status, type: res.type }).toEqual({
      extra,
      status,
      type: expect.stringMatching(/^application\/problem\+json/),
    });
    expect(res.json.detail).toMatch(detail);
  }
  expect((await request('GET', '/applications/encoded')).status).toBe(404);
  expect(
    await kubectlOk(['get', 'deployment', 'encoded', '-n', namespace]).catch(() => false),
  ).toBe(false);
  // The same definition, gzipped as it says, is applied.
  const gzipped = await send(gzipSync(body), { 'content-encoding': 'gzip' });
  expect(gzipped.status).toBe(201);
});

test('an undeclared method on a known path is a 405 with Allow; OPTIONS lists them', async () => {
  const res = await request('DELETE', '/functions');
  expect(res.status).toBe(405);
  expect(res.type).toMatch(/^application\/problem\+json/);
  expect(res.json.detail).toBe(
    `DELETE /api/v1/projects/${project}/functions: given method DELETE, expected one of GET, HEAD, OPTIONS`,
  );
  const raw = await fetch(`${api.url}/api/v1/projects/${project}/applications/x`, {
    method: 'PATCH',
    headers,
  });
  expect(raw.status).toBe(405);
  expect(raw.headers.get('allow')).toBe('GET, HEAD, PUT, DELETE, OPTIONS');
  const probe = await fetch(`${api.url}/healthz`, { method: 'POST' });
  expect(probe.status).toBe(405);
  expect(probe.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  const options = await fetch(`${api.url}/api/v1/projects/${project}/functions`, {
    method: 'OPTIONS',
    headers,
  });
  expect(options.status).toBe(204);
  expect(options.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  expect(await options.text()).toBe('');
});

test('metrics carry one route label per declared route, never the raw path', async () => {
  await request('GET', '/applications/no-such-app');
  await fetch(`${api.url}/api/v1/projects/${project}/applications/other-app`);
  await request('PATCH', '/applications/third-app');
  const text = await metricsText(api);
  const routes = new Set(
    [...text.matchAll(/hks_http_request_duration_seconds_count\{[^}]*route="([^"]+)"/g)].map(
      (m) => m[1],
    ),
  );
  expect(routes).toContain('/api/v1/projects/:project/applications/:name');
  for (const route of routes) expect(route).not.toMatch(/contract|no-such-app|other-app|third-app/);
  for (const status of ['404', '401', '405'])
    expect(text).toMatch(
      new RegExp(
        `hks_http_request_duration_seconds_count\\{[^}]*route="/api/v1/projects/:project/applications/:name"[^}]*status="${status}"`,
      ),
    );
});

describe('a function response', () => {
  beforeAll(async () => {
    const fn = {
      apiVersion: API_VERSION,
      kind: 'Function',
      metadata: { name: 'sized', project },
      spec: { runtime: 'python3.12', code: 'def handler(event, context):\n    return 1\n' },
    };
    expect((await request('POST', '/applications', fn)).status).toBe(201);
    await waitFor('function sized ready', 60_000, async () => {
      const res = await request('GET', '/functions/sized');
      return res.status === 200 && res.json.ready === true;
    });
    // Its address becomes the local server, which answers what each test sets.
    await kubectlJson(['get', 'services.serving.knative.dev', 'sized', '-n', namespace]);
    await kubectlOk([
      'patch',
      'services.serving.knative.dev',
      'sized',
      '-n',
      namespace,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { url: fnUrl, address: { url: fnUrl } } }),
    ]);
  }, 120_000);

  const invoke = async () => {
    const res = await fetch(`${api.url}/api/v1/projects/${project}/functions/sized/invoke`, {
      method: 'POST',
      headers,
      body: '{}',
    });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body };
  };
  const rss = async () =>
    Number(/^process_resident_memory_bytes (\d+)/m.exec(await metricsText(api))?.[1]);

  test('within HKS_FUNCTION_RESPONSE_LIMIT_BYTES streams whole', async () => {
    answer = { size: 5 * 1024 * 1024, declared: true };
    const res = await invoke();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(5 * 1024 * 1024));
    expect(res.body.length).toBe(5 * 1024 * 1024);
  });

  test.each([
    ['declared', true],
    ['chunked', false],
  ])(
    'of 100 MB (%s) is a 502 naming the limit, and the API’s memory does not grow',
    async (_what, declared) => {
      answer = { size: 100 * 1024 * 1024, declared };
      const before = await rss();
      const res = await invoke();
      const after = await rss();
      expect(res.status).toBe(502);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(res.body.toString())).toMatchObject({
        title: 'Function response too large',
        detail: expect.stringMatching(
          /expected at most 6291456 bytes \(HKS_FUNCTION_RESPONSE_LIMIT_BYTES\)$/,
        ),
      });
      process.stdout.write(
        `RSS of the API around a 100 MB ${_what} response: ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MiB\n`,
      );
      expect(after - before).toBeLessThan(50 * 1024 * 1024);
    },
  );

  test('a 204 has no body and no content-length, whatever the function sent', async () => {
    answer = { size: 10, declared: true, status: 204 };
    const res = await invoke();
    expect(res.status).toBe(204);
    expect(res.body.length).toBe(0);
    expect(res.headers.get('content-length')).toBeNull();
  });
});
