import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { waitFor } from './cluster/wait';
import {
  ApiProcess,
  internalToken,
  metricsText,
  projectRequest,
  startApi,
  testStores,
  token,
} from './api/api-process';
import { cronJobDoc } from './support/definitions';
import { StandInProcess, startStandIn } from './support/knative-stand-in';
import { hksFuncMcp } from './support/mcp-process';

jest.setTimeout(240_000);

/**
 * The MCP server through the SDK's own client against a real API process on the real control
 * plane (the Knative stand-in plays the controller; CronJob runs on the fake nodes): over
 * stdio, `hks-func mcp` as a process; over streamable HTTP, the API's own `/mcp`.
 */
const project = 'mcplab';
const prefix = `m${randomBytes(2).toString('hex')}-`;
/** A call that runs code: a deploy and the readiness wait are in it. */
const LONG = { timeout: 180_000 };
let api: ApiProcess;
let standIn: StandInProcess;
let stdio: Client;
let stdioErr = '';

/** The first text of a tool result. */
const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;

/** Calls a tool and expects success; its structured content (JSON tools) or text. */
async function ok(name: string, args: Record<string, unknown>, options = {}) {
  const result = (await stdio.callTool(
    { name, arguments: args },
    undefined,
    options,
  )) as CallToolResult;
  if (result.isError) throw new Error(`${name} failed: ${textOf(result)}\n${stdioErr}`);
  return result;
}

/** Calls a tool and expects a tool error; its text. */
async function refused(client: Client, name: string, args: Record<string, unknown>) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  expect({ name, isError: result.isError }).toEqual({ name, isError: true });
  return textOf(result);
}

