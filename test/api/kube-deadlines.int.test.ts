import { randomBytes } from 'node:crypto';
import { API_VERSION } from '../../constructs';
import { clusterConfig } from '../cluster/config';
import { processFiles, runningPid } from '../cluster/processes';
import { waitFor } from '../cluster/wait';
import { ApiProcess, projectRequest, startApi, testStores, token } from './api-process';

jest.setTimeout(120_000);

/**
 * With the test cluster's kube-apiserver frozen for real (SIGSTOP, a few seconds, always
 * resumed): `/readyz` answers 503 problem+json within 2 s, routes touching Kubernetes answer
 * 503 at HKS_KUBE_TIMEOUT_SECONDS (every route through the one pooled client), and a
 * write whose client gave up is abandoned: it is not stored after a later one.
 */
const prefix = `k${randomBytes(2).toString('hex')}-`;
const project = 'frozen';
let quick: ApiProcess;
let patient: ApiProcess;
let headers: Record<string, string>;

const apiserverPid = (): number => {
  const pid = runningPid(processFiles(clusterConfig().stateDir, 'kube-apiserver').pidFile);
  if (pid === undefined) throw new Error('the test cluster has no running kube-apiserver');
  return pid;
};
let frozen: number | undefined;
const resume = () => {
  if (frozen !== undefined) process.kill(frozen, 'SIGCONT');
  frozen = undefined;
};
process.once('exit', resume);

const stateless = (env: Record<string, string>) => ({
  apiVersion: API_VERSION,
  kind: 'StatelessApplication',
  metadata: { name: 'web', project },
  spec: { image: 'nginx:1.27', port: 80, env },
});
const cronJob = {
  apiVersion: API_VERSION,
  kind: 'CronJob',
  metadata: { name: 'nightly', project },
  spec: { image: 'ghcr.io/acme/job:1', schedule: '0 0 1 1 *' },
};

beforeAll(async () => {
  const env = {
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
    HKS_JANITOR_INTERVAL_SECONDS: '0',
  };
  [quick, patient] = await Promise.all([
    startApi({ ...(await testStores()[0].env()), ...env, HKS_KUBE_TIMEOUT_SECONDS: '3' }),
    // Its deadline outlasts the freeze: only the client's leaving can stop its write.
    startApi({ ...(await testStores()[0].env()), ...env, HKS_KUBE_TIMEOUT_SECONDS: '60' }),
  ]);
  headers = {
    authorization: `Bearer ${await token([project])}`,
    'content-type': 'application/json',
  };
  for (const api of [quick, patient]) {
    expect(
      (
        await projectRequest(
          api,
          project,
          headers,
          'PUT',
          '/applications/web',
          stateless({ V: '1' }),
        )
      ).status,
    ).toBe(200);
  }
  expect(
    (await projectRequest(quick, project, headers, 'PUT', '/applications/nightly', cronJob)).status,
  ).toBe(200);
}, 120_000);

afterAll(async () => {
  resume();
  await quick?.stop();
  await patient?.stop();
});

const timed = async <T>(work: () => Promise<T>) => {
  const started = performance.now();
  const result = await work();
  return { result, seconds: (performance.now() - started) / 1000 };
};

test('a frozen API server: 503s in bounded time, and an abandoned write is not stored', async () => {
  frozen = apiserverPid();
  process.kill(frozen, 'SIGSTOP');
  // Whatever happens, the shared cluster runs again within 15 s.
  const guard = setTimeout(resume, 15_000);
  try {
    const [ready, functions, cron, abandoned] = await Promise.all([
      timed(async () => {
        const res = await fetch(`${quick.url}/readyz`);
        return {
          status: res.status,
          type: res.headers.get('content-type'),
          json: (await res.json()) as Record<string, unknown>,
        };
      }),
      // A route of the pooled client (Knative Services) ...
      timed(() => projectRequest(quick, project, headers, 'GET', '/functions')),
      // ... and another (the live CronJob).
      timed(() => projectRequest(quick, project, headers, 'GET', '/cronjobs/nightly')),
      // A client that gives up after 2 s on a write.
      timed(() =>
        fetch(`${patient.url}/api/v1/projects/${project}/applications/web`, {
          method: 'PUT',
          headers,
          body: JSON.stringify(stateless({ V: 'abandoned' })),
          signal: AbortSignal.timeout(2000),
        }).then(
          (res) => `answered ${res.status}`,
          (error: Error) => error.name,
        ),
      ),
    ]);
    process.stdout.write(
      `frozen API server: /readyz ${ready.seconds.toFixed(2)} s, GET functions ${functions.seconds.toFixed(2)} s, GET cronjob ${cron.seconds.toFixed(2)} s\n`,
    );
    expect(ready.result.status).toBe(503);
    expect(ready.result.type).toMatch(/^application\/problem\+json/);
    expect(ready.result.json).toMatchObject({
      status: 503,
      store: 'ok',
      cluster: expect.stringMatching(/did not answer within 1.5 s/),
    });
    expect(ready.seconds).toBeLessThan(2.5);
    for (const route of [functions, cron]) {
      expect(route.result.status).toBe(503);
      expect(route.result.type).toMatch(/^application\/problem\+json/);
      expect(String(route.result.json.detail)).toMatch(
        /the API server did not answer within 3 s \(HKS_KUBE_TIMEOUT_SECONDS\)$/,
      );
      expect(route.seconds).toBeLessThan(6);
    }
    expect(abandoned.result).toBe('TimeoutError');
    // Give the patient API a moment to see its client gone while the server is still frozen.
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    clearTimeout(guard);
    resume();
  }
  await waitFor(
    'the API server answers again',
    30_000,
    async () => (await fetch(`${quick.url}/readyz`)).status === 200,
  );
  const later = await projectRequest(
    patient,
    project,
    headers,
    'PUT',
    '/applications/web',
    stateless({ V: 'later' }),
  );
  expect(later.status).toBe(200);
  // Had the abandoned write gone on after the freeze, it would be a third version.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const stored = await projectRequest(patient, project, headers, 'GET', '/applications/web');
  expect(stored.json).toMatchObject({ version: 2, definition: { spec: { env: { V: 'later' } } } });
});
