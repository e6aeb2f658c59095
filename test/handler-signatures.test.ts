import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceChecker } from '../api/check-source';
import { MAX_HANDLER_MODULE_BYTES } from '../api/javascript-handler';
import { Problem } from '../api/problem';
import { startLocalFunction } from '../cli/local-function';
import {
  API_VERSION,
  checkDefinitions,
  FunctionDefinition,
  HANDLER_SIGNATURES,
  SourceRuntimeName,
} from '../constructs';
import { failedStart, startRuntime } from './support/runtime-process';

/**
 * The handler signatures each runtime accepts, judged twice for the same source: by the API's
 * source check before deploying (the module's source: Python's ast, acorn) and by the
 * bootstrap, as the real process it is, when it loads the handler. Where the source settles the
 * signature both give the same verdict; where it does not (a factory's result), the check
 * passes and the bootstrap refuses to start, naming the handler and the accepted signatures.
 */
jest.setTimeout(60_000);

const PYTHON_MODULE = `import functools


def one(event):
    return {"args": [event]}


def two(event, context):
    return {"args": [event, context.function_name]}


async def async_one(event):
    return {"args": [event], "async": True}


async def async_two(event, context):
    return {"args": [event, context.function_name], "async": True}


def defaulted(event, context=None):
    return {"args": [event, context.function_name]}


def more_defaults(event, context, retries=3):
    return {"args": [event, context.function_name], "retries": retries}


def star(*args):
    return {"args": [args[0], args[1].function_name]}


def event_star(event, *rest):
    return {"args": [event, rest[0].function_name]}


def keywords(event, **options):
    return {"args": [event], "options": options}


def keyword_default(event, *, strict=False):
    return {"args": [event], "strict": strict}


lam = lambda event: {"args": [event]}


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


@logged
def wrapped(event):
    return {"args": [event], "wrapped": True}


class Counter:
    def count(self, event):
        return {"args": [event], "method": True}

    def __call__(self, event, context):
        return {"args": [event, context.function_name], "instance": True}


bound = Counter().count
instance = Counter()


def none():
    return "never"


def three(event, context, extra):
    return "never"


def keyword_only(event, *, strict):
    return "never"


def only_keywords(**options):
    return "never"


def make():
    def made(event, context, extra):
        return "never"

    return made


made = make()
`;

const NODE_MODULE = `'use strict';
exports.one = (event) => ({ args: [event] });
exports.two = (event, context) => ({ args: [event, context.functionName] });
exports.async_one = async (event) => ({ args: [event], async: true });
exports.async_two = async function (event, context) {
  return { args: [event, context.functionName], async: true };
};
exports.none = () => ({ args: [] });
exports.defaulted = (event, context = {}) => ({ args: [event, context.functionName] });
exports.rest = (...args) => ({ args: [args[0], args[1].functionName] });
function named(event) {
  return { args: [event], named: true };
}
exports.named = named;
module.exports.member = { answer: (event) => event }.answer;

exports.callback = (event, context, callback) => callback(null, 'never');
function three(event, context, extra) {
  return 'never';
}
exports.three = three;
const make = () => (event, context, callback) => callback(null, 'never');
module.exports.made = make();
`;

/** What a handler does: answers this body to the event 7, or is refused for this reason. */
type Expected = { answers: unknown } | { refused: string; atDeploy: boolean };

const CASES: Record<SourceRuntimeName, [string, Expected][]> = {
  'python3.12': [
    ['one', { answers: { args: [7] } }],
    ['two', { answers: { args: [7, 'fn'] } }],
    ['async_one', { answers: { args: [7], async: true } }],
    ['async_two', { answers: { args: [7, 'fn'], async: true } }],
    ['defaulted', { answers: { args: [7, 'fn'] } }],
    ['more_defaults', { answers: { args: [7, 'fn'], retries: 3 } }],
    ['star', { answers: { args: [7, 'fn'] } }],
    ['event_star', { answers: { args: [7, 'fn'] } }],
    ['keywords', { answers: { args: [7], options: {} } }],
    ['keyword_default', { answers: { args: [7], strict: false } }],
    ['lam', { answers: { args: [7] } }],
    ['wrapped', { answers: { args: [7], wrapped: true } }],
    ['bound', { answers: { args: [7], method: true } }],
    ['instance', { answers: { args: [7, 'fn'], instance: true } }],
    ['none', { refused: 'is defined as (): no positional parameter', atDeploy: true }],
    [
      'three',
      {
        refused: 'is defined as (event, context, extra): 3 positional parameters without a default',
        atDeploy: true,
      },
    ],
    [
      'keyword_only',
      {
        refused: 'is defined as (event, *, strict): keyword-only strict without a default',
        atDeploy: true,
      },
    ],
    [
      'only_keywords',
      { refused: 'is defined as (**options): no positional parameter', atDeploy: true },
    ],
    [
      'made',
      {
        refused: 'is defined as (event, context, extra): 3 positional parameters without a default',
        atDeploy: false,
      },
    ],
  ],
  nodejs20: [
    ['one', { answers: { args: [7] } }],
    ['two', { answers: { args: [7, 'fn'] } }],
    ['async_one', { answers: { args: [7], async: true } }],
    ['async_two', { answers: { args: [7, 'fn'], async: true } }],
    ['none', { answers: { args: [] } }],
    ['defaulted', { answers: { args: [7, 'fn'] } }],
    ['rest', { answers: { args: [7, 'fn'] } }],
    ['named', { answers: { args: [7], named: true } }],
    ['member', { answers: 7 }],
    ['callback', { refused: '3 parameters before any default', atDeploy: true }],
    ['three', { refused: '3 parameters before any default', atDeploy: true }],
    ['made', { refused: '3 parameters before any default', atDeploy: false }],
  ],
};

