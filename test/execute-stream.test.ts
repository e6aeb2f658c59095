import { createServer, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cappedOutput, OutputChunk } from '../api/execute-stream';
import { forwardIncremental } from '../api/function-proxy';
import { Problem } from '../api/problem';
import { EventStream, wantsEventStream } from '../api/sse';

/**
 * The parts of a streamed execute that need no cluster: the output cap of the events, the
 * incremental forwarding of a chunked answer (over real sockets), and the event stream's
 * framing and heartbeat.
 */

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => new Promise((resolve) => s.close(() => resolve(undefined)))),
  );
});

async function serve(handle: (res: ServerResponse) => void): Promise<URL> {
  const server = createServer((req, res) => {
    req.resume();
    handle(res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
}

test('cappedOutput passes chunks until the cap, cuts the one that reaches it at a character boundary, then none', () => {
  const passed: OutputChunk[] = [];
  const output = cappedOutput((chunk) => passed.push(chunk), 10);
  output({ stream: 'stdout', text: 'abcd' });
  output({ stream: 'stderr', text: 'ef' });
  output({ stream: 'stdout', text: 'gh€ij' }); // € is 3 bytes: at bytes 8 to 10
  output({ stream: 'stdout', text: 'never' });
  expect(passed).toEqual([
    { stream: 'stdout', text: 'abcd' },
    { stream: 'stderr', text: 'ef' },
    { stream: 'stdout', text: 'gh', truncated: true },
  ]);
});

test('forwardIncremental hands a chunked answer on chunk by chunk, before it ends', async () => {
  let finish!: () => void;
  const url = await serve((res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write('one\n');
    finish = () => res.end('two\n');
  });
  const response = await forwardIncremental(
    { url },
    { method: 'POST', path: '/', headers: {}, timeoutMs: 5000, limitBytes: 1000 },
  );
  expect(response.status).toBe(200);
  const chunks: string[] = [];
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    chunks.push(chunk.toString());
    // The first chunk came while the function still holds its answer open.
    if (chunks.length === 1) finish();
  }
  expect(chunks).toEqual(['one\n', 'two\n']);
});

test.each([
  ['past the limit: a 502 naming it', 10, 5000, 502, /at most 10 bytes/],
  ['past the timeout: a 504', 1000, 300, 504, /did not answer within 0.3 s/],
])(
  'forwardIncremental: %s, after what came before',
  async (_what, limit, timeoutMs, status, detail) => {
    const url = await serve((res) => {
      res.writeHead(200);
      res.write('12345678\n');
      setTimeout(() => res.write('12345678\n'), 100);
    });
    const response = await forwardIncremental(
      { url },
      { method: 'POST', path: '/', headers: {}, timeoutMs, limitBytes: limit },
    );
    const chunks: string[] = [];
    const error = await (async () => {
      for await (const chunk of response.body as AsyncIterable<Buffer>)
        chunks.push(chunk.toString());
    })().catch((e: unknown) => e);
    expect(chunks[0]).toBe('12345678\n');
    expect(error).toBeInstanceOf(Problem);
    expect((error as Problem).status).toBe(status);
    expect((error as Problem).detail).toMatch(detail);
  },
);

test('forwardIncremental: a function that stops half way is a 502', async () => {
  const url = await serve((res) => {
    res.writeHead(200);
    res.write('half\n');
    setTimeout(() => res.socket?.destroy(), 50);
  });
  const response = await forwardIncremental(
    { url },
    { method: 'POST', path: '/', headers: {}, timeoutMs: 5000, limitBytes: 1000 },
  );
  const error = await (async () => {
    for await (const _chunk of response.body as AsyncIterable<Buffer>);
  })().catch((e: unknown) => e);
  expect((error as Problem).status).toBe(502);
});

test('EventStream: nothing is sent before the first event; events are framed; heartbeats while idle', async () => {
  let stream!: EventStream;
  const url = await serve((res) => {
    stream = new EventStream(res, 100);
    expect(stream.opened).toBe(false);
    stream.send('phase', { phase: 'ready' });
    setTimeout(() => {
      stream.send('result', { status: 'succeeded' });
      stream.end();
      stream.send('late', {}); // after the end: dropped
    }, 350);
  });
  const response = await fetch(url);
  expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  expect(response.headers.get('cache-control')).toBe('no-store');
  const text = await response.text();
  expect(text.startsWith('event: phase\ndata: {"phase":"ready"}\n\n')).toBe(true);
  expect(text.endsWith('event: result\ndata: {"status":"succeeded"}\n\n')).toBe(true);
  expect(text.match(/^: heartbeat\n\n/gm)?.length).toBeGreaterThanOrEqual(2);
  expect(text).not.toContain('late');
});

test.each([
  ['text/event-stream', true],
  ['application/json, text/event-stream;q=0.9', true],
  ['TEXT/EVENT-STREAM', true],
  ['application/json', false],
  ['text/event-streams', false],
  [undefined, false],
])('wantsEventStream(%p) is %p', (accept, wanted) => {
  expect(wantsEventStream(accept)).toBe(wanted);
});
