import { request } from 'node:http';
import { join } from 'node:path';
import type { SourceRuntimeName } from '../constructs';
import { failedStart, RunningRuntime, startRuntime } from './support/runtime-process';

/**
 * The python and node bootstraps, run as the real processes they are in the container, on
 * the example handlers of test/fixtures/functions/. Both follow the same rules.
 */
const RUNTIMES: SourceRuntimeName[] = ['python3.12', 'nodejs20'];
const MODULE = { 'python3.12': 'module', nodejs20: 'file' } as const;

jest.setTimeout(30_000);

async function invoke(
  runtime: RunningRuntime,
  body: string | undefined,
  headers: Record<string, string> = {},
  path = '/',
) {
  const response = await fetch(`${runtime.url}${path}`, { method: 'POST', body, headers });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

const json = (value: unknown) => JSON.stringify(value);
/** The answers.size handler's body for `n` bytes (Python's JSON has a space after the colon). */
const bytesBody = (n: number): unknown =>
  expect.stringMatching(new RegExp(`^\\{"bytes": ?${n}\\}$`));

/**
 * POSTs `chunks` as written by node:http: chunked (Transfer-Encoding) unless `contentLength`
 * is given. The answer's status and body, or the socket error if the runtime closed first.
 */
function post(
  runtime: RunningRuntime,
  chunks: readonly Buffer[],
  contentLength?: number,
): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const headers = contentLength === undefined ? {} : { 'Content-Length': contentLength };
    const req = request(`${runtime.url}/`, { method: 'POST', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (error) => resolve({ error: error.message }));
    });
    req.on('error', (error) => resolve({ error: error.message }));
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe.each(RUNTIMES)('%s bootstrap', (name) => {
  const running: RunningRuntime[] = [];
  const start = async (handler: string, env: Record<string, string> = {}) => {
    const runtime = await startRuntime(name, {
      HKS_HANDLER: `handlers.${handler}`,
      HKS_FUNCTION_NAME: 'fn',
      ...env,
    });
    running.push(runtime);
    return runtime;
  };
  afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => r.stop()));
  });

  test('GET /healthz answers once the handler is loaded; other GETs are refused', async () => {
    const runtime = await start('echo');
    const health = await fetch(`${runtime.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', function: 'fn' });
    const get = await fetch(`${runtime.url}/`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  test('a JSON body is the event; context has name, request id and deadline', async () => {
    const runtime = await start('echo');
    const response = await invoke(runtime, json({ a: [1, 'x'] }), {
      'Content-Type': 'application/json',
      'X-Request-Id': 'req-1',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-request-id')).toBe('req-1');
    expect(JSON.parse(response.body)).toEqual({
      event: { a: [1, 'x'] },
      functionName: 'fn',
      requestId: 'req-1',
      deadlineInFuture: true,
    });
  });

  test("a binary-mode CloudEvent's attributes are the context's cloud event; none otherwise", async () => {
    const runtime = await start('cloud_event');
    const event = await invoke(runtime, json({ order: 7 }), {
      'Content-Type': 'application/json',
      'Ce-Specversion': '1.0',
      'ce-id': 'order-7',
      'ce-source': 'nats://ORDERS/shop.orders.created',
      'ce-type': 'io.nats.jetstream.message',
      'ce-subject': 'shop.orders.created',
    });
    expect(JSON.parse(event.body)).toEqual({
      event: { order: 7 },
      cloudEvent: {
        specversion: '1.0',
        id: 'order-7',
        source: 'nats://ORDERS/shop.orders.created',
        type: 'io.nats.jetstream.message',
        subject: 'shop.orders.created',
        datacontenttype: 'application/json',
      },
    });
    const plain = await invoke(runtime, json({ order: 8 }), { 'Content-Type': 'application/json' });
    expect(JSON.parse(plain.body)).toEqual({ event: { order: 8 }, cloudEvent: null });
  });

  test('any path invokes; a non-JSON body is text; no body is null; ids are generated', async () => {
    const runtime = await start('echo');
    const text = JSON.parse((await invoke(runtime, 'not json {', {}, '/some/path')).body);
    expect(text.event).toBe('not json {');
    expect(text.requestId).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.parse((await invoke(runtime, undefined)).body).event).toBeNull();
  });

  test('{statusCode, headers, body} sets the response; strings and bytes pass as they are', async () => {
    const explicit = await invoke(await start('explicit'), '{}');
    expect(explicit.status).toBe(201);
    expect(explicit.headers.get('x-custom')).toBe('yes');
    expect(JSON.parse(explicit.body)).toEqual({ created: true });

    const text = await invoke(await start('text'), '{}');
    expect(text.body).toBe('plain text');
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');

    const runtime = await start('raw_bytes');
    const bytes = await fetch(`${runtime.url}/`, { method: 'POST' });
    expect(bytes.headers.get('content-type')).toBe('application/octet-stream');
    expect([...new Uint8Array(await bytes.arrayBuffer())]).toEqual([0, 1, 2]);
  });

  test('async handlers are awaited', async () => {
    const response = await invoke(await start('async_echo'), json({ n: 1 }));
    expect(JSON.parse(response.body)).toEqual({ async: true, event: { n: 1 } });
  });

  test('a handler error is a 500 with type and message; the stack goes to the logs only', async () => {
    const runtime = await start('fail');
    const response = await invoke(runtime, '{}', { 'X-Request-Id': 'req-err' });
    expect(response.status).toBe(500);
    const type = name === 'python3.12' ? 'ValueError' : 'TypeError';
    expect(JSON.parse(response.body)).toEqual({ error: { type, message: 'bad input' } });
    const [line] = await runtime.waitForLines((l) => l.requestId === 'req-err', 1);
    expect(line).toMatchObject({
      level: 'error',
      status: 500,
      error: { type, message: 'bad input' },
    });
    expect(JSON.stringify(line)).toMatch(/fail/); // the stack names the handler

    const asyncFailure = await invoke(await start('async_fail'), '{}');
    expect(asyncFailure.status).toBe(500);
    expect(JSON.parse(asyncFailure.body).error.type).toBe(
      name === 'python3.12' ? 'KeyError' : 'RangeError',
    );
  });

  test('HKS_DEBUG=1 adds the stack to error responses', async () => {
    const response = await invoke(await start('fail', { HKS_DEBUG: '1' }), '{}');
    expect(JSON.parse(response.body).error.stack).toMatch(/bad input/);
  });

  test('past the timeout the caller gets a 504 and the runtime serves the next request', async () => {
    const runtime = await start('async_sleep', { HKS_TIMEOUT_SECONDS: '0.5' });
    const started = Date.now();
    const slow = await invoke(runtime, json({ seconds: 10 }));
    expect(slow.status).toBe(504);
    expect(JSON.parse(slow.body).error.type).toBe('Timeout');
    // At the timeout, long before the handler would end (with room for a loaded machine).
    expect(Date.now() - started).toBeLessThan(5000);
    const quick = await invoke(runtime, json({ seconds: 0.01 }));
    expect(quick.status).toBe(200);
    expect(quick.body).toBe('slept');
  });

  test('a synchronous handler past the timeout also gets a 504', async () => {
    const runtime = await start('sleep', { HKS_TIMEOUT_SECONDS: '0.5' });
    const slow = await invoke(runtime, json({ seconds: 1 }));
    expect(slow.status).toBe(504);
    // Python runs it in a thread of its own and answers at the timeout; Node when it returns.
    expect((await invoke(runtime, json({ seconds: 0 }))).status).toBe(200);
  });

  test('one JSON log line per invocation, after what the handler printed and logged', async () => {
    const runtime = await start('chatty');
    await invoke(runtime, '{}', { 'X-Request-Id': 'req-log' });
    // The response can arrive before the output does: wait for the last line, then look.
    const lines = await runtime.waitForLines((l) => l.requestId === 'req-log', 2);
    expect(runtime.stdout()).toContain('printed by the handler\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      message: 'logged by the handler',
      answer: 42,
      function: 'fn',
    });
    expect(lines[1]).toMatchObject({
      level: 'info',
      message: 'invocation',
      function: 'fn',
      status: 200,
    });
    expect(typeof lines[1].durationMs).toBe('number');
  });

  describe('X-Hks-Log: tail', () => {
    const tailOf = (response: { headers: Headers }) => {
      const value = response.headers.get('x-hks-log-result');
      return value === null ? undefined : Buffer.from(value, 'base64').toString('utf8');
    };
    const startLoud = () => start('loud', { HKS_HANDLER: 'loud.handler' });
    const asTail = { 'X-Hks-Log': 'tail', 'Content-Type': 'application/json' };

    test('returns the output and the invocation record; load-time output goes to the first tail only', async () => {
      const runtime = await startLoud();
      const first = await invoke(runtime, json({ tag: 'one', lines: 2 }), {
        ...asTail,
        'X-Request-Id': 'req-tail-1',
      });
      expect(first.body).toBe('one');
      const lines = (tailOf(first) ?? '').split('\n');
      expect(lines.slice(0, 3)).toEqual(['loaded the loud module', 'one line 0', 'one line 1']);
      expect(JSON.parse(lines[3])).toMatchObject({
        message: 'invocation',
        requestId: 'req-tail-1',
        status: 200,
      });
      expect(lines.slice(4)).toEqual(['']);
      // The logs have the same record.
      const [logged] = await runtime.waitForLines((l) => l.requestId === 'req-tail-1', 1);
      expect(JSON.parse(lines[3])).toEqual(logged);

      const second = await invoke(runtime, json({ tag: 'two' }), asTail);
      expect(tailOf(second)).toMatch(/^two line 0\n\{.*"message": ?"invocation".*\}\n$/);
    });

    test("a failure's record carries the stack; no header without the request header", async () => {
      const runtime = await start('fail');
      const failed = await invoke(runtime, '{}', asTail);
      expect(failed.status).toBe(500);
      const record = JSON.parse((tailOf(failed) ?? '').trim()) as { error: { stack: string } };
      expect(record.error.stack).toContain('bad input');
      expect(JSON.parse(failed.body)).toEqual({
        error: { type: expect.any(String), message: 'bad input' },
      });
      expect(tailOf(await invoke(runtime, '{}'))).toBeUndefined();
    });

    test('concurrent invocations each get their own output', async () => {
      const runtime = await startLoud();
      await invoke(runtime, json({ tag: 'warm-up' }), asTail); // takes the load-time output
      const tags = ['red', 'green', 'blue'];
      const responses = await Promise.all(
        tags.map((tag) => invoke(runtime, json({ tag, lines: 5 }), asTail)),
      );
      responses.forEach((response, i) => {
        const printed = (tailOf(response) ?? '').split('\n').filter((l) => l.includes(' line '));
        expect(printed).toEqual([0, 1, 2, 3, 4].map((n) => `${tags[i]} line ${n}`));
      });
    });

    test('output over 8 KiB is left to the logs', async () => {
      const runtime = await startLoud();
      const flooded = await invoke(runtime, json({ tag: 'big', flood: 9000 }), {
        ...asTail,
        'X-Request-Id': 'req-flood',
      });
      expect(flooded.status).toBe(200);
      expect(tailOf(flooded)).toBeUndefined();
      await runtime.waitForLines((l) => l.requestId === 'req-flood', 1);
      expect(runtime.stdout()).toContain('x'.repeat(9000));
      const small = await invoke(runtime, json({ tag: 'small', flood: 7000 }), asTail);
      expect(tailOf(small)).toContain('x'.repeat(7000));
    });
  });

  test("a response HTTP cannot carry is that caller's 500; the log says so and the runtime keeps serving", async () => {
    const runtime = await start('answer', { HKS_HANDLER: 'answers.answer' });
    const invalid: [unknown, Record<string, unknown> | undefined, RegExp][] = [
      [99, undefined, /statusCode 99; expected an integer from 200 to 599/],
      ['abc', undefined, /statusCode "abc"; expected an integer from 200 to 599/],
      [1000, undefined, /statusCode 1000; expected/],
      [null, undefined, /statusCode (null|None); expected/],
      [200, { 'bad name': 'x' }, /header name "bad name"; expected an HTTP token/],
      [200, { 'X-Injected': 'a\r\nSet-Cookie: session=1' }, /X-Injected .*without CR, LF or NUL/],
      [200, { 'X-Split': 'a\nb' }, /X-Split .*without CR, LF or NUL/],
      [200, { 'X-Nul': 'a\u0000b' }, /X-Nul .*without CR, LF or NUL/],
    ];
    for (const [index, [statusCode, headers, message]] of invalid.entries()) {
      const requestId = `req-invalid-${index}`;
      const response = await invoke(runtime, json({ statusCode, headers }), {
        'X-Request-Id': requestId,
      });
      expect(response.status).toBe(500);
      expect(response.headers.get('set-cookie')).toBeNull();
      expect(JSON.parse(response.body)).toEqual({
        error: { type: 'InvalidResponse', message: expect.stringMatching(message) },
      });
      const [line] = await runtime.waitForLines((l) => l.requestId === requestId, 1);
      expect(line).toMatchObject({
        level: 'error',
        status: 500,
        error: { type: 'InvalidResponse', message: expect.stringMatching(message) },
      });
      // The next caller is served.
      const next = await invoke(runtime, json({ statusCode: 202, headers: { 'X-Ok': 'yes' } }));
      expect([next.status, next.body, next.headers.get('x-ok')]).toEqual([202, 'answered', 'yes']);
    }
    expect(runtime.process.exitCode).toBeNull();
  });

  test('a chunked request body is read as the event', async () => {
    const runtime = await start('size', { HKS_HANDLER: 'answers.size' });
    const parts = ['{"text": "', 'x'.repeat(70_000), '"}'].map((p) => Buffer.from(p));
    const response = await post(runtime, parts);
    expect(response).toEqual({ status: 200, body: bytesBody(70_000 + 11) });
  });

  test('a body over HKS_MAX_REQUEST_BYTES is a 413 with a JSON error; the runtime keeps serving', async () => {
    const runtime = await start('size', {
      HKS_HANDLER: 'answers.size',
      HKS_MAX_REQUEST_BYTES: '1024',
    });
    const tooLarge = {
      status: 413,
      body: expect.stringMatching(
        /^\{"error": ?\{"type": ?"PayloadTooLarge", ?"message": ?"the request body is over HKS_MAX_REQUEST_BYTES \(1024 bytes\)"\}\}$/,
      ),
    };
    expect(await post(runtime, [Buffer.alloc(1025, 'x')], 1025)).toEqual(tooLarge);
    expect(await post(runtime, [Buffer.alloc(1024, 'x')], 1024)).toEqual({
      status: 200,
      body: bytesBody(1024),
    });
    expect(
      await post(
        runtime,
        [0, 1, 2].map(() => Buffer.alloc(400, 'x')),
      ),
    ).toEqual(tooLarge);
    expect(await post(runtime, [Buffer.alloc(1000, 'x')])).toEqual({
      status: 200,
      body: bytesBody(1000),
    });
  });

  test('the default cap is 6 MiB', async () => {
    const runtime = await start('size', { HKS_HANDLER: 'answers.size' });
    const limit = 6 * 1024 * 1024;
    expect(await post(runtime, [Buffer.alloc(limit, 'x')], limit)).toEqual({
      status: 200,
      body: bytesBody(limit),
    });
    expect(await post(runtime, [Buffer.alloc(limit + 1, 'x')], limit + 1)).toMatchObject({
      status: 413,
    });
  });

  test('SIGTERM lets in-flight requests finish, then exits 0', async () => {
    const runtime = await start('logged_sleep');
    const inFlight = invoke(runtime, json({ seconds: 1 }));
    // SIGTERM only once the handler runs: a request not yet received would be refused.
    const sleeping = await runtime.waitForLines((l) => l.message === 'sleeping', 1);
    expect(sleeping).toHaveLength(1);
    runtime.process.kill('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(response.body).toBe('slept');
    expect(await runtime.exited).toBe(0);
    expect(runtime.logLines().map((l) => l.message)).toEqual(
      expect.arrayContaining(['draining', 'invocation', 'stopped']),
    );
  });

  test.each([
    ['nohandler', 'HKS_HANDLER: given "nohandler", expected'],
    ['', 'HKS_HANDLER: given "", expected'],
    ['missing.handler', `there is no ${MODULE[name]} "missing"`],
    ['handlers.nope', 'no function "nope"'],
    ['handlers.not_callable', 'no function "not_callable"'],
    ['broken.handler', 'broken at import time'],
  ])('refuses to start with HKS_HANDLER=%j', async (handler, message) => {
    const result = await failedStart(name, { HKS_HANDLER: handler });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('hks: cannot start: ');
    expect(result.stderr).toContain(message);
    expect(result.stdout).not.toContain('listening');
  });

  test('refuses a bad timeout, port or function folder', async () => {
    const timeout = await failedStart(name, {
      HKS_HANDLER: 'handlers.echo',
      HKS_TIMEOUT_SECONDS: 'soon',
    });
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toContain('HKS_TIMEOUT_SECONDS: given "soon"');
    const port = await failedStart(name, { HKS_HANDLER: 'handlers.echo', PORT: 'http' });
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('PORT: given "http"');
    const dir = await failedStart(name, {
      HKS_HANDLER: 'handlers.echo',
      HKS_FUNCTION_DIR: '/nonexistent/fn',
    });
    expect(dir.code).toBe(1);
    expect(dir.stderr).toContain('/nonexistent/fn');
    const cap = await failedStart(name, {
      HKS_HANDLER: 'handlers.echo',
      HKS_MAX_REQUEST_BYTES: '6MiB',
    });
    expect(cap.code).toBe(2);
    expect(cap.stderr).toContain('HKS_MAX_REQUEST_BYTES: given "6MiB", expected a positive number');
  });
});

test('nodejs20 runs an ES module .js file under a package.json {"type": "module"}', async () => {
  const runtime = await startRuntime('nodejs20', {
    HKS_HANDLER: 'index.handler',
    HKS_FUNCTION_DIR: join(__dirname, 'fixtures', 'functions', 'node-esm'),
  });
  try {
    const response = await invoke(runtime, json({ n: 1 }));
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({
      esm: true,
      file: 'index.js',
      event: { n: 1 },
      loadedAt: true,
    });
  } finally {
    await runtime.stop();
  }
});
