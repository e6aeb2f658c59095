import { createServer, IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Problem } from '../api/problem';
import { forward, forwardStreaming } from '../api/function-proxy';
import {
  isActiveContent,
  requestHeadersForFunction,
  responseHeadersFromFunction,
} from '../api/invoke-headers';

/** Which headers cross the API between a caller and a function, in each direction. */

test('request headers: credentials, hop-by-hop, forwarding and Knative headers stay behind', () => {
  const forwarded = requestHeadersForFunction({
    authorization: 'Bearer platform-token',
    cookie: 'session=1',
    host: 'api.example.com',
    'content-length': '12',
    // The API forwards the body it has decoded.
    'content-encoding': 'gzip',
    connection: 'keep-alive, X-Secret-Hop',
    'x-secret-hop': 'listed in connection',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    trailer: 'x-checksum',
    'transfer-encoding': 'chunked',
    upgrade: 'websocket',
    'proxy-authorization': 'Basic x',
    'proxy-connection': 'keep-alive',
    expect: '100-continue',
    forwarded: 'for=10.0.0.1',
    via: '1.1 proxy',
    'x-forwarded-for': '10.0.0.1',
    'x-forwarded-host': 'evil.example',
    'x-real-ip': '10.0.0.1',
    'knative-serving-tag': 'canary',
    'knative-serving-namespace': 'other',
    'k-network-probe': 'queue',
    'k-proxy-request': 'activator',
    'x-hks-stream': 'ndjson',
    'x-hks-files': 'envelope',
    'x-hks-session-secret': 'guessed',
    'x-hks-faas-trigger': 'timer',
    'content-type': 'application/json',
    'x-request-id': 'r1',
    'X-Custom': ['a', 'b'],
    accept: 'application/json',
  });
  expect(forwarded).toEqual({
    'content-type': 'application/json',
    'x-request-id': 'r1',
    'x-custom': 'a, b',
    accept: 'application/json',
  });
});

test('response headers: only content and x-* headers come back, hardened', () => {
  const returned = responseHeadersFromFunction({
    'content-type': 'application/json; charset=utf-8',
    'content-encoding': 'gzip',
    etag: '"v1"',
    'x-hks-log-result': 'abc',
    'set-cookie': ['session=stolen; Path=/', 'b=2'],
    'strict-transport-security': 'max-age=63072000; includeSubDomains',
    'content-security-policy': "default-src *; script-src 'unsafe-inline'",
    'content-security-policy-report-only': 'default-src *',
    'permissions-policy': 'camera=*',
    'cross-origin-opener-policy': 'unsafe-none',
    'access-control-allow-origin': '*',
    'access-control-allow-credentials': 'true',
    'clear-site-data': '"*"',
    location: 'https://evil.example/',
    refresh: '0; url=https://evil.example/',
    link: '<https://evil.example/x.js>; rel=preload',
    'www-authenticate': 'Basic realm="api"',
    'cache-control': 'public, max-age=31536000',
    connection: 'close',
    'transfer-encoding': 'chunked',
    'content-length': '2',
    'x-frame-options': 'ALLOWALL',
    'x-content-type-options': 'sniff',
    'x-xss-protection': '1',
    'x-request-id': 'from-the-function',
    'x-forwarded-host': 'evil.example',
  });
  expect(returned).toEqual({
    'content-type': 'application/json; charset=utf-8',
    'content-encoding': 'gzip',
    etag: '"v1"',
    'x-hks-log-result': 'abc',
    'x-content-type-options': 'nosniff',
    'content-security-policy': 'sandbox',
  });
});

test('active content is an attachment; a body without a type is not sniffed', () => {
  for (const type of [
    'text/html',
    'TEXT/HTML; charset=utf-8',
    'application/xhtml+xml',
    'image/svg+xml',
    'text/xml',
    'application/xml',
    'application/rss+xml',
    'text/javascript',
    'application/javascript',
    'application/x-javascript',
    'application/ecmascript',
    'text/xsl',
    'multipart/x-mixed-replace; boundary=x',
  ]) {
    expect({ type, active: isActiveContent(type) }).toEqual({ type, active: true });
    expect(
      responseHeadersFromFunction({ 'content-type': type, 'content-disposition': 'inline' }),
    ).toMatchObject({
      'content-type': type,
      'content-disposition': 'attachment',
      'content-security-policy': 'sandbox',
      'x-content-type-options': 'nosniff',
    });
  }
  for (const type of ['application/json', 'text/plain', 'image/png', 'application/problem+json'])
    expect({ type, active: isActiveContent(type) }).toEqual({ type, active: false });
  expect(responseHeadersFromFunction({ 'content-disposition': 'inline' })).toEqual({
    'content-type': 'application/octet-stream',
    'x-content-type-options': 'nosniff',
    'content-security-policy': 'sandbox',
  });
});

