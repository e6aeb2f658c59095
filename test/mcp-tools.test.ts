import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { hksFuncMcp, unsignedToken } from './support/mcp-process';

jest.setTimeout(60_000);

/**
 * `hks-func mcp` as a process, through the SDK's own client, in front of a small HTTP server
 * that records what reaches it: the tools' JSON Schemas come from the routes' zod schemas,
 * arguments are checked by the API's own validator before any request, and refused ones send
 * nothing. (The tools against the real API: test/mcp.int.test.ts.)
 */
const seen: string[] = [];
let recorder: Server;
let client: Client;
let stderr = '';

beforeAll(async () => {
  recorder = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"items":[]}');
  });
  await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
  const apiUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
  const transport = new StdioClientTransport({
    ...hksFuncMcp([]),
    env: {
      PATH: process.env.PATH ?? '',
      HKS_API_URL: apiUrl,
      HKS_TOKEN: unsignedToken({ aud: 'hks-internal', projects: ['shop'] }),
      HKS_CONFIG: join(__dirname, 'no-such-config.json'),
    },
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  client = new Client({ name: 'mcp-tools-test', version: '0.0.0' });
  await client.connect(transport);
});

afterAll(async () => {
  await client?.close();
  await new Promise((resolve) => recorder?.close(resolve));
});

test('the tools, with object schemas from the routes’ schemas', async () => {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toEqual([
    'execute',
    'deploy_function',
    'invoke_function',
    'delete_function',
    'open_session',
    'execute_in_session',
    'close_session',
    'function_logs',
    'function_history',
    'list_cronjobs',
    'trigger_cronjob',
    'list_executions',
    'get_execution',
    'execution_logs',
  ]);
  for (const t of tools)
    expect({ name: t.name, type: t.inputSchema.type }).toEqual({ name: t.name, type: 'object' });
  const schema = (name: string) => tools.find((t) => t.name === name)?.inputSchema;
  expect(schema('execute')?.required).toEqual(expect.arrayContaining(['runtime', 'code']));
  expect(schema('execute')?.properties?.runtime).toEqual({
    type: 'string',
    enum: ['python3.12', 'nodejs20'],
  });
  expect(schema('list_executions')?.required).toEqual(['project', 'name']);
  expect(Object.keys(schema('list_executions')?.properties ?? {})).toEqual(
    expect.arrayContaining(['project', 'name', 'limit', 'cursor', 'status', 'since', 'until']),
  );
  // A followed log would not end within one tool call.
  expect(schema('function_logs')?.properties).not.toHaveProperty('follow');
  expect(tools.find((t) => t.name === 'list_cronjobs')?.annotations).toMatchObject({
    readOnlyHint: true,
  });
});

test('refused arguments: a tool error naming each field, the value and what is expected; nothing sent', async () => {
  const refused = async (name: string, args: Record<string, unknown>) => {
    const result = await client.callTool({ name, arguments: args });
    expect(result.isError).toBe(true);
    return (result.content as { text: string }[])[0].text;
  };
  expect(await refused('execute', { runtime: 'cobol', code: '' })).toBe(
    'Invalid arguments: runtime: given "cobol", expected "python3.12" | "nodejs20"; code: given "", expected at least 1',
  );
  expect(await refused('deploy_function', { runtime: 'python3.12' })).toContain(
    'code: given neither code nor files, expected exactly one of them',
  );
  const executions = await refused('list_executions', {
    project: 'Shop',
    name: 'report',
    limit: 500,
    colour: 'red',
  });
  expect(executions).toMatch(/^Invalid arguments: project: given "Shop", expected /);
  expect(executions).toContain('limit: given 500, expected at most 100');
  expect(executions).toContain('colour: unknown field, expected only');
  expect(await refused('list_cronjobs', { project: 'shop', name: 'x' })).toBe(
    'Invalid arguments: name: unknown field, expected only project',
  );
  expect(await refused('trigger_cronjob', { project: 'shop', name: 'Nightly!' })).toMatch(
    /^Invalid arguments: name: given "Nightly!", expected /,
  );
  expect(seen).toEqual([]);
});

test('an unknown tool is a protocol error naming the tools', async () => {
  await expect(client.callTool({ name: 'rm_rf', arguments: {} })).rejects.toThrow(
    /Unknown tool "rm_rf": expected one of execute, deploy_function/,
  );
});

test('passing arguments reach /internal/v1 as given, with the token', async () => {
  const result = await client.callTool({
    name: 'list_executions',
    arguments: {
      project: 'shop',
      name: 'report',
      limit: 5,
      status: 'failed',
      since: '2026-01-31T02:30:00+09:00',
    },
  });
  expect(result.isError).toBeFalsy();
  expect(result.structuredContent).toEqual({ items: [] });
  expect(seen).toEqual([
    expect.stringMatching(
      /^GET \/internal\/v1\/projects\/shop\/cronjobs\/report\/executions\?limit=5&status=failed&since=2026-01-31T02%3A30%3A00%2B09%3A00 Bearer ey/,
    ),
  ]);
  expect(stderr).toBe('');
});

test('a user token or no token: exit 2 before serving, naming what is expected', async () => {
  const user = await runToEnd({ HKS_TOKEN: unsignedToken({ projects: ['shop'] }) });
  expect(user.code).toBe(2);
  expect(user.stderr).toContain(
    '--token / HKS_TOKEN: given a token with audience null, expected an internal token (audience "hks-internal")',
  );
  const none = await runToEnd({});
  expect(none.code).toBe(2);
  expect(none.stderr).toContain(
    'missing the API token: expected --token, the environment variable HKS_TOKEN',
  );
});

async function runToEnd(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const { spawn } = await import('node:child_process');
  const { command, args } = hksFuncMcp([]);
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      env: {
        PATH: process.env.PATH ?? '',
        HKS_API_URL: 'http://127.0.0.1:9',
        HKS_CONFIG: join(__dirname, 'no-such-config.json'),
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}
