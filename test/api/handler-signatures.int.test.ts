import { randomBytes } from 'node:crypto';
import { API_VERSION, HANDLER_SIGNATURES } from '../../constructs';
import { kubectlJson } from '../cluster/kubectl';
import { waitFor } from '../cluster/wait';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import {
  ApiProcess,
  internalToken,
  projectRequest,
  startApi,
  testStores,
  token,
} from './api-process';

jest.setTimeout(180_000);

/**
 * Handler signatures through the real API, Knative played by the stand-in (which runs the
 * real bootstraps): one-parameter handlers deploy and run, through execute-once and as
 * Functions; a signature the runtime cannot call is refused before anything is applied; one
 * the source does not settle (a factory's function) passes the check and its bootstrap refuses
 * to start, which execute-once reports as data.
 */
const prefix = `h${randomBytes(2).toString('hex')}-`;
const project = 'sigapi';
let api: ApiProcess;
let standIn: StandInProcess;
let internal: string;
let headers: Record<string, string>;

interface ExecutionResult {
  status: string;
  result?: unknown;
  error?: { type: string; message: string };
  logs: string;
}

async function execute(body: Record<string, unknown>) {
  const res = await fetch(`${api.url}/internal/v1/operations/execute`, {
    method: 'POST',
    headers: { authorization: `Bearer ${internal}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const request = (method: string, path: string, body?: unknown) =>
  projectRequest(api, project, headers, method, path, body);

const fn = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: API_VERSION,
  kind: 'Function',
  metadata: { name, project },
  spec,
});

/** Knative Services of the project. */
async function deployed(): Promise<string[]> {
  const list = await kubectlJson<{ items: { metadata: { name: string } }[] }>([
    'get',
    'services.serving.knative.dev',
    '-n',
    `${prefix}${project}`,
    '-o',
    'json',
  ]).catch(() => ({ items: [] }));
  return list.items.map((s) => s.metadata.name);
}

beforeAll(async () => {
  standIn = await startStandIn(prefix);
  api = await startApi({
    ...(await testStores()[0].env()),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
    HKS_JANITOR_INTERVAL_SECONDS: '0',
  });
  internal = await internalToken([project]);
  headers = {
    authorization: `Bearer ${await token([project])}`,
    'content-type': 'application/json',
  };
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await standIn?.stop();
});

test.each([
  ['python3.12', 'def handler(event):\n    return {"doubled": event["n"] * 2}\n'],
  ['python3.12', 'async def handler(event):\n    return {"doubled": event["n"] * 2}\n'],
  ['nodejs20', 'exports.handler = (event) => ({ doubled: event.n * 2 });\n'],
])('execute-once runs a one-parameter %s handler', async (runtime, code) => {
  const response = await execute({ runtime, code, input: { n: 21 } });
  expect(response.status).toBe(200);
  expect(response.json).toMatchObject({ status: 'succeeded', result: { doubled: 42 } });
});

test('a Function with a one-parameter handler deploys, becomes Ready and answers', async () => {
  const created = await request(
    'POST',
    '/applications',
    fn('single', {
      runtime: 'python3.12',
      code: 'def handler(event):\n    return {"got": event}\n',
    }),
  );
  expect(created.status).toBe(201);
  await waitFor('single ready', 60_000, async () => {
    const view = await request('GET', '/functions/single');
    return view.status === 200 && view.json.ready === true;
  });
  const invoked = await fetch(`${api.url}/api/v1/projects/${project}/functions/single/invoke`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ a: 1 }),
  });
  expect([invoked.status, await invoked.json()]).toEqual([200, { got: { a: 1 } }]);
});

test.each([
  [
    'python3.12',
    { code: 'import json\n\ndef handler(event, context, extra):\n    return 1\n' },
    'spec.code',
    3,
    'handler "main.handler" is defined as (event, context, extra): 3 positional parameters without a default, more than event and context',
  ],
  [
    'nodejs20',
    {
      files: {
        'index.js':
          "'use strict';\nexports.handler = (event, context, callback) => callback(null, 1);\n",
      },
    },
    'spec.files.index.js',
    2,
    'handler "index.handler" is defined as (event, context, callback): 3 parameters before any default, more than event and context',
  ],
])(
  'a %s handler the runtime cannot call is a 400 naming it, its line and the accepted signatures; nothing is applied',
  async (runtime, source, path, line, given) => {
    const name = `bad-${runtime === 'nodejs20' ? 'node' : 'python'}`;
    const refused = await request('POST', '/applications', fn(name, { runtime, ...source }));
    expect(refused.status).toBe(400);
    expect(refused.json.title).toBe('Invalid source code');
    expect(refused.json.errors).toEqual([
      {
        path,
        message: `${given}; expected ${HANDLER_SIGNATURES[runtime as 'nodejs20']} (${path.endsWith('.js') ? 'index.js' : 'main.py'} line ${line})`,
        line,
      },
    ]);
    expect(await deployed()).not.toContain(name);
    const executed = await execute({
      runtime,
      code: 'code' in source ? source.code : source.files['index.js'],
    });
    expect(executed.status).toBe(400);
    expect(executed.json.errors).toEqual([
      { path: 'code', message: expect.stringContaining(given) },
    ]);
  },
);

test.each([
  [
    'python3.12',
    'def make():\n    def made(event, context, extra):\n        return 1\n    return made\n\nhandler = make()\n',
    'handler "main.handler" is defined as (event, context, extra): 3 positional parameters without a default',
  ],
  [
    'nodejs20',
    'const make = () => (event, context, callback) => callback(null, 1);\nmodule.exports.handler = make();\n',
    'handler "index.handler" has length 3: 3 parameters before any default',
  ],
])(
  'a %s handler the source does not settle passes the check; its bootstrap refuses to start, reported as data',
  async (runtime, code, given) => {
    const response = await execute({ runtime, code });
    expect(response.status).toBe(200);
    const result = response.json as unknown as ExecutionResult;
    expect(result.status).toBe('failed');
    const expected = `hks: cannot start: ${given}, more than event and context; expected ${HANDLER_SIGNATURES[runtime as 'nodejs20']}`;
    // The stand-in's condition message carries the container's output, as Knative's does.
    expect(result.error?.message).toContain(expected);
  },
);
