import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { testApiKubeconfig } from '../support/api-identity';
import { startScript } from '../support/script-process';

/** The JWT secret the test API processes use. */
export const TEST_JWT_SECRET = 'test-secret-of-at-least-thirty-two-bytes!';

/** The bearer token the test API processes require on /metrics. */
export const TEST_METRICS_TOKEN = 'test-metrics-token-0123456789';

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

/** How {@link startApi} runs the API. */
export interface StartApiOptions {
  /**
   * Run the package's build, `lib/api/main.js` under plain node (`npm run build` first),
   * instead of the TypeScript sources through tsx.
   * @default false
   */
  readonly compiled?: boolean;
}

/**
 * Starts `api/main.ts` as a real process against the test cluster and waits for /healthz. It
 * runs as the test API ServiceAccount, with the access the stack gives the API and no more.
 * @param env extra environment (store, prefix...; `KUBECONFIG` for another identity)
 */
export async function startApi(
  env: Record<string, string> = {},
  options: StartApiOptions = {},
): Promise<ApiProcess> {
  const kubeconfig = env.KUBECONFIG ?? (await testApiKubeconfig());
  // PORT=0: the API binds a free port itself and names it, so no other process can take it
  // between choosing and binding.
  let url = '';
  const api = await startScript(
    options.compiled ? 'the compiled API' : 'the API',
    options.compiled ? 'lib/api/main.js' : 'api/main.ts',
    [],
    {
      KUBECONFIG: kubeconfig,
      PORT: '0',
      HKS_JWT_SECRET: TEST_JWT_SECRET,
      HKS_METRICS_TOKEN: TEST_METRICS_TOKEN,
      // The Knative stand-in serves every function on 127.0.0.1:<port>.
      HKS_DEV_FUNCTION_HOSTS: '127.0.0.1',
      // A store of its own unless one is given: processes sharing the default file collide.
      ...(env.HKS_SQLITE_PATH || env.HKS_DATABASE_URL ? {} : await testStores()[0].env()),
      ...env,
    },
    async (output) => {
      const port = listeningPort(output);
      if (port === undefined) return false;
      url = `http://127.0.0.1:${port}`;
      return (await fetch(`${url}/healthz`)).ok;
    },
    options.compiled ? [] : undefined,
  );
  return { url, child: api.child, output: api.output, stop: (signal) => api.stop(signal) };
}

/** The port of the API's `listening` line (a JSON line; its fields in any order), once written. */
function listeningPort(output: string): number | undefined {
  const line = output.split('\n').find((l) => l.includes('"msg":"listening"') && l.endsWith('}'));
  if (line === undefined) return undefined;
  const { port } = JSON.parse(line) as { port?: unknown };
  return typeof port === 'number' ? port : undefined;
}

/** The API's /metrics text, fetched with {@link TEST_METRICS_TOKEN}. */
export async function metricsText(api: ApiProcess): Promise<string> {
  const res = await fetch(`${api.url}/metrics`, {
    headers: { authorization: `Bearer ${TEST_METRICS_TOKEN}` },
  });
  if (!res.ok) throw new Error(`GET /metrics: ${res.status} ${await res.text()}`);
  return res.text();
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
