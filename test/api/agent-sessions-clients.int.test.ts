import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { HksApiError, HksClient } from '../../sdk/typescript';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import { hksFuncMcp } from '../support/mcp-process';
import { ApiProcess, internalToken, startApi, testStores } from './api-process';

jest.setTimeout(300_000);

/**
 * Agent sessions through their clients against the real API with the Knative stand-in: the
 * TypeScript SDK's openSession, the Python SDK's `with executor.session(...)` (its pytest file)
 * and the MCP tools open_session, execute_in_session and close_session with the MCP SDK's own
 * client over `hks-func mcp`, bad arguments refused as tool errors naming the field.
 */
const ROOT = join(__dirname, '..', '..');
const PROJECT = 'sessions-clients';
const prefix = `sc${randomBytes(2).toString('hex')}-`;
let api: ApiProcess;
let standIn: StandInProcess;
let internal: string;

beforeAll(async () => {
  standIn = await startStandIn(prefix);
  api = await startApi({
    ...(await testStores()[0].env()),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
  });
  internal = await internalToken([PROJECT], '10m');
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await standIn?.stop();
});

test('TypeScript SDK: openSession, execute twice in one function, close', async () => {
  const hks = new HksClient({ apiUrl: api.url, token: internal });
  const session = await hks.operations.openSession({ runtime: 'nodejs20', idleTimeoutSeconds: 60 });
  try {
    const written = await session.execute(
      "exports.handler = (event) => { require('node:fs').writeFileSync('state.json', JSON.stringify(event)); return 'saved'; };",
      { step: 1 },
    );
    expect(written).toMatchObject({ status: 'succeeded', result: 'saved', sessionId: session.id });
    const read = await session.execute({
      code: "exports.handler = () => JSON.parse(require('node:fs').readFileSync('state.json', 'utf8'));",
    });
    expect(read.result).toEqual({ step: 1 });
    expect(await session.view()).toMatchObject({ id: session.id, executions: 2, state: 'idle' });
  } finally {
    await session.close();
  }
  const gone = await session.view().catch((error: unknown) => error);
  expect(gone).toBeInstanceOf(HksApiError);
  expect((gone as HksApiError).status).toBe(410);
});

test('Python SDK: with executor.session(...) as s: s.execute(...) (sdk/python/tests/test_sessions.py)', async () => {
  const child = spawn(
    'python3',
    ['-m', 'pytest', 'sdk/python/tests/test_sessions.py', '-q', '-rs'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        CI: '1', // the API tests must run, not skip
        PYTHONPATH: join(ROOT, 'sdk', 'python'),
        PYTHONDONTWRITEBYTECODE: '1',
        HKS_API_URL: api.url,
        HKS_TOKEN: internal,
        HKS_INTERNAL_TOKEN: internal,
        HKS_PROJECT: PROJECT,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining('3 passed') });
});

describe('MCP tools over hks-func mcp', () => {
  let client: Client;
  const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;
  const callTool = async (name: string, args: Record<string, unknown>) =>
    (await client.callTool({ name, arguments: args }, undefined, {
      timeout: 180_000,
    })) as CallToolResult;

  beforeAll(async () => {
    const transport = new StdioClientTransport({
      ...hksFuncMcp([]),
      env: {
        PATH: process.env.PATH ?? '',
        HKS_API_URL: api.url,
        HKS_TOKEN: internal,
        HKS_CONFIG: join(__dirname, 'no-such-config.json'),
      },
    });
    client = new Client({ name: 'sessions-test', version: '0.0.0' });
    await client.connect(transport);
  });
  afterAll(async () => {
    await client?.close();
  });

  test('open_session, execute_in_session twice, close_session', async () => {
    const { tools } = await client.listTools();
    expect(tools.find((t) => t.name === 'execute_in_session')?.inputSchema.required).toEqual(
      expect.arrayContaining(['sessionId', 'code']),
    );
    const opened = await callTool('open_session', {
      runtime: 'python3.12',
      idleTimeoutSeconds: 60,
    });
    expect(opened.isError).toBeFalsy();
    const sessionId = String(opened.structuredContent?.id);
    const write = await callTool('execute_in_session', {
      sessionId,
      code: 'def handler(event):\n    open("seen.txt", "a").write(event)\n    return "ok"\n',
      input: 'a',
    });
    expect(write.structuredContent).toMatchObject({ status: 'succeeded', result: 'ok', sessionId });
    const read = await callTool('execute_in_session', {
      sessionId,
      code: 'def handler(event):\n    return open("seen.txt").read() + event\n',
      input: 'b',
    });
    expect(read.structuredContent).toMatchObject({ status: 'succeeded', result: 'ab' });
    expect((await callTool('close_session', { sessionId })).structuredContent).toEqual({
      closed: sessionId,
    });
    const after = await callTool('execute_in_session', { sessionId, code: 'x = 1' });
    expect(after.isError).toBe(true);
    expect(textOf(after)).toMatch(/^410 Session ended: /);
  });

  test('bad arguments are tool errors naming the field', async () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['open_session', { runtime: 'ruby' }, /^Invalid arguments: runtime: /],
      ['open_session', { runtime: 'python3.12', idleTimeoutSeconds: 0 }, /idleTimeoutSeconds: /],
      [
        'execute_in_session',
        { sessionId: 'Bad!', code: 'x' },
        /^Invalid arguments: sessionId: given "Bad!"/,
      ],
      ['execute_in_session', { sessionId: 'sess-000000000000' }, /^Invalid arguments: code: /],
      ['close_session', { sessionId: 'sess-000000000000', extra: 1 }, /extra: unknown field/],
    ];
    for (const [name, args, expected] of cases) {
      const result = await callTool(name, args);
      expect({ name, isError: result.isError, text: textOf(result) }).toEqual({
        name,
        isError: true,
        text: expect.stringMatching(expected),
      });
    }
  });
});
