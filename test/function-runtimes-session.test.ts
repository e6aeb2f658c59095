import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SourceRuntimeName } from '../constructs';
import { failedStart, RunningRuntime, startRuntime } from './support/runtime-process';

/** What the API gets from a session runtime. */
interface SessionAnswer {
  body?: string;
  outputFiles?: Record<string, unknown>;
  error?: { type: string; message: string };
}

/** POSTs a session envelope to a runtime; secret null: without the header. */
async function postSession(url: string, body: Record<string, unknown>, secret: string | null) {
  const response = await fetch(`${url}/`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: {
      'content-type': 'application/json',
      'x-hks-log': 'tail',
      ...(secret === null ? {} : { 'x-hks-session-secret': secret }),
    },
  });
  const answer = JSON.parse(await response.text()) as SessionAnswer;
  const inner =
    answer.body === undefined
      ? undefined
      : (JSON.parse(Buffer.from(answer.body, 'base64').toString('utf8')) as unknown);
  return { status: response.status, answer, inner, headers: response.headers };
}

/**
 * Session mode of both bootstraps (HKS_RUNTIME_MODE=session), run as the real processes they
 * are in the container: code arrives with each request, only with the session's secret; the
 * session folder keeps its files, module globals do not survive a call.
 */
const RUNTIMES: SourceRuntimeName[] = ['python3.12', 'nodejs20'];
const SECRET = 'a'.repeat(32) + 'b'.repeat(32);

jest.setTimeout(30_000);

/** Code of one handler per runtime, by what it does. */
const CODE = {
  'python3.12': {
    writer: [
      'import os',
      'calls = 0',
      'def handler(event):',
      '    global calls',
      '    calls += 1',
      '    with open("state.txt", "w") as f: f.write(event["note"])',
      '    with open(os.path.join(os.environ["HKS_OUTPUT_DIR"], "out.txt"), "w") as f: f.write("o")',
      '    return {"calls": calls, "secret": os.environ.get("HKS_SESSION_SECRET")}',
    ].join('\n'),
    reader: [
      'import os',
      'async def handler(event, context):',
      '    print("reading")',
      '    return {"note": open("state.txt").read(), "global": "calls" in globals(),',
      '            "input": open(os.path.join(os.environ["HKS_INPUT_DIR"], "in.txt")).read(),',
      '            "outputs": os.listdir(os.environ["HKS_OUTPUT_DIR"]), "cwd": os.getcwd()}',
    ].join('\n'),
    slow: 'import time\ndef handler(event):\n    time.sleep(5)\n',
    // Leaves a file named by the event in the session folder, a little while into its run.
    marker: [
      'import time',
      'def handler(event):',
      '    time.sleep(0.3)',
      '    with open(event["file"], "w") as f: f.write("ran")',
      '    return {"ran": event["file"]}',
    ].join('\n'),
    broken: 'def handler(event):\n    raise ValueError("bad " + str(event))\n',
  },
  nodejs20: {
    writer: [
      "const fs = require('node:fs');",
      'let calls = 0;',
      'exports.handler = (event) => {',
      '  calls += 1;',
      "  fs.writeFileSync('state.txt', event.note);",
      "  fs.writeFileSync(`${process.env.HKS_OUTPUT_DIR}/out.txt`, 'o');",
      '  globalThis.sessionLeak = true;',
      '  return { calls, secret: process.env.HKS_SESSION_SECRET ?? null };',
      '};',
    ].join('\n'),
    reader: [
      "const fs = require('node:fs');",
      'exports.handler = async (event, context) => {',
      "  console.log('reading');",
      '  return {',
      "    note: fs.readFileSync('state.txt', 'utf8'),",
      "    global: typeof calls !== 'undefined',",
      "    input: fs.readFileSync(`${process.env.HKS_INPUT_DIR}/in.txt`, 'utf8'),",
      '    outputs: fs.readdirSync(process.env.HKS_OUTPUT_DIR),',
      '    cwd: process.cwd(),',
      '  };',
      '};',
    ].join('\n'),
    slow: 'exports.handler = () => new Promise((resolve) => setTimeout(resolve, 5000));',
    marker: [
      "const fs = require('node:fs');",
      'exports.handler = async (event) => {',
      '  await new Promise((resolve) => setTimeout(resolve, 300));',
      "  fs.writeFileSync(event.file, 'ran');",
      '  return { ran: event.file };',
      '};',
    ].join('\n'),
    broken: "exports.handler = (event) => { throw new RangeError('bad ' + event); };",
  },
} as const;