const MODULES = {
  'python3.12': { file: 'main.py', code: PYTHON_MODULE, module: 'main' },
  nodejs20: { file: 'index.js', code: NODE_MODULE, module: 'index' },
} as const;

function definitionOf(
  runtime: SourceRuntimeName,
  handler: string,
  files: Record<string, string>,
): FunctionDefinition {
  const document = {
    apiVersion: API_VERSION,
    kind: 'Function',
    metadata: { name: 'fn', project: 'sigcheck' },
    spec: { runtime, handler, files },
  };
  return checkDefinitions([{ document, source: { file: 'test', document: 1 } }])[0]
    .definition as FunctionDefinition;
}

/** The API's verdict on a definition: undefined when it passes, else its problem. */
async function deployVerdict(definition: FunctionDefinition): Promise<Problem | undefined> {
  return checker.check(definition).then(
    () => undefined,
    (error: unknown) => {
      if (error instanceof Problem) return error;
      throw error;
    },
  );
}

const checker = new SourceChecker(process.env.HKS_PYTHON ?? 'python3');
const folders: string[] = [];
afterAll(() => {
  checker.close();
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

describe.each(Object.keys(CASES) as SourceRuntimeName[])('%s', (runtime) => {
  const { file, code, module } = MODULES[runtime];
  const dir = mkdtempSync(join(tmpdir(), 'hks-signatures-'));
  folders.push(dir);
  writeFileSync(join(dir, file), code);

  test.each(CASES[runtime])('%s', async (name, expected) => {
    const handler = `${module}.${name}`;
    const verdict = await deployVerdict(definitionOf(runtime, handler, { [file]: code }));
    if ('answers' in expected || !expected.atDeploy) {
      expect(verdict).toBeUndefined();
    } else {
      expect(verdict?.status).toBe(400);
      expect(verdict?.errors).toEqual([
        {
          path: `spec.files.${file}`,
          message: expect.stringContaining(`handler "${handler}" `),
          line: expect.any(Number),
        },
      ]);
      const message = verdict?.errors?.[0].message ?? '';
      expect(message).toContain(expected.refused);
      expect(message).toContain(`; expected ${HANDLER_SIGNATURES[runtime]} (${file} line `);
      const line = code.split('\n')[(verdict?.errors?.[0].line ?? 0) - 1];
      expect(line).toMatch(new RegExp(`\\b${name}\\b`));
    }

    if ('answers' in expected) {
      const running = await startRuntime(runtime, {
        HKS_FUNCTION_DIR: dir,
        HKS_HANDLER: handler,
        HKS_FUNCTION_NAME: 'fn',
      });
      try {
        const response = await fetch(running.url, { method: 'POST', body: '7' });
        expect([response.status, await response.json()]).toEqual([200, expected.answers]);
      } finally {
        await running.stop();
      }
    } else {
      const refused = await failedStart(runtime, { HKS_FUNCTION_DIR: dir, HKS_HANDLER: handler });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`hks: cannot start: handler "${handler}" `);
      expect(refused.stderr).toContain(expected.refused);
      expect(refused.stderr).toContain(`; expected ${HANDLER_SIGNATURES[runtime]}\n`);
      // Python's load-time message is the deploy-time one, without the file and line.
      if (runtime === 'python3.12' && verdict) {
        const [, loaded] = /hks: cannot start: (.*)\n/.exec(refused.stderr) ?? [];
        expect(verdict.errors?.[0].message).toBe(
          `${loaded} (${file} line ${verdict.errors?.[0].line})`,
        );
      }
    }
  });
});

test.each([
  ['python3.12', 'main.py', 'def handler(event):\n    return {"got": event}\n'],
  ['nodejs20', 'index.js', 'exports.handler = async (event) => ({ got: event });\n'],
] as const)('%s: run-local runs a one-parameter handler', async (runtime, file, code) => {
  const started = startLocalFunction(
    definitionOf(runtime, `${file.split('.')[0]}.handler`, { [file]: code }),
    { port: '0' },
    'pipe',
  );
  if (typeof started === 'string') throw new Error(started);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`no listening line: ${text}`)), 10_000);
      started.child.stdout?.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const line = text.split('\n').find((l) => l.includes('"listening"'));
        if (!line) return;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      });
    });
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      body: JSON.stringify({ a: 1 }),
    });
    expect([response.status, await response.json()]).toEqual([200, { got: { a: 1 } }]);
  } finally {
    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
  }
});

test.each([
  ['python3.12', 'main.py', 'def handler(event, context, extra):\n    return 1\n', '# '],
  ['nodejs20', 'index.js', 'exports.handler = (event, context, callback) => 1;\n', '// '],
] as const)(
  '%s: a handler module over 64 KiB passes the check and is refused at load',
  async (runtime, file, code, comment) => {
    const big = `${`${comment}${'x'.repeat(77)}\n`.repeat(Math.ceil(MAX_HANDLER_MODULE_BYTES / 80))}${code}`;
    const handler = `${file.split('.')[0]}.handler`;
    expect(await deployVerdict(definitionOf(runtime, handler, { [file]: big }))).toBeUndefined();
    expect(await deployVerdict(definitionOf(runtime, handler, { [file]: code }))).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'hks-signatures-'));
    folders.push(dir);
    writeFileSync(join(dir, file), big);
    const refused = await failedStart(runtime, { HKS_FUNCTION_DIR: dir, HKS_HANDLER: handler });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`; expected ${HANDLER_SIGNATURES[runtime]}`);
  },
);
