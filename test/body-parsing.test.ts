import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { bodyParser } from '../api/body-parsing';
import { problemHandler } from '../api/problem';

/** Bad request bodies are the client's problem (4xx), named; good ones in any supported encoding parse. */

let server: Server;
let url: string;

beforeAll(async () => {
  const app = express();
  app.post(
    '/echo',
    bodyParser({ kind: 'json', limitBytes: 1024, limitVariable: 'HKS_BODY_LIMIT_BYTES' }),
    (req, res) => {
      res.json({ received: req.body as unknown });
    },
  );
  app.use(problemHandler);
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

async function post(body: Buffer | string, headers: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', body, headers });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    json: (await res.json()) as Record<string, unknown>,
  };
}

const JSON_TYPE = { 'content-type': 'application/json' };

test.each([
  ['identity', Buffer.from('{"a":1}')],
  ['gzip', gzipSync('{"a":1}')],
  ['br', brotliCompressSync('{"a":1}')],
])('a JSON body in %s encoding parses', async (encoding, body) => {
  const res = await post(body, { ...JSON_TYPE, 'content-encoding': encoding });
  expect(res).toMatchObject({ status: 200, json: { received: { a: 1 } } });
});

test.each([
  [
    'a body over the limit',
    Buffer.from(JSON.stringify({ a: 'x'.repeat(2000) })),
    {},
    413,
    /^The request body is 2008 bytes, expected at most 1024 bytes \(HKS_BODY_LIMIT_BYTES\)$/,
  ],
  [
    'a gzip body inflating over the limit',
    gzipSync(JSON.stringify({ a: 'x'.repeat(100_000) })),
    { 'content-encoding': 'gzip' },
    413,
    /expected at most 1024 bytes \(HKS_BODY_LIMIT_BYTES\)$/,
  ],
  [
    'an unknown content encoding',
    Buffer.from('{}'),
    { 'content-encoding': 'compress' },
    415,
    /^Content-Encoding: given "compress", expected one of identity, gzip, deflate, br$/,
  ],
  [
    'a gzip header on a plain body',
    Buffer.from('{"a":1}'),
    { 'content-encoding': 'gzip' },
    400,
    /could not be decoded as its Content-Encoding/,
  ],
  [
    'a br header on a plain body',
    Buffer.from('{"a":1}'),
    { 'content-encoding': 'br' },
    400,
    /could not be decoded as its Content-Encoding/,
  ],
  [
    'charset=latin1',
    Buffer.from('{"a":1}'),
    { 'content-type': 'application/json; charset=latin1' },
    415,
    /^Content-Type charset: given "latin1", expected utf-8$/,
  ],
  ['invalid JSON', Buffer.from('{"a":'), {}, 400, /^The request body is not valid JSON/],
])('%s is a 4xx problem', async (_what, body, headers, status, detail) => {
  const res = await post(body, { ...JSON_TYPE, ...headers });
  expect(res.status).toBe(status);
  expect(res.type).toMatch(/^application\/problem\+json/);
  expect(res.json).toMatchObject({ status, detail: expect.stringMatching(detail) });
});
