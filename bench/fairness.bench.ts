/**
 * `npm run bench:fairness` — how much two tenants sending big definitions slow a third
 * client down. The third client sends `GET /healthz` back to back (one at a time) while two
 * others each send `POST /applications?dryRun=true` (validation and synthesis, nothing
 * applied) of a ~1.4 MB definition, then of one just under the definition limit; first with
 * the limit lifted (HKS_DEFINITION_LIMIT_BYTES=16 MiB: the API before the cap), then with the
 * default 1 MiB. Prints the third client's requests/s and its p99 latency, and the tenants'
 * statuses and times per request. Each phase runs with the definitions checked and synthesized
 * on the request loop (HKS_DEFINITION_WORKERS=0: the API before the workers) and on the default
 * 2 worker threads; so does the p50 of one small definition's dry run and apply, alone.
 *
 * Runs against the cluster of KUBECONFIG (the test cluster: `npm run cluster:up`).
 */
import { randomBytes } from 'node:crypto';
import { API_VERSION } from '../constructs';
import { startApi, token } from '../test/api/api-process';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

/** A StatelessApplication whose env makes its JSON about `bytes` long (many small fields). */
function bigDefinition(project: string, name: string, bytes: number): string {
  const env: Record<string, string> = {};
  const entries = Math.floor(bytes / 64);
  for (let i = 0; i < entries; i++) env[`VAR_${i}`] = 'x'.repeat(50);
  return JSON.stringify({
    apiVersion: API_VERSION,
    kind: 'StatelessApplication',
    metadata: { name, project },
    spec: { image: 'nginx:1.27', port: 80, env },
  });
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];

async function phase(workers: string, definitionLimit: string, bytes: number): Promise<void> {
  const api = await startApi({
    HKS_NAMESPACE_PREFIX: `f${randomBytes(2).toString('hex')}-`,
    HKS_RECORDER: 'off',
    HKS_JANITOR_INTERVAL_SECONDS: '0',
    HKS_DEFINITION_LIMIT_BYTES: definitionLimit,
    HKS_DEFINITION_WORKERS: workers,
  });
  try {
    const headers = {
      authorization: `Bearer ${await token(['tenant-a', 'tenant-b'])}`,
      'content-type': 'application/json',
    };
    const until = performance.now() + SECONDS * 1000;
    const tenant = async (project: string) => {
      const body = bigDefinition(project, 'big', bytes);
      const statuses = new Map<number, number>();
      const times: number[] = [];
      while (performance.now() < until) {
        const started = performance.now();
        const res = await fetch(`${api.url}/api/v1/projects/${project}/applications?dryRun=true`, {
          method: 'POST',
          headers,
          body,
        });
        await res.arrayBuffer();
        times.push(performance.now() - started);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
      return { bytes: body.length, statuses, times };
    };
    const other = async () => {
      const latencies: number[] = [];
      while (performance.now() < until) {
        const started = performance.now();
        await (await fetch(`${api.url}/healthz`)).arrayBuffer();
        latencies.push(performance.now() - started);
      }
      return latencies;
    };
    const [a, b, latencies] = await Promise.all([tenant('tenant-a'), tenant('tenant-b'), other()]);
    const statuses = [...a.statuses, ...b.statuses]
      .map(([status, count]) => `${status}×${count}`)
      .join(' ');
    console.log(
      `workers ${workers}, limit ${definitionLimit.padStart(8)} B, definitions of ${(a.bytes / 1e6).toFixed(2)} MB: ` +
        `other client ${(latencies.length / SECONDS).toFixed(0)} req/s, p99 ${percentile(latencies, 0.99).toFixed(1)} ms; ` +
        `tenants ${statuses}, median ${percentile([...a.times, ...b.times], 0.5).toFixed(0)} ms each`,
    );
  } finally {
    await api.stop();
  }
}

/** p50 of one small definition's dry run (check + synthesis) and apply, one at a time. */
async function smallApplies(workers: string): Promise<void> {
  const api = await startApi({
    HKS_NAMESPACE_PREFIX: `f${randomBytes(2).toString('hex')}-`,
    HKS_RECORDER: 'off',
    HKS_JANITOR_INTERVAL_SECONDS: '0',
    HKS_DEFINITION_WORKERS: workers,
  });
  try {
    const headers = {
      authorization: `Bearer ${await token(['tenant-s'])}`,
      'content-type': 'application/json',
    };
    const url = `${api.url}/api/v1/projects/tenant-s/applications`;
    const body = bigDefinition('tenant-s', 'small', 640);
    const time = async (method: string, path: string) => {
      const started = performance.now();
      const res = await fetch(`${url}${path}`, { method, headers, body });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return performance.now() - started;
    };
    // The first of each warms the workers, the store and the namespace; a dry run POST of an
    // existing name is a 409, so dry runs come before the application exists.
    await time('POST', '?dryRun=true');
    const dryRuns: number[] = [];
    for (let i = 0; i < 200; i++) dryRuns.push(await time('POST', '?dryRun=true'));
    await time('POST', '');
    const applies: number[] = [];
    for (let i = 0; i < 30; i++) applies.push(await time('PUT', '/small'));
    console.log(
      `workers ${workers}, one small definition (${body.length} B) at a time: ` +
        `dry run p50 ${percentile(dryRuns, 0.5).toFixed(1)} ms, apply (PUT) p50 ${percentile(applies, 0.5).toFixed(1)} ms`,
    );
  } finally {
    await api.stop();
  }
}

async function main(): Promise<void> {
  const quiet = await startApi({ HKS_RECORDER: 'off', HKS_JANITOR_INTERVAL_SECONDS: '0' });
  let count = 0;
  const until = performance.now() + SECONDS * 1000;
  while (performance.now() < until) {
    await (await fetch(`${quiet.url}/healthz`)).arrayBuffer();
    count++;
  }
  await quiet.stop();
  console.log(`no tenants: other client ${(count / SECONDS).toFixed(0)} req/s`);
  for (const workers of ['0', '2']) {
    if (process.env.BENCH_ONLY_SMALL) {
      await smallApplies(workers);
      continue;
    }
    await phase(workers, String(16 * 1024 * 1024), 1_400_000);
    await phase(workers, String(1024 * 1024), 1_400_000);
    await phase(workers, String(1024 * 1024), 1_000_000);
    await smallApplies(workers);
  }
}

void main();
