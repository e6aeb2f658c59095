import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { ApiProcess, internalToken, startApi, testStores } from './api/api-process';
import { StandInProcess, startStandIn } from './support/knative-stand-in';
import { hksFuncMcp } from './support/mcp-process';

jest.setTimeout(240_000);

/**
 * The MCP execute tool's progress notifications, through the SDK's own client: over stdio
 * (`hks-func mcp`) a client that asks for progress gets each phase and each piece of output as
 * the code prints it, before the result; the result is the one without progress. Over the API's
 * streamable HTTP (JSON responses) the notifications have nowhere to go and the call still answers.
 */
const project = 'mcpprogress';
const prefix = `mp${randomBytes(2).toString('hex')}-`;
const CODE =
  'import time\n\ndef handler(event):\n    print("first")\n    time.sleep(2)\n    print("second")\n    return 42\n';
let api: ApiProcess;
let standIn: StandInProcess;
let stdio: Client;

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
  });
  stdio = new Client({ name: 'mcp-progress-test', version: '0.0.0' });
  await stdio.connect(transport);
}, 150_000);

afterAll(async () => {
  await stdio?.close();
  await api?.stop();
  await standIn?.stop();
});

test('stdio: with onprogress, the phases and the output arrive as notifications before the result', async () => {
  const notes: { at: number; progress: Progress }[] = [];
  const result = (await stdio.callTool(
    { name: 'execute', arguments: { project, runtime: 'python3.12', code: CODE } },
    undefined,
    {
      timeout: 180_000,
      onprogress: (progress) => notes.push({ at: performance.now(), progress }),
    },
  )) as CallToolResult;
  const answered = performance.now();
  expect(result.isError).toBeFalsy();
  expect(result.structuredContent).toMatchObject({
    status: 'succeeded',
    result: 42,
    stdout: 'first\nsecond\n',
  });
  const messages = notes.map((n) => n.progress.message);
  expect(messages.slice(0, 3)).toEqual(['deploying', 'ready', 'running']);
  expect(messages.slice(3)).toEqual(['[stdout] first', '[stdout] second']);
  expect(notes.map((n) => n.progress.progress)).toEqual([1, 2, 3, 4, 5]);
  const first = notes.find((n) => n.progress.message === '[stdout] first')!;
  console.log(
    `MCP progress: "first" notified ${Math.round(answered - first.at)} ms before the result`,
  );
  expect(answered - first.at).toBeGreaterThanOrEqual(1000);
});

test('streamable HTTP: a progress token is harmless; the result comes', async () => {
  const client = new Client({ name: 'mcp-progress-http', version: '0.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${api.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${await internalToken([project])}` } },
    }),
  );
  try {
    const result = (await client.callTool(
      { name: 'execute', arguments: { project, runtime: 'python3.12', code: CODE } },
      undefined,
      { timeout: 180_000, onprogress: () => undefined },
    )) as CallToolResult;
    expect(result.structuredContent).toMatchObject({ status: 'succeeded', result: 42 });
  } finally {
    await client.close();
  }
});
