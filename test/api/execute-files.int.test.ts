import { randomBytes } from 'node:crypto';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import { ApiProcess, internalToken, startApi, testStores } from './api-process';

jest.setTimeout(180_000);

/**
 * Files in and out of an execution through the real API, with the Knative stand-in running the
 * runtimes as processes: input files readable in the working directory, output files back as
 * text or base64, unsafe paths refused, the caps, and symlinks never followed.
 */
const prefix = `xf${randomBytes(2).toString('hex')}-`;
const FILE_LIMIT = 4096;
const TOTAL_LIMIT = 8192;
let api: ApiProcess;
let standIn: StandInProcess;
let internal: string;

interface Result {
  status: string;
  result?: unknown;
  error?: { type: string; message: string };
  stdout: string;
  stderr: string;
  outputFiles?: Record<string, { text: string } | { base64: string }>;
  omittedFiles?: { path: string; bytes?: number; reason: string }[];
}

interface Refusal {
  detail: string;
  errors: { path: string; message: string }[];
}

async function post(body: unknown): Promise<Response> {
  return fetch(`${api.url}/internal/v1/operations/execute`, {
    method: 'POST',
    headers: { authorization: `Bearer ${internal}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function execute(body: unknown): Promise<Result> {
  const res = await post(body);
  const text = await res.text();
  expect({ status: res.status, text }).toMatchObject({ status: 200 });
  return JSON.parse(text) as Result;
}

async function refused(body: unknown): Promise<Refusal> {
  const res = await post(body);
  expect(res.status).toBe(400);
  return (await res.json()) as Refusal;
}

const BINARY = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80]);
const inputFiles = {
  'data/in.txt': { text: 'héllo\n' },
  'raw.bin': { base64: BINARY.toString('base64') },
};

beforeAll(async () => {
  standIn = await startStandIn(prefix);
  api = await startApi({
    ...(await testStores()[0].env()),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
    HKS_JANITOR_INTERVAL_SECONDS: '0',
    HKS_EXECUTE_FILES_MAX_COUNT: '3',
    HKS_EXECUTE_FILE_LIMIT_BYTES: String(FILE_LIMIT),
    HKS_EXECUTE_FILES_LIMIT_BYTES: String(TOTAL_LIMIT),
  });
  internal = await internalToken(['xfiles']);
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await standIn?.stop();
});

test('python: reads input files at input/, writes a text and a binary output file', async () => {
  const result = await execute({
    runtime: 'python3.12',
    inputFiles,
    code: [
      'import os',
      '',
      'def handler(event):',
      '    text = open("input/data/in.txt", encoding="utf-8").read()',
      '    raw = open(os.path.join(os.environ["HKS_INPUT_DIR"], "raw.bin"), "rb").read()',
      '    os.makedirs("output/report", exist_ok=True)',
      '    with open("output/report/upper.txt", "w", encoding="utf-8") as f:',
      '        f.write(text.upper())',
      '    with open(os.path.join(os.environ["HKS_OUTPUT_DIR"], "reversed.bin"), "wb") as f:',
      '        f.write(raw[::-1])',
      '    return {"raw": list(raw), "event": event}',
      '',
    ].join('\n'),
    input: { n: 1 },
  });
  expect(result).toMatchObject({
    status: 'succeeded',
    result: { raw: [...BINARY], event: { n: 1 } },
    outputFiles: {
      'report/upper.txt': { text: 'HÉLLO\n' },
      'reversed.bin': { base64: Buffer.from([...BINARY].reverse()).toString('base64') },
    },
  });
  expect(Object.keys(result.outputFiles ?? {})).toHaveLength(2);
  expect(result.omittedFiles).toBeUndefined();
});

test('node: reads input files at input/, writes a text and a binary output file', async () => {
  const result = await execute({
    runtime: 'nodejs20',
    inputFiles,
    code: [
      "const fs = require('node:fs');",
      "const path = require('node:path');",
      'exports.handler = async () => {',
      "  const text = fs.readFileSync('input/data/in.txt', 'utf8');",
      "  const raw = fs.readFileSync(path.join(process.env.HKS_INPUT_DIR, 'raw.bin'));",
      "  fs.writeFileSync(path.join(process.env.HKS_OUTPUT_DIR, 'upper.txt'), text.toUpperCase());",
      "  fs.writeFileSync('output/reversed.bin', Buffer.from(raw).reverse());",
      '  return [...raw];',
      '};',
      '',
    ].join('\n'),
  });
  expect(result).toMatchObject({
    status: 'succeeded',
    result: [...BINARY],
    outputFiles: {
      'upper.txt': { text: 'HÉLLO\n' },
      'reversed.bin': { base64: Buffer.from([...BINARY].reverse()).toString('base64') },
    },
  });
});

test('unsafe input paths are refused naming the file, the value and what is expected', async () => {
  for (const path of ['../x', '/etc/passwd', '', 'a//b', 'a/./b', 'back\\slash']) {
    const body = await refused({
      runtime: 'python3.12',
      code: 'def handler(event):\n    return 1\n',
      inputFiles: { [path]: { text: 'x' } },
    });
    expect(body.errors).toEqual([
      {
        path: `inputFiles[${JSON.stringify(path)}]`,
        message: expect.stringMatching(/^given .*expected a relative path/),
      },
    ]);
  }
});

test('bad contents are refused: neither or both of text and base64, base64 that is not', async () => {
  const code = 'def handler(event):\n    return 1\n';
  const neither = await refused({ runtime: 'python3.12', code, inputFiles: { a: {} } });
  expect(neither.errors).toEqual([
    {
      path: 'inputFiles.a',
      message: 'given neither text nor base64, expected exactly one of them',
    },
  ]);
  const both = await refused({
    runtime: 'python3.12',
    code,
    inputFiles: { a: { text: 'x', base64: 'eA==' } },
  });
  expect(both.errors[0]).toMatchObject({
    path: 'inputFiles.a',
    message: expect.stringContaining('both'),
  });
  const notBase64 = await refused({
    runtime: 'python3.12',
    code,
    inputFiles: { a: { base64: '%%' } },
  });
  expect(notBase64.errors[0]).toMatchObject({
    path: 'inputFiles.a.base64',
    message: expect.stringContaining('expected base64'),
  });
});

test('input caps: over the total, over one file, too many files: 400 naming the field', async () => {
  const code = 'def handler(event):\n    return 1\n';
  const half = 'x'.repeat(FILE_LIMIT);
  const total = await refused({
    runtime: 'python3.12',
    code,
    inputFiles: { a: { text: half }, b: { text: half }, c: { text: 'y' } },
  });
  expect(total.errors).toEqual([
    {
      path: 'inputFiles',
      message: `given ${TOTAL_LIMIT + 1} bytes in 3 files, expected at most ${TOTAL_LIMIT} bytes in all (HKS_EXECUTE_FILES_LIMIT_BYTES)`,
    },
  ]);
  const one = await refused({
    runtime: 'python3.12',
    code,
    inputFiles: { big: { text: `${half}z` } },
  });
  expect(one.errors).toEqual([
    {
      path: 'inputFiles.big',
      message: `given ${FILE_LIMIT + 1} bytes, expected at most ${FILE_LIMIT} bytes per file (HKS_EXECUTE_FILE_LIMIT_BYTES)`,
    },
  ]);
  const many = await refused({
    runtime: 'python3.12',
    code,
    inputFiles: Object.fromEntries(['a', 'b', 'c', 'd'].map((p) => [p, { text: p }])),
  });
  expect(many.errors[0]).toMatchObject({
    path: 'inputFiles',
    message: expect.stringContaining('given 4 files'),
  });
});

test('output caps: files over one file’s cap, the total and the count are reported as omitted', async () => {
  const sizes = { 'a-big': FILE_LIMIT + 1, b: FILE_LIMIT, c: 4000, d: 100, e: 1, f: 1 };
  const result = await execute({
    runtime: 'python3.12',
    code: [
      'def handler(event):',
      `    for name, size in ${JSON.stringify(sizes)}.items():`,
      '        open("output/" + name + ".txt", "w").write("x" * size)',
      '    return 1',
      '',
    ].join('\n'),
  });
  expect(result.status).toBe('succeeded');
  // In path order: b and c take 8096 of the 8192 bytes, d does not fit, e does; f is a fourth.
  expect(Object.keys(result.outputFiles ?? {})).toEqual(['b.txt', 'c.txt', 'e.txt']);
  expect(result.omittedFiles).toEqual([
    { path: 'a-big.txt', bytes: FILE_LIMIT + 1, reason: 'file-limit' },
    { path: 'd.txt', bytes: 100, reason: 'total-limit' },
    { path: 'f.txt', bytes: 1, reason: 'count-limit' },
  ]);
});

test('a symlink in the output folder pointing outside is not followed (python and node)', async () => {
  const python = await execute({
    runtime: 'python3.12',
    code: [
      'import os',
      '',
      'def handler(event):',
      '    os.symlink("/etc/passwd", "output/passwd")',
      '    os.symlink("/etc", "output/etc")',
      '    open("output/kept.txt", "w").write("kept")',
      '    return 1',
      '',
    ].join('\n'),
  });
  const node = await execute({
    runtime: 'nodejs20',
    code: [
      "const fs = require('node:fs');",
      'exports.handler = () => {',
      "  fs.symlinkSync('/etc/passwd', 'output/passwd');",
      "  fs.symlinkSync('/etc', 'output/etc');",
      "  fs.writeFileSync('output/kept.txt', 'kept');",
      '  return 1;',
      '};',
      '',
    ].join('\n'),
  });
  for (const result of [python, node]) {
    expect(result.status).toBe('succeeded');
    expect(result.outputFiles).toEqual({ 'kept.txt': { text: 'kept' } });
    expect(result.omittedFiles).toEqual([
      { path: 'etc', reason: 'symlink' },
      { path: 'passwd', reason: 'symlink' },
    ]);
  }
});

test('no files: outputFiles is empty and the handler still gets its input', async () => {
  const result = await execute({
    runtime: 'nodejs20',
    code: 'exports.handler = (event) => event;\n',
    input: { plain: true },
  });
  expect(result).toMatchObject({ status: 'succeeded', result: { plain: true }, outputFiles: {} });
});

test('the OpenAPI document describes inputFiles, outputFiles and omittedFiles', async () => {
  const doc = JSON.stringify(await (await fetch(`${api.url}/openapi.json`)).json());
  for (const field of [
    '"inputFiles"',
    '"outputFiles"',
    '"omittedFiles"',
    'HKS_EXECUTE_FILES_LIMIT_BYTES',
  ]) {
    expect(doc).toContain(field);
  }
});
