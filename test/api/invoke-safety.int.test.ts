import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  TEST_METRICS_TOKEN,
} from './api-process';

jest.setTimeout(180_000);

/**
 * The invoke path leaks nothing and goes nowhere else: hostile response headers are dropped,
 * the caller's credentials and proxy headers never reach the function, a Knative status naming
 * another host is refused before anything is sent, /metrics needs its token, and another
 * project's functions are a 403 that says nothing about them.
 */
const prefix = `s${randomBytes(2).toString('hex')}-`;
const namespace = `${prefix}shop`;
let api: ApiProcess;
let standIn: StandInProcess;
let headers: Record<string, string>;

/** A local HTTP server that records every request it gets. */
interface Recorder {
  readonly url: string;
  readonly requests: { url: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

async function recorder(host: string): Promise<Recorder> {
  const requests: Recorder['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => {
      res.setHeader('set-cookie', 'hks_session=stolen; Path=/; HttpOnly');
      res.setHeader('strict-transport-security', 'max-age=63072000; includeSubDomains');
      res.setHeader('content-security-policy', "script-src 'unsafe-inline'");
      res.setHeader('access-control-allow-origin', '*');
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-recorded', String(requests.length));
      res.end('{"recorded":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

let allowed: Recorder;
let other: Recorder;

const request = (method: string, path: string, body?: unknown) =>
  projectRequest(api, 'shop', headers, method, path, body);

const fn = (name: string, code: string) => ({
  apiVersion: API_VERSION,
  kind: 'Function',
  metadata: { name, project: 'shop' },
  spec: { runtime: 'python3.12', code },
});

async function deployReady(name: string, code: string): Promise<void> {
  expect((await request('POST', '/applications', fn(name, code))).status).toBe(201);
  await waitFor(`function ${name} ready`, 60_000, async () => {
    const res = await request('GET', `/functions/${name}`);
    return res.status === 200 && res.json.ready === true;
  });
}

/** Writes a Knative Service's status as an administrator would (the status subresource). */
async function patchStatus(name: string, status: Record<string, unknown>): Promise<void> {
  await kubectlOk([
    'patch',
    'services.serving.knative.dev',
    name,
    '-n',
    namespace,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
}

async function invoke(
  on: ApiProcess,
  name: string,
  extra: Record<string, string> = {},
  query = '',
) {
  const res = await fetch(`${on.url}/api/v1/projects/shop/functions/${name}/invoke${query}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', ...extra },
    body: '{}',
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

beforeAll(async () => {
  [standIn, allowed, other] = await Promise.all([
    startStandIn(prefix),
    recorder('127.0.0.1'),
    // Another loopback address: not a dev host, so never a function's address.
    recorder('127.0.0.2'),
  ]);
  api = await startApi({
    ...(await testStores()[0].env()),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
  });
  headers = {
    authorization: `Bearer ${await token(['shop'])}`,
    'content-type': 'application/json',
  };
  await Promise.all([
    deployReady(
      'hostile',
      [
        'def handler(event, context):',
        '    return {"statusCode": 200, "headers": {',
        '        "Content-Type": "text/html", "Set-Cookie": "hks_session=stolen; Path=/",',
        '        "Strict-Transport-Security": "max-age=63072000",',
        '        "Content-Security-Policy": "default-src *", "X-Frame-Options": "ALLOWALL",',
        '        "Location": "https://evil.example/", "X-Kept": "yes"},',
        '        "body": "<script>document.cookie</script>"}',
        '',
      ].join('\n'),
    ),
    deployReady('target', 'def handler(event, context):\n    return "real function"\n'),
  ]);
}, 240_000);

afterAll(async () => {
  await api?.stop();
  await standIn?.stop();
  await allowed?.close();
  await other?.close();
});

test('a function’s response cannot set cookies or origin-level headers, nor run script', async () => {
  const res = await invoke(api, 'hostile');
  expect(res.status).toBe(200);
  expect(res.text).toBe('<script>document.cookie</script>');
  expect(res.headers.get('set-cookie')).toBeNull();
  expect(res.headers.get('strict-transport-security')).toBeNull();
  expect(res.headers.get('location')).toBeNull();
  expect(res.headers.get('x-frame-options')).toBeNull();
  expect(res.headers.get('content-security-policy')).toBe('sandbox');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('content-disposition')).toBe('attachment');
  expect(res.headers.get('content-type')).toBe('text/html');
  expect(res.headers.get('x-kept')).toBe('yes');
  // The API's id of the invocation (a UUID), the X-Request-Id the function was sent.
  expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/);
});

test('only the headers the caller meant reach the function; the tag header only for ?tag=', async () => {
  const live = await kubectlJson<{ status: { traffic: object[] } }>([
    'get',
    'services.serving.knative.dev',
    'target',
    '-n',
    namespace,
  ]);
  await patchStatus('target', {
    url: allowed.url,
    address: { url: allowed.url },
    traffic: live.status.traffic.map((t) => ({ ...t, tag: 'blue' })),
  });
  const sent = {
    cookie: 'hks_session=secret',
    'x-forwarded-for': '10.1.2.3',
    'x-forwarded-host': 'evil.example',
    forwarded: 'for=10.1.2.3',
    'knative-serving-tag': 'smuggled',
    // The platform's protocol with the runtime: a caller's X-Hks-Stream would get raw NDJSON
    // and be recorded as the stream's 200.
    'x-hks-stream': 'ndjson',
    'x-hks-files': 'envelope',
    'x-hks-session-secret': 'guessed',
    'x-custom': 'meant for the function',
  };
  const plain = await invoke(api, 'target', sent);
  expect(plain.status).toBe(200);
  expect(plain.text).toBe('{"recorded":true}');
  expect(plain.headers.get('set-cookie')).toBeNull();
  expect(plain.headers.get('strict-transport-security')).toBeNull();
  expect(plain.headers.get('access-control-allow-origin')).toBeNull();
  expect(plain.headers.get('content-security-policy')).toBe('sandbox');
  const tagged = await invoke(api, 'target', sent, '?tag=blue');
  expect(tagged.status).toBe(200);

  expect(allowed.requests).toHaveLength(2);
  const [first, second] = allowed.requests.map((r) => r.headers);
  for (const received of [first, second]) {
    expect(received).toMatchObject({ 'x-custom': 'meant for the function' });
    for (const name of [
      'authorization',
      'cookie',
      'x-forwarded-for',
      'x-forwarded-host',
      'x-hks-stream',
      'x-hks-files',
      'x-hks-session-secret',
    ])
      expect({ name, value: received[name] }).toEqual({ name, value: undefined });
    expect(received.forwarded).toBeUndefined();
  }
  expect(first['knative-serving-tag']).toBeUndefined();
  expect(second['knative-serving-tag']).toBe('blue');
});

test('a compressed body reaches the function decoded, without its content-encoding', async () => {
  await deployReady('echo', 'def handler(event, context):\n    return {"event": event}\n');
  const res = await fetch(`${api.url}/api/v1/projects/shop/functions/echo/invoke`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: gzipSync(JSON.stringify({ name: 'Ada' })),
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ event: { name: 'Ada' } });
  // What arrives at the function's address: the decoded body's headers only.
  const live = await kubectlJson<{ status: { traffic: object[] } }>([
    'get',
    'services.serving.knative.dev',
    'target',
    '-n',
    namespace,
  ]);
  await patchStatus('target', {
    url: allowed.url,
    address: { url: allowed.url },
    traffic: live.status.traffic,
  });
  const before = allowed.requests.length;
  const recorded = await fetch(`${api.url}/api/v1/projects/shop/functions/target/invoke`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: gzipSync('{"name":"Ada"}'),
  });
  expect(recorded.status).toBe(200);
  const received = allowed.requests[before].headers;
  expect(received['content-encoding']).toBeUndefined();
  expect(received['content-length']).toBe(String('{"name":"Ada"}'.length));
});

test('a Knative status naming another host is refused and nothing is sent there', async () => {
  const before = allowed.requests.length;
  for (const url of [
    other.url,
    `${other.url}/`,
    'http://169.254.169.254/',
    `http://target.${prefix}other.svc.cluster.local`,
    `http://target.${namespace}.svc.cluster.local.evil.example`,
  ]) {
    await patchStatus('target', { url, address: { url } });
    const res = await invoke(api, 'target');
    expect({ url, status: res.status }).toEqual({ url, status: 502 });
    const problem = JSON.parse(res.text) as { title: string; detail: string };
    expect(problem.title).toBe('Function address refused');
    expect(problem.detail).toContain('unexpected host');
    expect(problem.detail).toContain(`target.${namespace}.svc.cluster.local`);
    // The host found is not echoed: it may be another project's.
    expect(problem.detail).not.toMatch(/127\.0\.0\.2|169\.254|other\.svc|evil/);
  }
  expect(other.requests).toHaveLength(0);
  expect(allowed.requests).toHaveLength(before);
});

test('through a gateway: always the gateway, with the function’s own host only', async () => {
  // The recorder on 127.0.0.1 stands in for Kourier.
  const gatewayed = await startApi({
    ...(await testStores()[0].env()),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
    HKS_FUNCTION_GATEWAY: allowed.url,
    // Unset: /metrics is not served at all.
    HKS_METRICS_TOKEN: '',
  });
  try {
    const before = allowed.requests.length;
    await patchStatus('target', {
      url: `http://target.${namespace}.fn.example.com`,
      address: { url: other.url },
    });
    const ok = await invoke(gatewayed, 'target');
    expect(ok.status).toBe(200);
    expect(allowed.requests).toHaveLength(before + 1);
    expect(allowed.requests.at(-1)?.headers.host).toBe(`target.${namespace}.fn.example.com`);

    for (const url of [`http://target.${prefix}other.fn.example.com`, other.url]) {
      await patchStatus('target', { url, address: { url } });
      const res = await invoke(gatewayed, 'target');
      expect({ url, status: res.status }).toEqual({ url, status: 502 });
      expect(res.text).toContain('unexpected host');
    }
    expect(allowed.requests).toHaveLength(before + 1);
    expect(other.requests).toHaveLength(0);

    expect((await fetch(`${gatewayed.url}/metrics`)).status).toBe(404);
  } finally {
    await gatewayed.stop();
  }
});

test('/metrics needs its bearer token; its function labels are only for whoever holds it', async () => {
  expect((await fetch(`${api.url}/metrics`)).status).toBe(401);
  const wrong = await fetch(`${api.url}/metrics`, {
    headers: { authorization: `Bearer ${TEST_METRICS_TOKEN}x` },
  });
  expect(wrong.status).toBe(401);
  expect(await wrong.text()).not.toContain('hks_function_invocations_total');
  // A project's user token is not the metrics token.
  expect((await fetch(`${api.url}/metrics`, { headers })).status).toBe(401);
  expect(await metricsText(api)).toMatch(
    /hks_function_invocations_total\{project="shop",function="hostile",outcome="success"\} 1/,
  );
});

test('another project’s functions are a 403 that neither confirms nor describes them', async () => {
  const otherHeaders = {
    authorization: `Bearer ${await token(['other'])}`,
    'content-type': 'application/json',
  };
  const created = await projectRequest(api, 'other', otherHeaders, 'POST', '/applications', {
    ...fn('private-fn', 'def handler(event, context):\n    return "other project"\n'),
    metadata: { name: 'private-fn', project: 'other' },
  });
  expect(created.status).toBe(201);
  const asShop = (method: string, path: string) =>
    projectRequest(api, 'other', headers, method, path);
  for (const [method, path] of [
    ['GET', '/functions'],
    ['GET', '/functions/private-fn'],
    ['POST', '/functions/private-fn/invoke'],
    ['GET', '/functions/private-fn/logs'],
  ]) {
    const existing = await asShop(method, path);
    const missing = await asShop(method, path.replace('private-fn', 'no-such-fn'));
    expect({ path, status: existing.status }).toEqual({ path, status: 403 });
    expect(existing.text).not.toContain('other project');
    expect(existing.text.replaceAll('private-fn', 'X')).toBe(
      missing.text.replaceAll('no-such-fn', 'X'),
    );
  }
});