describe.each(RUNTIMES)('%s bootstrap in session mode', (runtime) => {
  let running: RunningRuntime;
  let folder: string;

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'hks-session-test-'));
    running = await startRuntime(runtime, {
      HKS_RUNTIME_MODE: 'session',
      HKS_SESSION_SECRET: SECRET,
      HKS_SESSION_DIR: folder,
      HKS_HANDLER: runtime === 'nodejs20' ? 'index.handler' : 'main.handler',
      HKS_TIMEOUT_SECONDS: '10',
      // No code of its own: the revision's module is never loaded.
      HKS_FUNCTION_DIR: join(folder, 'absent'),
    });
  });
  afterAll(async () => {
    await running.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  const call = (body: Record<string, unknown>, secret: string | null = SECRET) =>
    postSession(running.url, body, secret);

  it('keeps files of the session folder between calls, not module globals, nor the secret', async () => {
    const first = await call({ code: CODE[runtime].writer, event: { note: 'kept' } });
    expect(first.status).toBe(200);
    expect(first.inner).toEqual({ calls: 1, secret: null });
    expect(first.answer.outputFiles).toEqual({ 'out.txt': { text: 'o' } });
    // The same code again: a new module, so its global counts from 0 again.
    const again = await call({ code: CODE[runtime].writer, event: { note: 'kept' } });
    expect(again.inner).toEqual({ calls: 1, secret: null });
    const second = await call({
      code: CODE[runtime].reader,
      inputFiles: { 'in.txt': { text: 'given' } },
    });
    expect(second.status).toBe(200);
    expect(second.inner).toEqual({
      note: 'kept',
      global: false,
      input: 'given',
      // output/ is emptied after each answer: call 1's file is not returned again.
      outputs: [],
      cwd: expect.stringContaining('hks-session-test-'),
    });
    expect(Buffer.from(second.headers.get('x-hks-log-result') ?? '', 'base64').toString()).toMatch(
      /^reading\n/,
    );
    expect(readdirSync(folder).sort()).toEqual(['state.txt']);
  });

  it('refuses to load code without the session secret, or with a wrong one: 403, nothing runs', async () => {
    for (const secret of [null, '', SECRET.slice(1), `${SECRET}x`]) {
      const refused = await call(
        { code: CODE[runtime].writer, event: { note: 'intruder' } },
        secret,
      );
      expect(`${String(secret)}: ${refused.status}`).toBe(`${String(secret)}: 403`);
      expect(refused.answer.error).toEqual({
        type: 'Forbidden',
        message: expect.stringContaining('x-hks-session-secret'),
      });
    }
    const after = await call({
      code: CODE[runtime].reader,
      inputFiles: { 'in.txt': { text: '' } },
    });
    expect((after.inner as { note: string }).note).toBe('kept');
  });

  it('answers a failure, a timeout and a bad envelope as a normal invocation would', async () => {
    const failed = await call({ code: CODE[runtime].broken, event: 7 });
    expect(failed.status).toBe(500);
    expect(failed.inner).toEqual({
      error: { type: runtime === 'nodejs20' ? 'RangeError' : 'ValueError', message: 'bad 7' },
    });
    const slow = await call({ code: CODE[runtime].slow, timeoutSeconds: 1 });
    expect(slow.status).toBe(504);
    expect(slow.inner).toEqual({
      error: { type: 'Timeout', message: 'the function did not finish within 1 seconds' },
    });
    const tooLong = await call({ code: CODE[runtime].slow, timeoutSeconds: 11 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.answer.error?.message).toContain(
      'timeoutSeconds: given 11, expected a number of seconds from 1 to 10',
    );
    const noCode = await call({ event: 1 });
    expect(noCode.status).toBe(400);
    expect(noCode.answer.error?.message).toContain('not a session envelope');
  });

  it('refuses to start without a secret of at least 32 characters', async () => {
    const failed = await failedStart(runtime, {
      HKS_RUNTIME_MODE: 'session',
      HKS_SESSION_SECRET: 'short',
      HKS_HANDLER: 'x.handler',
    });
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain(
      'HKS_SESSION_SECRET: given 5 characters, expected at least 32 (HKS_RUNTIME_MODE=session)',
    );
  });
});

const INSTANCE_USED = {
  type: 'InstanceUsed',
  message:
    'this runtime instance has run its one execution (HKS_SESSION_ONCE=1); the platform starts a new one for the next',
};

/**
 * HKS_SESSION_ONCE=1: an instance of a warm pool runs one execution ever, so that nothing its
 * code leaves behind meets a later execution's. Each case starts an instance of its own.
 */
describe.each(RUNTIMES)('%s bootstrap in session mode with HKS_SESSION_ONCE', (runtime) => {
  let running: RunningRuntime | undefined;
  let folder: string;

  const start = async (once = '1') => {
    running = await startRuntime(runtime, {
      HKS_RUNTIME_MODE: 'session',
      HKS_SESSION_SECRET: SECRET,
      HKS_SESSION_DIR: folder,
      HKS_SESSION_ONCE: once,
      HKS_HANDLER: runtime === 'nodejs20' ? 'index.handler' : 'main.handler',
      HKS_TIMEOUT_SECONDS: '10',
      HKS_FUNCTION_DIR: join(folder, 'absent'),
    });
    return running;
  };
  /** A call of the marker code, which writes `file` into the session folder. */
  const mark = (instance: RunningRuntime, file: string, secret: string | null = SECRET) =>
    postSession(instance.url, { code: CODE[runtime].marker, event: { file } }, secret);

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'hks-session-once-test-'));
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    rmSync(folder, { recursive: true, force: true });
  });

  it('runs the first call, then answers 409 InstanceUsed without running anything', async () => {
    const instance = await start();
    const first = await mark(instance, 'first.txt');
    expect(first.status).toBe(200);
    expect(first.inner).toEqual({ ran: 'first.txt' });
    for (const secret of [SECRET, null, 'x'.repeat(64)]) {
      const later = await mark(instance, 'later.txt', secret);
      expect(`${String(secret)}: ${later.status}`).toBe(`${String(secret)}: 409`);
      expect(later.answer.error).toEqual(INSTANCE_USED);
    }
    // Past the time the marker code would have taken to write its file.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(existsSync(join(folder, 'first.txt'))).toBe(true);
    expect(existsSync(join(folder, 'later.txt'))).toBe(false);
    const health = await fetch(`${instance.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('is not used up by a refused secret: the valid call after it still runs', async () => {
    const instance = await start();
    const refused = await mark(instance, 'intruder.txt', SECRET.slice(1));
    expect(refused.status).toBe(403);
    expect(refused.answer.error?.type).toBe('Forbidden');
    const valid = await mark(instance, 'valid.txt');
    expect(valid.status).toBe(200);
    expect(readdirSync(folder).filter((name) => name.endsWith('.txt'))).toEqual(['valid.txt']);
  });

  it('is used up by a valid secret with a bad envelope', async () => {
    const instance = await start();
    const bad = await postSession(instance.url, { event: 1 }, SECRET);
    expect(bad.status).toBe(400);
    expect((await mark(instance, 'after.txt')).answer.error).toEqual(INSTANCE_USED);
  });

  it('runs one of two concurrent valid calls and answers the other 409', async () => {
    const instance = await start();
    const answers = await Promise.all([mark(instance, 'a.txt'), mark(instance, 'b.txt')]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(answers.find((a) => a.status === 409)?.answer.error).toEqual(INSTANCE_USED);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const ran = (answers.find((a) => a.status === 200)?.inner as { ran: string }).ran;
    expect(readdirSync(folder).filter((name) => name.endsWith('.txt'))).toEqual([ran]);
  });

  it('runs any number of calls with HKS_SESSION_ONCE=0', async () => {
    const instance = await start('0');
    expect((await mark(instance, 'one.txt')).status).toBe(200);
    expect((await mark(instance, 'two.txt')).status).toBe(200);
  });

  it.each(['yes', 'true', '2', ' 1'])(
    'refuses to start with HKS_SESSION_ONCE=%p',
    async (value) => {
      const failed = await failedStart(runtime, {
        HKS_RUNTIME_MODE: 'session',
        HKS_SESSION_SECRET: SECRET,
        HKS_SESSION_DIR: folder,
        HKS_SESSION_ONCE: value,
        HKS_HANDLER: 'x.handler',
      });
      expect(failed.code).toBe(2);
      expect(failed.stderr).toContain(
        `HKS_SESSION_ONCE: given "${value}", expected 1 (one execution per instance, HKS_RUNTIME_MODE=session), or 0, empty or unset (no limit)`,
      );
    },
  );
});
