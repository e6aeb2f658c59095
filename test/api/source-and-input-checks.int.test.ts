import { randomBytes } from 'node:crypto';
import { kubectlJson } from '../cluster/kubectl';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import { ApiProcess, internalToken, startApi, testStores } from './api-process';

jest.setTimeout(180_000);

/**
 * What the source check and the input check refuse through the real API, before anything is
 * deployed: deeply nested sources and inputs, code the runtime's Python (3.12) rejects; and an
 * ES module `.js` function that passes the check and runs.
 */
const prefix = `s${randomBytes(2).toString('hex')}-`;
const project = 'srccheck';
let api: ApiProcess;
let standIn: StandInProcess;
let internal: string;
const DEEP = 100_000;

async function post(path: string, body: string) {
  const res = await fetch(`${api.url}/internal/v1${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${internal}`, 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const execute = (body: Record<string, unknown>) =>
  post('/operations/execute', JSON.stringify(body));

/** Knative Services of the project: none while every request was refused. */
async function deployed(): Promise<string[]> {
  const list = await kubectlJson<{ items: { metadata: { name: string; namespace: string } }[] }>([
    'get',
    'services.serving.knative.dev',
    '-A',
    '-o',
    'json',
  ]);
  return list.items
    .filter((s) => s.metadata.namespace === `${prefix}${project}`)
    .map((s) => s.metadata.name);
}

beforeAll(async () => {
  standIn = await startStandIn(prefix);
  const storeEnv = await testStores()[0].env();
  api = await startApi({
    ...storeEnv,
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
    HKS_JANITOR_INTERVAL_SECONDS: '0',
  });
  internal = await internalToken([project]);
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await standIn?.stop();
});

test.each([
  ['nodejs20', `exports.handler = () => ${'('.repeat(DEEP)}1${')'.repeat(DEEP)};\n`, 'index.js'],
  ['python3.12', `x = ${'['.repeat(DEEP)}${']'.repeat(DEEP)}\n`, 'main.py'],
  ['python3.12', `x = ${'-'.repeat(DEEP)}1\n`, 'main.py'],
])('%s source nested 100k deep is a 400 naming the file', async (runtime, code, file) => {
  const response = await execute({ runtime, code });
  expect(response.status).toBe(400);
  expect(response.json.errors).toEqual([
    {
      path: 'code',
      message: expect.stringMatching(
        new RegExp(
          `(nesting too deep|too many nested parentheses).*\\(${file.replace('.', '\\.')}`,
        ),
      ),
    },
  ]);
  expect(await deployed()).toEqual([]);
});

test("Python is checked with the runtime's 3.12 grammar, and the problem says so", async () => {
  const response = await execute({
    runtime: 'python3.12',
    code: 'def handler[T = int](event: T, context) -> T:\n    return event\n',
  });
  expect(response.status).toBe(400);
  expect(String(response.json.detail)).toMatch(
    /^code: SyntaxError: .*\(main\.py line 1\)[\s\S]*\nChecked with Python 3\.12\.\d+, the grammar of runtime python3\.12\.$/,
  );
  expect(await deployed()).toEqual([]);
});

test('execute: an input nested 500k deep is a 400 naming input, before anything is deployed', async () => {
  const depth = 500_000;
  const code = 'exports.handler = (event) => event;\n';
  const body = `{"runtime": "nodejs20", "code": ${JSON.stringify(code)}, "input": ${'['.repeat(depth)}${']'.repeat(depth)}}`;
  const response = await post('/operations/execute', body);
  expect(response.status).toBe(400);
  expect(response.json.errors).toEqual([
    { path: 'input', message: expect.stringMatching(/^nests deeper than 512 levels/) },
  ]);
  expect(await deployed()).toEqual([]);
});

test('an ES module .js function (package.json "type": "module") passes the check and runs', async () => {
  const files = {
    'package.json': JSON.stringify({ type: 'module' }),
    'index.js':
      'import { double } from "./lib/math.js";\nconst ready = await Promise.resolve(true);\nexport const handler = async (n) => ({ doubled: double(n), ready, esm: typeof require === "undefined" });\n',
    'lib/math.js': 'export const double = (n) => n * 2;\n',
  };
  const broken = await post(
    '/operations/deploy-function',
    JSON.stringify({
      runtime: 'nodejs20',
      files: { ...files, 'lib/math.js': 'export const double = (n) => n *;\n' },
    }),
  );
  expect(broken.status).toBe(400);
  expect(broken.json.errors).toEqual([
    {
      path: 'files.lib/math.js',
      message: expect.stringMatching(/^SyntaxError: Unexpected token ';' \(lib\/math\.js line 1\)/),
    },
  ]);
  const created = await post(
    '/operations/deploy-function',
    JSON.stringify({ runtime: 'nodejs20', files, ttlSeconds: 300 }),
  );
  expect(created.status).toBe(201);
  expect(created.json).toMatchObject({ ready: true });
  const id = String(created.json.id);
  const invoked = await post(`/operations/functions/${id}/invoke`, '21');
  expect(invoked.json).toMatchObject({
    status: 'succeeded',
    result: { doubled: 42, ready: true, esm: true },
  });
  // The invoke route checks its body's depth too.
  const deep = await post(
    `/operations/functions/${id}/invoke`,
    `${'['.repeat(1000)}${']'.repeat(1000)}`,
  );
  expect(deep.status).toBe(400);
  expect(deep.json.errors).toEqual([
    { path: 'body', message: expect.stringMatching(/^nests deeper than 512 levels/) },
  ]);
  await fetch(`${api.url}/internal/v1/operations/functions/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${internal}` },
  });
});
