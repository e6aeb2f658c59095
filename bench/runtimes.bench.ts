/**
 * `npm run bench:runtimes` — cold start of each function bootstrap (spawn to the first
 * successful invocation) next to a bare hello-world HTTP server in the same language, in the
 * same run, alternating, median of 20 each. Both serve the same hello-world answer (the
 * bootstrap through the hello handlers of test/fixtures/functions). Goal: at most 1.3x the bare server.
 *
 * Options: `--runs <n>` (default 20).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const GOAL = 1.3;

const BARE_PYTHON = `
import os
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'"hello"'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
HTTPServer(("", int(os.environ["PORT"])), H).serve_forever()
`;

const BARE_NODE = `
require('node:http')
  .createServer((req, res) => { req.resume(); req.on('end', () => res.end('"hello"')); })
  .listen(Number(process.env.PORT));
`;

interface Subject {
  readonly label: string;
  readonly program: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

const SUBJECTS: readonly (readonly [Subject, Subject])[] = [
  [
    { label: 'python bare http.server', program: 'python3', args: ['-c', BARE_PYTHON], env: {} },
    {
      label: 'python3.12 bootstrap',
      program: 'python3',
      args: [join(ROOT, 'runtimes', 'python', 'bootstrap.py')],
      env: {
        HKS_FUNCTION_DIR: join(ROOT, 'test', 'fixtures', 'functions', 'python'),
        HKS_HANDLER: 'hello.handler',
        PYTHONDONTWRITEBYTECODE: '1',
      },
    },
  ],
  [
    { label: 'node bare http', program: 'node', args: ['-e', BARE_NODE], env: {} },
    {
      label: 'nodejs20 bootstrap',
      program: 'node',
      args: [join(ROOT, 'runtimes', 'node', 'bootstrap.js')],
      env: {
        HKS_FUNCTION_DIR: join(ROOT, 'test', 'fixtures', 'functions', 'node'),
        HKS_HANDLER: 'hello.handler',
      },
    },
  ],
];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Milliseconds from spawn to the first 200 answer to a POST. */
async function coldStart(subject: Subject): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(subject.program, [...subject.args], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), ...subject.env },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    for (;;) {
      if (performance.now() - started > 10_000)
        throw new Error(`${subject.label}: no answer in 10 s`);
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`, {
          method: 'POST',
          body: '{"n":1}',
          headers: { Connection: 'close' },
        });
        await response.arrayBuffer();
        if (response.status === 200) return performance.now() - started;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main(): Promise<number> {
  const runsIndex = process.argv.indexOf('--runs');
  const runs = runsIndex > 0 ? Number(process.argv[runsIndex + 1]) : 20;
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write(
      `--runs: given ${process.argv[runsIndex + 1]}, expected a whole number >= 1\n`,
    );
    return 2;
  }
  let failed = false;
  for (const [bare, bootstrap] of SUBJECTS) {
    const times = { bare: [] as number[], bootstrap: [] as number[] };
    await coldStart(bare); // warm the file cache
    await coldStart(bootstrap);
    for (let i = 0; i < runs; i++) {
      times.bare.push(await coldStart(bare));
      times.bootstrap.push(await coldStart(bootstrap));
    }
    const ratio = median(times.bootstrap) / median(times.bare);
    const ok = ratio <= GOAL;
    failed ||= !ok;
    process.stdout.write(
      `${bare.label.padEnd(26)} median ${median(times.bare).toFixed(1).padStart(6)} ms\n` +
        `${bootstrap.label.padEnd(26)} median ${median(times.bootstrap).toFixed(1).padStart(6)} ms  ` +
        `${ratio.toFixed(2)}x (goal <= ${GOAL}x: ${ok ? 'met' : 'NOT met'})\n`,
    );
  }
  process.stdout.write(
    `cold start = spawn to first successful POST, median of ${runs} runs each\n`,
  );
  return failed ? 1 : 0;
}

void main().then((code) => (process.exitCode = code));
