/**
 * `npm run bench:start -- [--runs 5]` — how long the commands take to start compiled (lib/,
 * plain node) and through tsx (the TypeScript sources, its cache warm), alternating, median of
 * `--runs` each:
 *
 * - the API: spawn to the first `GET /readyz` 200, SQLite (a fresh file each run), against the
 *   cluster of `KUBECONFIG` as the test API ServiceAccount (test/support/api-identity.ts); and
 *   where its time goes: node itself, loading its modules, to `listening`, to ready;
 * - `hks-func --help`: spawn to exit;
 * - `hks-func mcp`: spawn to the answer of an MCP `initialize` on stdin.
 *
 * Runs `npm run build`'s compile first (incremental). Goal: the compiled API ready in under
 * 1.5 s. Prints figures only.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { testApiKubeconfig } from '../test/support/api-identity';

const ROOT = join(__dirname, '..');
const LIB = join(ROOT, 'lib');
const GOAL_MS = 1500;
const SECRET = 'a-bench-secret-of-at-least-thirty-two-bytes';

/** How one command is started, compiled and through tsx. */
interface Variant {
  readonly label: string;
  readonly args: readonly string[];
}

function variants(compiled: string, source: string): readonly [Variant, Variant] {
  return [
    { label: 'compiled', args: [join(LIB, compiled)] },
    { label: 'tsx', args: ['--import', 'tsx', join(ROOT, source)] },
  ];
}

/** Milliseconds since `start` (performance.now()). */
const since = (start: number): number => performance.now() - start;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Runs node with `args` to its end; its wall time, or a failure with its output. */
function runToExit(args: readonly string[], env: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) =>
      code === 0
        ? resolve(since(start))
        : reject(new Error(`node ${args.join(' ')} exited with ${code}: ${stderr}`)),
    );
  });
}

interface ApiStart {
  /** Spawn to the `listening` log line. */
  readonly listeningMs: number;
  /** Spawn to the first `GET /readyz` 200. */
  readonly readyMs: number;
}

/** Starts the API, polls /readyz every 5 ms until 200, stops it. */
async function apiStart(args: readonly string[], kubeconfig: string): Promise<ApiStart> {
  const store = join(mkdtempSync(join(tmpdir(), 'hks-bench-start-')), 'api.sqlite');
  const start = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      PORT: '0',
      HKS_JWT_SECRET: SECRET,
      HKS_SQLITE_PATH: store,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let listeningMs: number | undefined;
  let port: number | undefined;
  const read = (chunk: Buffer) => {
    output += chunk.toString();
    if (port !== undefined) return;
    // The `listening` log line: JSON, its fields in any order.
    const line = output.split('\n').find((l) => l.includes('"msg":"listening"') && l.endsWith('}'));
    const found = line === undefined ? undefined : (JSON.parse(line) as { port?: unknown }).port;
    if (typeof found === 'number') {
      listeningMs = since(start);
      port = found;
    }
  };
  child.stdout.on('data', read);
  child.stderr.on('data', read);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the API exited: ${output}`);
      if (since(start) > 60_000) throw new Error(`the API was not ready in 60 s: ${output}`);
      if (port !== undefined) {
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        if (ready?.status === 200) return { listeningMs: listeningMs ?? 0, readyMs: since(start) };
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/** Spawn of `hks-func mcp` to the answer of `initialize`. */
async function mcpInitialize(args: readonly string[], internalToken: string): Promise<number> {
  const start = performance.now();
  const child = spawn(process.execPath, [...args, 'mcp'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HKS_API_URL: 'http://127.0.0.1:9',
      HKS_TOKEN: internalToken,
      HKS_CONFIG: join(tmpdir(), 'hks-bench-start-no-config.json'),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin.write(
    `${JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'bench-start', version: '1' },
      },
    })}\n`,
  );
  let output = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('exit', (code) =>
        reject(new Error(`hks-func mcp exited with ${code}: ${stderr}`)),
      );
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (/"id":1,"result"|"result":.*"id":1/.test(output)) resolve(since(start));
      });
    });
  } finally {
    child.stdin.end();
    child.kill('SIGTERM');
    await exited;
  }
}

/**
 * Runs `measure` for both variants `runs` times, alternating which goes first, and returns the
 * figures of each variant.
 */
async function alternate<T>(
  pair: readonly [Variant, Variant],
  runs: number,
  measure: (variant: Variant) => Promise<T>,
): Promise<[T[], T[]]> {
  const results: [T[], T[]] = [[], []];
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? [0, 1] : [1, 0];
    for (const which of order) results[which].push(await measure(pair[which]));
  }
  return results;
}

const ms = (value: number): string => `${Math.round(value)} ms`;

function line(label: string, compiled: readonly number[], tsx: readonly number[]): string {
  const [c, t] = [median(compiled), median(tsx)];
  const range = (values: readonly number[]) =>
    `${Math.round(Math.min(...values))}-${Math.round(Math.max(...values))}`;
  return (
    `${label.padEnd(24)} compiled ${ms(c).padStart(8)} (${range(compiled)})   ` +
    `tsx ${ms(t).padStart(8)} (${range(tsx)})   tsx/compiled ${(t / c).toFixed(2)}x`
  );
}

/** Time of requiring `modules` in a fresh node, as printed by that node. */
function loadTime(modules: readonly string[]): Promise<number> {
  const code = `const t = performance.now(); for (const m of ${JSON.stringify(modules)}) require(m); process.stdout.write(String(performance.now() - t));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('close', (status) =>
      status === 0
        ? resolve(Number(out))
        : reject(new Error(`loading ${modules.join(' ')} failed`)),
    );
  });
}

