import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { testApiKubeconfig } from '../support/api-identity';
import { type ScriptProcess, startScript } from '../support/script-process';
import { type ApiProcess, startApi, TEST_JWT_SECRET, testStores, token } from './api-process';

/**
 * The real API process logs pino JSON lines with a level, one access line per request with
 * the request id it echoed, never the token; HKS_LOG_LEVEL=warn drops the info lines.
 */

const PROJECT = 'log-lines';

function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{') && line.endsWith('}'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the API process', () => {
  let api: ApiProcess;
  beforeAll(async () => {
    api = await startApi();
  }, 90_000);
  afterAll(() => api?.stop());

  it('logs JSON lines with a level and an access line with the request id it echoed', async () => {
    const bearer = await token([PROJECT]);
    const res = await fetch(`${api.url}/api/v1/projects/${PROJECT}/applications`, {
      headers: { authorization: `Bearer ${bearer}`, 'x-request-id': 'logging-int-check-1' },
    });
    expect(res.headers.get('x-request-id')).toBe('logging-int-check-1');
    await res.text();
    let access: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !access; i++) {
      access = jsonLines(api.output()).find((l) => l.reqId === 'logging-int-check-1');
      if (!access) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(access).toMatchObject({
      level: 'info',
      component: 'http',
      msg: 'request',
      method: 'GET',
      route: '/api/v1/projects/:project/applications',
      status: res.status,
      project: PROJECT,
      subject: 'test',
    });
    expect(access?.durationMs).toEqual(expect.any(Number));
    const lines = jsonLines(api.output());
    expect(lines.find((l) => l.msg === 'listening')).toMatchObject({
      level: 'info',
      component: 'api',
      port: Number(new URL(api.url).port),
    });
    // Every JSON line is one of pino's, with a level name.
    for (const line of lines) expect(typeof line.level).toBe('string');
    expect(api.output()).not.toContain(bearer.split('.')[2]);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('HKS_LOG_LEVEL=warn', () => {
  let api: ScriptProcess;
  let url: string;
  beforeAll(async () => {
    // startApi waits for the info-level listening line, which this level drops: wait for
    // /healthz on a port chosen here instead.
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    api = await startScript(
      'the API at warn',
      'api/main.ts',
      [],
      {
        KUBECONFIG: await testApiKubeconfig(),
        PORT: String(port),
        HKS_JWT_SECRET: TEST_JWT_SECRET,
        HKS_LOG_LEVEL: 'warn',
        ...(await testStores()[0].env()),
      },
      async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true,
    );
  }, 90_000);
  afterAll(() => api?.stop());

  it('drops the info lines: no listening line, no access line', async () => {
    const res = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'logging-int-warn' } });
    expect(res.headers.get('x-request-id')).toBe('logging-int-warn');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const lines = jsonLines(api.output());
    expect(lines.filter((l) => l.level === 'info' || l.level === 'debug')).toEqual([]);
    expect(api.output()).not.toContain('logging-int-warn');
  });
});
