import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { kubeconfigPath } from '../cluster/kubeconfig';

const ROOT = join(__dirname, '..', '..');

/** The JWT secret the test API processes use. */
export const TEST_JWT_SECRET = 'test-secret-of-at-least-thirty-two-bytes!';

/** A signed HS256 token for the given projects. */
export async function token(
  projects: string[],
  secret = TEST_JWT_SECRET,
  expiresIn = '10m',
): Promise<string> {
  return new SignJWT({ projects })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('test')
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

/**
 * A signed HS256 internal token (audience `hks-internal`) for the given projects; the API
 * accepts internal tokens that expire at most 10 minutes after they were issued.
 */
export async function internalToken(
  projects: string[],
  expiresIn = '5m',
  secret = TEST_JWT_SECRET,
): Promise<string> {
  return new SignJWT({ projects })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('test-internal')
    .setAudience('hks-internal')
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** A running API process. */
export interface ApiProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** A store the API suites run against; `env()` makes a fresh, empty one. */
export interface TestStore {
  readonly name: string;
  env(): Promise<Record<string, string>>;
}

/** SQLite always; PostgreSQL too when HKS_TEST_DATABASE_URL is set (required in CI). */
export function testStores(): TestStore[] {
  const stores: TestStore[] = [
    {
      name: 'sqlite',
      env: async () => ({
        HKS_SQLITE_PATH: join(mkdtempSync(join(tmpdir(), 'hks-api-')), 'api.sqlite'),
      }),
    },
  ];
  const pg = process.env.HKS_TEST_DATABASE_URL;
  if (pg)
    stores.push({
      name: 'postgres',
      env: async () => ({ HKS_DATABASE_URL: await freshDatabase(pg) }),
    });
  else if (process.env.CI)
    throw new Error(
      'HKS_TEST_DATABASE_URL must be set in CI so the API suites also run against PostgreSQL',
    );
  return stores;
}

/** Creates an empty database next to the one in `url` and returns its URL. */
async function freshDatabase(url: string): Promise<string> {
  const name = `hks_test_${randomBytes(4).toString('hex')}`;
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const fresh = new URL(url);
  fresh.pathname = `/${name}`;
  return fresh.toString();
}

/** API processes still running; none may outlive the test process that started them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `api/main.ts` as a real process against the test cluster and waits for /healthz.
 * @param env extra environment (store, prefix...)
 */
export async function startApi(env: Record<string, string> = {}): Promise<ApiProcess> {
  const port = await freePort();
  // One process (node with tsx's loader), not the tsx wrapper: SIGKILL must hit the API itself.
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'api', 'main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      KUBECONFIG: kubeconfigPath(),
      PORT: String(port),
      HKS_JWT_SECRET: TEST_JWT_SECRET,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the API exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the API did not start within 30 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    output: () => output,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill(signal);
      }),
  };
}

/** A response of the API, parsed. */
export interface ApiResponse {
  readonly status: number;
  readonly type: string;
  readonly json: Record<string, unknown>;
  readonly text: string;
}

/** Calls `/api/v1/projects/{project}{path}` with the given headers; JSON bodies are parsed. */
export async function projectRequest(
  api: ApiProcess,
  project: string,
  headers: Record<string, string>,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiResponse> {
  const res = await fetch(`${api.url}/api/v1/projects/${project}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', json, text };
}
