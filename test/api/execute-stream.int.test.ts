import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { CliIo } from '../../cli/hks-func/context';
import { runHksFunc } from '../../cli/hks-func/program';
import { ExecuteStreamEvent, HksApiError, HksClient } from '../../sdk/typescript';
import type { AgentExecutionRecord } from '../../api/store/agent-executions';
import { kubectlJson } from '../cluster/kubectl';
import { waitFor } from '../cluster/wait';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import {
  ApiProcess,
  internalToken,
  projectRequest,
  startApi,
  testStores,
  TEST_JWT_SECRET,
} from './api-process';

jest.setTimeout(240_000);

/**
 * Streamed execute-once (`Accept: text/event-stream`) through the real API with the Knative
 * stand-in running the runtimes as processes: output events as the code prints, then the same
 * result as without streaming; the output cap, the timeout, a client that goes, bad input;
 * the TypeScript SDK's executeStream, the Python SDK's execute_stream (pytest) and
 * `hks-func exec --follow` against the same API.
 */
const prefix = `es${randomBytes(2).toString('hex')}-`;
const PROJECT = 'streamexec';
const LIMIT = 2048;
let standIn: StandInProcess;

interface Event {
  readonly event: string;
  readonly data: Record<string, unknown>;
  /** `performance.now()` when it arrived. */
  readonly at: number;
}

/** Reads a Server-Sent Events body, noting when each event arrived; comment lines apart. */
async function readEvents(
  response: Response,
  onEvent: (event: Event) => void = () => undefined,
): Promise<{ events: Event[]; comments: string[] }> {
  const events: Event[] = [];
  const comments: string[] = [];
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = pending.indexOf('\n\n')) >= 0) {
      const block = pending.slice(0, end);
      pending = pending.slice(end + 2);
      const lines = block.split('\n');
      comments.push(...lines.filter((l) => l.startsWith(':')));
      const name = lines.find((l) => l.startsWith('event: '))?.slice(7);
      const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
      if (name === undefined || data === undefined) continue;
      const event = {
        event: name,
        data: JSON.parse(data) as Record<string, unknown>,
        at: performance.now(),
      };
      events.push(event);
      onEvent(event);
    }
  }
  return { events, comments };
}

const outputText = (events: Event[], stream?: string) =>
  events
    .filter((e) => e.event === 'output' && (stream === undefined || e.data.stream === stream))
    .map((e) => String(e.data.text))
    .join('');

/** The result apart from what differs between two runs of the same code. */
function comparable(result: Record<string, unknown>): Record<string, unknown> {
  const { id: _id, durationMs: _duration, timings: _timings, ...rest } = result;
  return rest;
}

const PACED: Record<'python3.12' | 'nodejs20', string> = {
  'python3.12':
    'import sys, time\n\ndef handler(event):\n    print("first")\n    time.sleep(event["pause"])\n    print("careful", file=sys.stderr)\n    print("second")\n    return {"done": True}\n',
  nodejs20:
    'exports.handler = async (event) => {\n  console.log("first");\n  await new Promise((r) => setTimeout(r, event.pause * 1000));\n  console.error("careful");\n  process.stdout.write("second\\n");\n  return { done: true };\n};\n',
};

beforeAll(async () => {
  standIn = await startStandIn(prefix);
}, 120_000);

afterAll(async () => {
  await standIn?.stop();
});

/** Knative Services of the project's namespace. */
async function services(): Promise<string[]> {
  const list = await kubectlJson<{ items: { metadata: { name: string } }[] }>([
    'get',
    'services.serving.knative.dev',
    '-n',
    `${prefix}${PROJECT}`,
    '-o',
    'json',
  ]).catch(() => ({ items: [] }));
  return list.items.map((s) => s.metadata.name);
}

