import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import {
  HksApiError,
  HksClient,
  HksTimeoutError,
  HksTransportError,
  ExecutionView,
} from '../sdk/typescript';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A local HTTP server answering with `handler`; records every request. */
async function serve(handler: Handler): Promise<{ url: string; server: Server; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`.trim());
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, seen };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function client(handler: Handler, timeoutMs?: number) {
  const s = await serve(handler);
  servers.push(s.server);
  return { hks: new HksClient({ apiUrl: `${s.url}/`, token: 'tok', timeoutMs }), seen: s.seen };
}

function json(res: ServerResponse, status: number, value: unknown, type = 'application/json') {
  res.writeHead(status, { 'content-type': type }).end(JSON.stringify(value));
}

describe('TypeScript SDK', () => {
  it('sends the bearer token and encodes path segments and queries', async () => {
    const { hks, seen } = await client((_req, res) => json(res, 200, { items: [] }));
    await hks.cronJobs.executions('shop', 'nightly report', { limit: 5, status: 'failed' });
    expect(seen).toEqual([
      'GET /api/v1/projects/shop/cronjobs/nightly%20report/executions?limit=5&status=failed Bearer tok',
    ]);
  });

  it('throws HksApiError with the problem details in its message', async () => {
    const { hks } = await client((_req, res) =>
      json(
        res,
        400,
        {
          type: 'https://hks.hexabase.io/problems/bad-request',
          title: 'Invalid definition',
          status: 400,
          detail: '1 problem',
          errors: [{ path: 'spec.schedule', message: 'given "x", expected 5 fields' }],
        },
        'application/problem+json',
      ),
    );
    const error = (await hks.cronJobs
      .setSchedule('shop', 'job', { schedule: 'x' })
      .catch((e: unknown) => e)) as HksApiError;
    expect(error).toBeInstanceOf(HksApiError);
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([
      { path: 'spec.schedule', message: 'given "x", expected 5 fields' },
    ]);
    expect(error.message).toBe(
      '400 Invalid definition: 1 problem\n  spec.schedule: given "x", expected 5 fields',
    );
  });

  it('throws HksTransportError when nothing answers or the answer is late', async () => {
    const closed = new HksClient({ apiUrl: 'http://127.0.0.1:5999', token: 't' });
    await expect(closed.functions.list('shop')).rejects.toThrow(HksTransportError);
    const { hks } = await client(() => undefined, 200);
    await expect(hks.functions.list('shop')).rejects.toThrow('no answer within 200 ms');
  });

  it('iterates over every page of executions', async () => {
    const all = Array.from({ length: 5 }, (_, i) => ({ id: `e${i}` }) as ExecutionView);
    const { hks, seen } = await client((req, res) => {
      const url = new URL(req.url ?? '', 'http://x');
      const start = Number(url.searchParams.get('cursor') ?? 0);
      const end = start + Number(url.searchParams.get('limit'));
      json(res, 200, {
        items: all.slice(start, end),
        ...(end < all.length ? { nextCursor: String(end) } : {}),
      });
    });
    const ids: string[] = [];
    for await (const e of hks.cronJobs.allExecutions('shop', 'job', { limit: 2 })) ids.push(e.id);
    expect(ids).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
    expect(seen).toHaveLength(3);
  });

  it('follows logs line by line as they arrive', async () => {
    const { hks } = await client((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('one\ntw');
      setTimeout(() => res.end('o\nthree'), 50);
    });
    const lines: string[] = [];
    for await (const line of hks.functions.followLogs('shop', 'fn', { since: '5m' }))
      lines.push(line);
    expect(lines).toEqual(['one', 'two', 'three']);
  });

  it('stops following logs when the signal aborts', async () => {
    const { hks } = await client((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      // Two lines a write: the abort comes between lines of one chunk.
      const timer = setInterval(() => res.write('tick\ntick\n'), 20);
      res.on('close', () => clearInterval(timer));
    });
    const abort = new AbortController();
    const lines: string[] = [];
    for await (const line of hks.cronJobs.followLogs('shop', 'job', 'e1', {
      signal: abort.signal,
    })) {
      lines.push(line);
      if (lines.length === 3) abort.abort();
    }
    expect(lines).toEqual(['tick', 'tick', 'tick']);
  });

  it('invokes with JSON, or raw without throwing on the function’s error status', async () => {
    const { hks, seen } = await client((req, res, body) => {
      if (req.url?.includes('tag=canary')) {
        res.writeHead(500, { 'content-type': 'application/json', 'x-request-id': 'r1' });
        res.end(JSON.stringify({ error: { type: 'ValueError', message: 'bad' } }));
        return;
      }
      json(res, 200, { echo: JSON.parse(body) as unknown });
    });
    expect(await hks.functions.invoke('shop', 'fn', { a: 1 })).toEqual({ echo: { a: 1 } });
    const raw = await hks.functions.invokeRaw('shop', 'fn', { body: '{}', tag: 'canary' });
    expect(raw).toMatchObject({ status: 500, requestId: 'r1' });
    expect(JSON.parse(raw.text)).toEqual({ error: { type: 'ValueError', message: 'bad' } });
    await expect(hks.functions.invoke('shop', 'fn', {}, { tag: 'canary' })).rejects.toThrow(
      '500 Function error: ValueError: bad',
    );
    expect(seen[0]).toBe('POST /api/v1/projects/shop/functions/fn/invoke Bearer tok');
  });

  it('waits until a Function is ready, reporting progress, or times out naming the reason', async () => {
    let polls = 0;
    const { hks } = await client((_req, res) => {
      polls++;
      json(res, 200, {
        name: 'fn',
        ready: polls >= 3,
        reason: polls >= 3 ? undefined : 'RevisionMissing',
      });
    });
    const progress: boolean[] = [];
    const view = await hks.functions.waitUntilReady('shop', 'fn', {
      intervalMs: 10,
      onProgress: (v) => progress.push(v.ready),
    });
    expect(view.ready).toBe(true);
    expect(progress).toEqual([false, false, true]);
    polls = -1000;
    await expect(
      hks.functions.waitUntilReady('shop', 'fn', { intervalMs: 10, timeoutMs: 50 }),
    ).rejects.toThrow(HksTimeoutError);
  });

  it('calls the internal operations routes', async () => {
    const { hks, seen } = await client((req, res) =>
      req.method === 'DELETE' ? res.writeHead(204).end() : json(res, 200, { id: 'op1' }),
    );
    await hks.operations.execute({ runtime: 'python3.12', code: 'def handler(e, c): return 1' });
    await hks.operations.invokeFunction('f1', { x: 1 });
    await hks.operations.deleteFunction('f1');
    expect(seen).toEqual([
      'POST /internal/v1/operations/execute Bearer tok',
      'POST /internal/v1/operations/functions/f1/invoke Bearer tok',
      'DELETE /internal/v1/operations/functions/f1 Bearer tok',
    ]);
  });
});