beforeAll(async () => {
  standIn = await startStandIn(prefix);
  api = await startApi({ ...(await testStores()[0].env()), HKS_NAMESPACE_PREFIX: prefix });
  const transport = new StdioClientTransport({
    ...hksFuncMcp([]),
    env: {
      PATH: process.env.PATH ?? '',
      HKS_API_URL: api.url,
      HKS_TOKEN: await internalToken([project], '10m'),
      HKS_CONFIG: join(__dirname, 'no-such-config.json'),
    },
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (d: Buffer) => (stdioErr += d.toString()));
  stdio = new Client({ name: 'mcp-int-test', version: '0.0.0' });
  await stdio.connect(transport);
}, 150_000);

afterAll(async () => {
  await stdio?.close();
  await api?.stop();
  await standIn?.stop();
});

describe('stdio: hks-func mcp', () => {
  test('lists the tools', async () => {
    const { tools } = await stdio.listTools();
    expect(tools).toHaveLength(14);
    expect(tools.find((t) => t.name === 'execute')?.inputSchema.required).toEqual(
      expect.arrayContaining(['runtime', 'code']),
    );
  });

  test('execute: python code runs once, its result and prints come back', async () => {
    const result = await ok(
      'execute',
      {
        project,
        runtime: 'python3.12',
        code: 'def handler(event, context):\n    print("adding", event["a"], event["b"])\n    return {"sum": event["a"] + event["b"]}\n',
        input: { a: 2, b: 3 },
      },
      LONG,
    );
    expect(result.structuredContent).toMatchObject({ status: 'succeeded', result: { sum: 5 } });
    expect(String(result.structuredContent?.logs)).toContain('adding 2 3');
    expect(JSON.parse(textOf(result))).toEqual(result.structuredContent);
  });

  test('deploy_function, invoke_function, function_logs, function_history, delete_function', async () => {
    const deployed = await ok(
      'deploy_function',
      {
        project,
        runtime: 'nodejs20',
        code: 'exports.handler = async (event) => {\n  console.log("doubling", event);\n  return event * 2;\n};\n',
        ttlSeconds: 600,
      },
      LONG,
    );
    const id = String(deployed.structuredContent?.id);
    expect(deployed.structuredContent).toMatchObject({ project, ready: true });
    const invoked = await ok('invoke_function', { id, input: 21 }, LONG);
    expect(invoked.structuredContent).toMatchObject({ status: 'succeeded', result: 42 });
    await waitFor('the invocation in the function logs', 30_000, async () =>
      textOf(await ok('function_logs', { project, name: id, since: '5m', tail: 50 })).includes(
        'doubling 21',
      ),
    );
    const history = await ok('function_history', { project, name: id });
    expect(history.structuredContent).toEqual({
      items: [expect.objectContaining({ name: `${id}-00001`, ready: true, percent: 100 })],
    });
    expect((await ok('delete_function', { id })).structuredContent).toEqual({ deleted: id });
    const gone = await refused(stdio, 'invoke_function', { id, input: 1 });
    expect(gone).toMatch(/^404 Not found: /);
  });

  test('list_cronjobs, trigger_cronjob, list_executions, get_execution, execution_logs', async () => {
    const defined = await projectRequest(
      api,
      project,
      { authorization: `Bearer ${await token([project])}`, 'content-type': 'application/json' },
      'POST',
      '/applications',
      cronJobDoc('report', { schedule: '0 3 1 1 *' }, project),
    );
    expect(defined.status).toBe(201);
    const listed = await ok('list_cronjobs', { project });
    expect(listed.structuredContent?.items).toEqual([
      expect.objectContaining({ name: 'report', schedule: '0 3 1 1 *', suspended: false }),
    ]);
    const triggered = (await ok('trigger_cronjob', { project, name: 'report' })).structuredContent;
    expect(triggered).toEqual({
      job: expect.stringMatching(/^report-manual-/),
      id: expect.any(String),
    });
    let status = '';
    await waitFor('the manual run to finish on a fake node', 120_000, async () => {
      const page = (await ok('list_executions', { project, name: 'report', limit: 5 }))
        .structuredContent as { items: { id: string; status: string }[] };
      status = page.items.find((e) => e.id === triggered?.id)?.status ?? '';
      return status !== '' && status !== 'running';
    });
    expect(status).toBe('succeeded');
    const one = await ok('get_execution', { project, name: 'report', id: String(triggered?.id) });
    expect(one.structuredContent).toMatchObject({ id: triggered?.id, trigger: 'manual' });
    const logs = await ok('execution_logs', { project, name: 'report', id: String(triggered?.id) });
    expect(logs.content).toEqual([{ type: 'text', text: expect.any(String) }]);
    // The same idempotency key answers the same run.
    const keyed = { project, name: 'report', idempotencyKey: 'agent-run-1' };
    const first = (await ok('trigger_cronjob', keyed)).structuredContent;
    expect((await ok('trigger_cronjob', keyed)).structuredContent).toEqual(first);
  });

  test('bad arguments are tool errors naming the field: refused by the tool or by the API', async () => {
    expect(await refused(stdio, 'execute', { runtime: 'cobol', code: 'x' })).toBe(
      'Invalid arguments: runtime: given "cobol", expected "python3.12" | "nodejs20"',
    );
    expect(
      await refused(stdio, 'list_executions', { project, name: 'report', since: 'yesterday' }),
    ).toContain('since: given "yesterday", expected an ISO 8601 instant');
    // The API's own refusals, its problem's field errors in the message.
    const badKey = await refused(stdio, 'trigger_cronjob', {
      project,
      name: 'report',
      idempotencyKey: 'two words',
    });
    expect(badKey).toMatch(/^400 Invalid request header: /);
    expect(badKey).toContain('Idempotency-Key: given "two words", expected 1 to 255 visible ASCII');
    const syntax = await refused(stdio, 'execute', {
      project,
      runtime: 'python3.12',
      code: 'def handler(event, context)\n    return 1\n',
    });
    expect(syntax).toMatch(/^400 /);
    expect(syntax).toMatch(/line 1/);
    expect(await refused(stdio, 'list_cronjobs', { project: 'billing' })).toContain(
      '403 Forbidden: The token does not grant project "billing"',
    );
    expect(await refused(stdio, 'get_execution', { project, name: 'report', id: 'nope' })).toMatch(
      /^404 Not found: No execution "nope"/,
    );
  });
});

describe('streamable HTTP: the API’s /mcp', () => {
  const connect = async (headers: Record<string, string>) => {
    const client = new Client({ name: 'mcp-int-http', version: '0.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${api.url}/mcp`), { requestInit: { headers } }),
    );
    return client;
  };

  test('an internal token: the tools, and a call authorized by the route it makes', async () => {
    const client = await connect({ authorization: `Bearer ${await internalToken([project])}` });
    try {
      expect((await client.listTools()).tools).toHaveLength(14);
      const listed = (await client.callTool({
        name: 'list_cronjobs',
        arguments: { project },
      })) as CallToolResult;
      expect(listed.isError).toBeFalsy();
      expect(listed.structuredContent?.items).toEqual([
        expect.objectContaining({ name: 'report' }),
      ]);
      expect(await refused(client, 'list_cronjobs', { project: 'billing' })).toContain(
        '403 Forbidden',
      );
    } finally {
      await client.close();
    }
    expect(await metricsText(api)).toMatch(
      /hks_http_request_duration_seconds_count\{method="POST",route="\/mcp",status="200"\} \d+/,
    );
  });

  test('a user token or no token is refused before MCP; other methods are 405', async () => {
    await expect(connect({ authorization: `Bearer ${await token([project])}` })).rejects.toThrow(
      /403/,
    );
    await expect(connect({})).rejects.toThrow(/401/);
    const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    const user = await fetch(`${api.url}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await token([project])}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: initialize,
    });
    expect(user.status).toBe(403);
    expect(user.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(((await user.json()) as { detail: string }).detail).toContain('hks-internal');
    const get = await fetch(`${api.url}/mcp`, {
      headers: { authorization: `Bearer ${await internalToken([project])}` },
    });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST, OPTIONS');
  });
});