async function main(): Promise<void> {
  const runsFlag = process.argv.indexOf('--runs');
  const runs = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 5;
  if (!Number.isInteger(runs) || runs < 1) {
    throw new Error(`--runs: given ${process.argv[runsFlag + 1]}, expected a whole number >= 1`);
  }
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const built = await runToExit([tsc, '-p', join(ROOT, 'tsconfig.build.json')]);
  process.stdout.write(`build (tsc -p tsconfig.build.json, incremental): ${ms(built)}\n`);
  const kubeconfig = await testApiKubeconfig();
  const internalToken = await new SignJWT({ projects: ['bench'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('bench')
    .setAudience('hks-internal')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(SECRET));

  const api = variants('api/main.js', 'api/main.ts');
  const [apiCompiled, apiTsx] = await alternate(api, runs, (v) => apiStart(v.args, kubeconfig));
  const cli = variants('cli/hks-func/main.js', 'cli/hks-func/main.ts');
  const [helpCompiled, helpTsx] = await alternate(cli, runs, (v) =>
    runToExit([...v.args, '--help']),
  );
  const [mcpCompiled, mcpTsx] = await alternate(cli, runs, (v) =>
    mcpInitialize(v.args, internalToken),
  );
  const [nodeAlone, clientNode, apiModules] = [
    median(await Promise.all([runToExit(['-e', '0']), runToExit(['-e', '0'])])),
    await loadTime(['@kubernetes/client-node']),
    await loadTime([join(LIB, 'api', 'server.js'), join(LIB, 'api', 'store', 'store.js')]),
  ];

  const ready = apiCompiled.map((s) => s.readyMs);
  process.stdout.write(
    [
      `median of ${runs}, alternating; tsx with its cache warm (its first run fills it)`,
      line(
        'API spawn to /readyz',
        ready,
        apiTsx.map((s) => s.readyMs),
      ),
      line(
        'API spawn to listening',
        apiCompiled.map((s) => s.listeningMs),
        apiTsx.map((s) => s.listeningMs),
      ),
      line('hks-func --help', helpCompiled, helpTsx),
      line('hks-func mcp initialize', mcpCompiled, mcpTsx),
      `compiled API, where the time goes: node itself ${ms(nodeAlone)} (spawn to exit of node -e 0); ` +
        `loading lib/api/server.js and the store ${ms(apiModules)}, of which @kubernetes/client-node ` +
        `${ms(clientNode)} alone; listening to ready ${ms(median(apiCompiled.map((s) => s.readyMs - s.listeningMs)))}`,
      `goal: the compiled API ready in under ${ms(GOAL_MS)}: ${median(ready) < GOAL_MS ? 'met' : 'not met'} (${ms(median(ready))})`,
    ].join('\n') + '\n',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:start: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