test('forward sends the given headers and returns the filtered response headers', async () => {
  let received: IncomingHttpHeaders = {};
  const server = createServer((req, res) => {
    received = req.headers;
    res.setHeader('set-cookie', 'a=1');
    res.setHeader('content-type', 'text/html');
    res.setHeader('x-answer', '42');
    res.end('<script>alert(1)</script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const response = await forward(
      { url: new URL(`http://127.0.0.1:${port}`), host: 'greet.shop.svc.cluster.local' },
      {
        method: 'POST',
        path: '/',
        headers: { 'x-in': 'yes' },
        body: Buffer.from('{}'),
        timeoutMs: 5000,
        limitBytes: 1024,
      },
    );
    expect(received).toMatchObject({
      host: 'greet.shop.svc.cluster.local',
      'x-in': 'yes',
      'content-length': '2',
    });
    expect(response.status).toBe(200);
    expect(response.headers).toEqual({
      'content-type': 'text/html',
      'content-disposition': 'attachment',
      'x-answer': '42',
      'x-content-type-options': 'nosniff',
      'content-security-policy': 'sandbox',
    });
    expect(response.body.toString()).toBe('<script>alert(1)</script>');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A local function answering `size` bytes, with a declared length or chunked. */
async function bigFunction(
  size: number,
  declared: boolean,
): Promise<{ url: URL; close: () => Promise<void> }> {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const server = createServer((_req, res) => {
    if (declared) res.setHeader('content-length', String(size));
    let sent = 0;
    const more = () => {
      while (sent < size) {
        const part = chunk.subarray(0, Math.min(chunk.length, size - sent));
        sent += part.length;
        if (!res.write(part)) {
          res.once('drain', more);
          return;
        }
      }
      res.end();
    };
    more();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}`),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const request = (limitBytes: number) => ({
  method: 'POST',
  path: '/',
  headers: {},
  timeoutMs: 10_000,
  limitBytes,
});

describe.each([
  ['a declared length', true],
  ['a chunked body', false],
])('function responses with %s', (_what, declared) => {
  test('up to the limit pass whole; beyond it a 502 naming the limit', async () => {
    const fits = await bigFunction(100_000, declared);
    const over = await bigFunction(100_001, declared);
    try {
      expect((await forward({ url: fits.url }, request(100_000))).body.length).toBe(100_000);
      const refused = await forward({ url: over.url }, request(100_000)).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(Problem);
      expect(refused).toMatchObject({
        status: 502,
        title: 'Function response too large',
        detail: expect.stringMatching(
          /expected at most 100000 bytes \(HKS_FUNCTION_RESPONSE_LIMIT_BYTES\)$/,
        ),
      });
    } finally {
      await Promise.all([fits.close(), over.close()]);
    }
  });

  test('a 100 MB response is refused without the memory to hold it', async () => {
    const huge = await bigFunction(100 * 1024 * 1024, declared);
    try {
      const before = process.memoryUsage().rss;
      const refused = await forwardStreaming({ url: huge.url }, request(6 * 1024 * 1024)).catch(
        (e: unknown) => e,
      );
      const grown = process.memoryUsage().rss - before;
      expect(refused).toMatchObject({ status: 502, title: 'Function response too large' });
      // Holding the response would take 100 MB; at most the 6 MiB limit (and buffers) is held.
      expect(grown).toBeLessThan(40 * 1024 * 1024);
    } finally {
      await huge.close();
    }
  });
});

test('a streamed response with a declared length is handed on before it has all arrived', async () => {
  const huge = await bigFunction(5 * 1024 * 1024, true);
  try {
    const response = await forwardStreaming({ url: huge.url }, request(6 * 1024 * 1024));
    expect(response.length).toBe(5 * 1024 * 1024);
    let received = 0;
    for await (const chunk of response.body) received += (chunk as Buffer).length;
    expect(received).toBe(5 * 1024 * 1024);
  } finally {
    await huge.close();
  }
});