describe.each(testStores().map((s, i) => ({ ...s, first: i === 0 })))(
  'streamed execute ($name store)',
  ({ env, first }) => {
    let api: ApiProcess;
    let internal: string;

    beforeAll(async () => {
      api = await startApi({
        ...(await env()),
        HKS_NAMESPACE_PREFIX: prefix,
        HKS_RECORDER: 'off',
        HKS_JANITOR_INTERVAL_SECONDS: '0',
        HKS_EXECUTE_OUTPUT_LIMIT_BYTES: String(LIMIT),
      });
      internal = await internalToken([PROJECT]);
    }, 120_000);

    afterAll(async () => {
      await api?.stop();
    });

    function post(body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) {
      return fetch(`${api.url}/internal/v1/operations/execute`, {
        method: 'POST',
        signal,
        headers: {
          authorization: `Bearer ${internal}`,
          'content-type': 'application/json',
          accept: 'text/event-stream',
          ...headers,
        },
        body: JSON.stringify(body),
      });
    }

    /** The audit record of the call with `requestId`, once it is no longer running. */
    async function auditRecord(requestId: string): Promise<AgentExecutionRecord> {
      const admin = await new SignJWT({ projects: [PROJECT], admin: [PROJECT] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('stream-auditor')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(TEST_JWT_SECRET));
      let found: AgentExecutionRecord | undefined;
      await waitFor(`the audit record of ${requestId}`, 30_000, async () => {
        const list = await projectRequest(
          api,
          PROJECT,
          { authorization: `Bearer ${admin}` },
          'GET',
          '/agent-executions?limit=100',
        );
        const items = list.json.items as AgentExecutionRecord[];
        found = items.find((r) => r.requestId === requestId && r.status !== 'running');
        return found !== undefined;
      });
      return found!;
    }

    // The store matters for the audit trail only: the rest runs against the first store.
    const onFirstStore = first ? test : test.skip;

    onFirstStore.each(['python3.12', 'nodejs20'] as const)(
      '%s: output events as the code prints, phases, then the result as without streaming',
      async (runtime) => {
        const body = { runtime, code: PACED[runtime], input: { pause: 2 } };
        const response = await post(body, { 'x-request-id': `stream-ok-${runtime}` });
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
        const { events } = await readEvents(response);
        const names = events.map((e) => e.event);
        expect(names.slice(0, 3)).toEqual(['phase', 'phase', 'phase']);
        expect(events.slice(0, 3).map((e) => e.data.phase)).toEqual([
          'deploying',
          'ready',
          'running',
        ]);
        expect(events[1].data.timings).toMatchObject({
          check: expect.any(Number),
          deploy: expect.any(Number),
          ready: expect.any(Number),
        });
        expect(names.at(-1)).toBe('result');
        expect(names.filter((n) => n === 'result')).toHaveLength(1);
        expect(outputText(events, 'stdout')).toBe('first\nsecond\n');
        expect(outputText(events, 'stderr')).toBe('careful\n');
        expect(outputText(events)).toBe('first\ncareful\nsecond\n');
        const firstLine = events.find((e) => String(e.data.text).startsWith('first'))!;
        const result = events.at(-1)!;
        const gap = result.at - firstLine.at;
        console.log(`${runtime}: "first" arrived ${Math.round(gap)} ms before the result`);
        expect(gap).toBeGreaterThanOrEqual(1000);

        const plain = await fetch(`${api.url}/internal/v1/operations/execute`, {
          method: 'POST',
          headers: { authorization: `Bearer ${internal}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(plain.status).toBe(200);
        const expected = (await plain.json()) as Record<string, unknown>;
        expect(comparable(result.data)).toEqual(comparable(expected));
        expect(result.data).toMatchObject({ status: 'succeeded', result: { done: true } });
        expect(await auditRecord(`stream-ok-${runtime}`)).toMatchObject({
          status: 'succeeded',
          runtime,
          httpStatus: 200,
        });
      },
    );

    onFirstStore(
      'output over the cap: output events stop at it, the last one marked, the result truncated',
      async () => {
        const code =
          'def handler(event):\n    for i in range(200):\n        print("line %03d %s" % (i, "x" * 50))\n    return "done"\n';
        const { events } = await readEvents(await post({ runtime: 'python3.12', code }));
        const outputs = events.filter((e) => e.event === 'output');
        const sent = Buffer.byteLength(outputText(events));
        expect(sent).toBeLessThanOrEqual(LIMIT);
        expect(sent).toBeGreaterThan(LIMIT - 100);
        expect(outputs.at(-1)?.data.truncated).toBe(true);
        expect(outputs.slice(0, -1).every((e) => e.data.truncated === undefined)).toBe(true);
        const result = events.at(-1)!;
        expect(result.event).toBe('result');
        expect(result.data).toMatchObject({
          status: 'succeeded',
          result: 'done',
          truncated: { output: true, stdout: true, limitBytes: LIMIT },
        });
        expect(result.data.output).toBe(outputText(events));
      },
    );

    onFirstStore(
      'an infinite loop with timeoutSeconds 2: a timeout result, stopped, after its output',
      async () => {
        const code = 'exports.handler = () => {\n  console.log("looping");\n  for (;;) {}\n};\n';
        const { events } = await readEvents(
          await post({ runtime: 'nodejs20', code, timeoutSeconds: 2 }),
        );
        expect(outputText(events)).toBe('looping\n');
        const result = events.at(-1)!;
        expect(result.event).toBe('result');
        expect(result.data).toMatchObject({ status: 'timeout', stopped: true });
      },
    );

    test('a client that goes mid-run: the function is deleted, the audit record says disconnected', async () => {
      const requestId = `stream-gone-${randomBytes(3).toString('hex')}`;
      const controller = new AbortController();
      const code =
        'import time\n\ndef handler(event):\n    print("started", flush=True)\n    time.sleep(60)\n    return 1\n';
      const response = await post(
        { runtime: 'python3.12', code, timeoutSeconds: 120 },
        {
          'x-request-id': requestId,
        },
        controller.signal,
      );
      let printed!: () => void;
      const started = new Promise<void>((resolve) => (printed = resolve));
      const reading = readEvents(response, (event) => {
        if (event.event === 'output') printed();
      }).catch((error: unknown) => error);
      await started;
      const name = (await services()).find((s) => s.startsWith('exec-'));
      expect(name).toBeDefined();
      controller.abort();
      await reading;
      const gone = performance.now();
      await waitFor('the temporary function to be deleted', 20_000, async () =>
        (await services()).every((s) => s !== name),
      );
      const deletedMs = Math.round(performance.now() - gone);
      const record = await auditRecord(requestId);
      expect(record).toMatchObject({ status: 'disconnected', errorTitle: 'Client gone' });
      console.log(
        `client gone: ${name} deleted ${deletedMs} ms after; audit ${record.status} after ${Math.round(record.durationMs ?? 0)} ms`,
      );
    });

    onFirstStore(
      'bad input with Accept: text/event-stream is a 400 problem naming the field; nothing deployed',
      async () => {
        const before = await services();
        const response = await post({ runtime: 'cobol', code: 'x' });
        expect(response.status).toBe(400);
        expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        const problem = (await response.json()) as { errors: { path: string; message: string }[] };
        expect(problem.errors[0].path).toBe('runtime');
        expect(problem.errors[0].message).toContain('cobol');
        const syntax = await post({ runtime: 'python3.12', code: 'def handler(event:\n' });
        expect(syntax.status).toBe(400);
        expect(((await syntax.json()) as { errors: { path: string }[] }).errors[0].path).toBe(
          'code',
        );
        expect(await services()).toEqual(before);
      },
    );

    onFirstStore('the OpenAPI document describes the stream', async () => {
      const doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
        paths: Record<string, { post: { responses: Record<string, { content: object }> } }>;
      };
      const execute = doc.paths['/internal/v1/operations/execute'].post.responses['200'];
      expect(Object.keys(execute.content)).toEqual(['application/json', 'text/event-stream']);
      expect(JSON.stringify(execute.content)).toContain('"running"');
    });

    onFirstStore(
      'TypeScript SDK: executeStream yields typed events as they come, ending with the result',
      async () => {
        const hks = new HksClient({ apiUrl: api.url, token: internal });
        const arrived: { at: number; event: ExecuteStreamEvent }[] = [];
        const events = hks.operations.executeStream({
          runtime: 'nodejs20',
          code: PACED.nodejs20,
          input: { pause: 2 },
        });
        for await (const event of events) arrived.push({ at: performance.now(), event });
        const kinds = arrived.map((a) => a.event.type);
        expect(kinds.slice(0, 3)).toEqual(['phase', 'phase', 'phase']);
        expect(kinds.at(-1)).toBe('result');
        const first = arrived.find((a) => a.event.type === 'output')!;
        expect(first.event).toEqual({ type: 'output', stream: 'stdout', text: 'first\n' });
        const last = arrived.at(-1)!;
        expect(last.at - first.at).toBeGreaterThanOrEqual(1000);
        expect(last.event.type === 'result' && last.event.result).toMatchObject({
          status: 'succeeded',
          result: { done: true },
          stdout: 'first\nsecond\n',
          stderr: 'careful\n',
        });
        const refused = hks.operations.executeStream({
          runtime: 'python3.12',
          code: 'def handler(e:\n',
        });
        const error = await refused.next().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(HksApiError);
        expect((error as HksApiError).problem.errors?.[0].path).toBe('code');
      },
    );

    onFirstStore(
      'TypeScript SDK: leaving the loop early stops the code; its function is deleted',
      async () => {
        const hks = new HksClient({ apiUrl: api.url, token: internal });
        const code =
          'import time\n\ndef handler(event):\n    print("started", flush=True)\n    time.sleep(60)\n';
        let name: string | undefined;
        for await (const event of hks.operations.executeStream({ runtime: 'python3.12', code })) {
          if (event.type !== 'output') continue;
          name = (await services()).find((s) => s.startsWith('exec-'));
          break;
        }
        expect(name).toBeDefined();
        await waitFor('the temporary function to be deleted', 20_000, async () =>
          (await services()).every((s) => s !== name),
        );
      },
    );

    onFirstStore(
      'Python SDK: execute_stream (pytest sdk/python/tests/test_stream.py)',
      async () => {
        const root = join(__dirname, '..', '..');
        const { code, output } = await new Promise<{ code: number | null; output: string }>(
          (resolve, reject) => {
            const child = spawn(
              'python3',
              ['-m', 'pytest', 'sdk/python/tests/test_stream.py', '-q', '-rs'],
              {
                cwd: root,
                env: {
                  ...process.env,
                  CI: '1', // the API tests must run, not skip
                  PYTHONPATH: join(root, 'sdk', 'python'),
                  PYTHONDONTWRITEBYTECODE: '1',
                  HKS_API_URL: api.url,
                  HKS_TOKEN: internal,
                  HKS_INTERNAL_TOKEN: internal,
                  HKS_PROJECT: PROJECT,
                },
                stdio: ['ignore', 'pipe', 'pipe'],
              },
            );
            let text = '';
            child.stdout.on('data', (d: Buffer) => (text += d.toString()));
            child.stderr.on('data', (d: Buffer) => (text += d.toString()));
            child.once('error', reject);
            child.once('close', (exit) => resolve({ code: exit, output: text }));
          },
        );
        if (code !== 0) throw new Error(`pytest exited with ${code}:\n${output}\n${api.output()}`);
        expect(output).toMatch(/5 passed/);
        expect(output).not.toMatch(/skipped|failed|error/);
      },
    );

    /** Runs `hks-func exec <file> --follow ...`, noting when each piece of output came. */
    async function execFollow(file: string, code: string, ...flags: string[]) {
      const folder = mkdtempSync(join(tmpdir(), 'hks-exec-follow-'));
      writeFileSync(join(folder, file), code);
      const writes: { stream: 'stdout' | 'stderr'; text: string; at: number }[] = [];
      const io: CliIo = {
        stdout: (text) => writes.push({ stream: 'stdout', text, at: performance.now() }),
        stderr: (text) => writes.push({ stream: 'stderr', text, at: performance.now() }),
        env: {
          HKS_CONFIG: join(folder, 'no-config.json'),
          HKS_API_URL: api.url,
          HKS_TOKEN: internal,
          HKS_PROJECT: PROJECT,
        },
        stderrIsTTY: false,
        cwd: folder,
      };
      const exitCode = await runHksFunc(['exec', file, '--follow', ...flags], io);
      const text = (stream: string) =>
        writes
          .filter((w) => w.stream === stream)
          .map((w) => w.text)
          .join('');
      return { exitCode, writes, stdout: text('stdout'), stderr: text('stderr') };
    }

    onFirstStore(
      'hks-func exec --follow prints the output as it comes, then the result; exit codes as without',
      async () => {
        const run = await execFollow('paced.py', PACED['python3.12'], '--data', '{"pause": 2}');
        expect(run.exitCode).toBe(0);
        expect(run.stdout).toBe('first\nsecond\n{"done":true}\n');
        expect(run.stderr).toMatch(/^careful\n\[hks: exec-\S+ succeeded in \d+ ms\]\n$/);
        const first = run.writes.find((w) => w.text.startsWith('first'))!;
        const end = run.writes.at(-1)!;
        console.log(
          `hks-func exec --follow: "first" printed ${Math.round(end.at - first.at)} ms before the end`,
        );
        expect(end.at - first.at).toBeGreaterThanOrEqual(1000);

        const failed = await execFollow(
          'index.js',
          'exports.handler = async () => { console.error("about to fail"); throw new TypeError("no such thing"); };\n',
        );
        expect(failed.exitCode).toBe(1);
        expect(failed.stderr).toContain('about to fail\n');
        expect(failed.stderr).toContain('execution failed: TypeError: no such thing');

        const json = await execFollow(
          'paced.py',
          PACED['python3.12'],
          '--data',
          '{"pause": 0}',
          '--output',
          'json',
        );
        expect(json.exitCode).toBe(0);
        const lines = json.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { type: string });
        const types = lines.map((l) => l.type);
        expect(types.slice(0, 3)).toEqual(['phase', 'phase', 'phase']);
        expect(types.slice(3, -1).every((t) => t === 'output')).toBe(true);
        expect(types.at(-1)).toBe('result');
      },
    );
  },
);
