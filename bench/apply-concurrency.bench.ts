/**
 * `npx tsx bench/apply-concurrency.bench.ts` — 50 concurrent applies of different applications
 * through a real API process (POST, then PUT of each), beside a same-run baseline: the same
 * objects' dry run and server-side apply sent straight to the API server, 50 at a time. Shows
 * what serializing applies per application costs applications that do not meet. Prints wall
 * time and p50/p95 per apply; no assertion.
 *
 * Needs KUBECONFIG (the test cluster); BENCH_DATABASE_URL runs the API on PostgreSQL.
 */
import { App } from 'cdk8s';
import { KubeConfig } from '@kubernetes/client-node';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kube, KubeObject } from '../api/kube';
import { API_VERSION, ApplicationDefinition, buildProjectCharts } from '../constructs';
import { startApi, token } from '../test/api/api-process';
import { kubectlBinary } from '../test/cluster/kubectl';

const APPLIES = Number(process.env.BENCH_APPLIES ?? 50);

const definition = (project: string, i: number, version: number): ApplicationDefinition =>
  ({
    apiVersion: API_VERSION,
    kind: 'StatelessApplication',
    metadata: { name: `app-${i}`, project },
    spec: { image: `ghcr.io/acme/app:${version}.0.${i}`, port: 8080 },
  }) as ApplicationDefinition;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs `APPLIES` calls at once; wall time and each call's time. */
async function concurrently(run: (i: number) => Promise<void>) {
  const start = performance.now();
  const times = await Promise.all(
    Array.from({ length: APPLIES }, async (_, i) => {
      const t = performance.now();
      await run(i);
      return performance.now() - t;
    }),
  );
  return { wall: performance.now() - start, times };
}

const line = (label: string, r: { wall: number; times: number[] }) =>
  `${label.padEnd(44)} wall ${r.wall.toFixed(0).padStart(5)} ms, p50 ${percentile(r.times, 50).toFixed(0)} ms, p95 ${percentile(r.times, 95).toFixed(0)} ms`;

async function main() {
  if (!process.env.KUBECONFIG) throw new Error('set KUBECONFIG to the test cluster');
  const prefix = `b${randomBytes(2).toString('hex')}-`;
  const api = await startApi({
    ...(process.env.BENCH_DATABASE_URL
      ? { HKS_DATABASE_URL: process.env.BENCH_DATABASE_URL }
      : { HKS_SQLITE_PATH: join(mkdtempSync(join(tmpdir(), 'hks-bench-')), 'api.sqlite') }),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
  });
  const headers = {
    authorization: `Bearer ${await token(['*'])}`,
    'content-type': 'application/json',
  };
  const send = async (method: string, path: string, body: unknown, expected: number) => {
    const res = await fetch(`${api.url}/api/v1/projects/conc/applications${path}`, {
      method,
      headers,
      body: JSON.stringify(body),
    });
    if (res.status !== expected)
      throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  };
  const config = new KubeConfig();
  config.loadFromDefault();
  const kube = new Kube(config);
  try {
    // The project's namespace and tenancy first, so that neither side pays for them.
    await send(
      'POST',
      '',
      { ...definition('conc', 999, 1), metadata: { name: 'warm', project: 'conc' } },
      201,
    );
    const direct = (i: number, version: number): KubeObject[] => {
      const [chart] = buildProjectCharts(new App(), [definition('conc', i, version)], {
        namespaceForProject: (p) => `${prefix}${p}`,
      });
      return (chart.toJson() as KubeObject[]).filter(
        (o) => o.metadata.labels?.['hks.hexabase.io/app'],
      );
    };
    const baseline = await concurrently(async (i) => {
      // Other names than the API's (base-*), in the same namespace.
      const objects = direct(i, 1).map((o) => ({
        ...o,
        metadata: { ...o.metadata, name: `base-${i}` },
      }));
      await Promise.all(objects.map((o) => kube.apply(o, true, 'bench')));
      await Promise.all(objects.map((o) => kube.apply(o, false, 'bench')));
    });
    const posts = await concurrently((i) => send('POST', '', definition('conc', i, 1), 201));
    const puts = await concurrently((i) => send('PUT', `/app-${i}`, definition('conc', i, 2), 200));
    process.stdout.write(
      `${APPLIES} concurrent applies of different applications (Deployment + Service each)\n`,
    );
    process.stdout.write(`${line('server-side apply straight (dry run + apply)', baseline)}\n`);
    process.stdout.write(`${line('API POST applications', posts)}\n`);
    process.stdout.write(`${line('API PUT applications/{name}', puts)}\n`);
  } finally {
    await api.stop();
    spawnSync(kubectlBinary(), [
      'delete',
      'namespace',
      '--wait=false',
      '--ignore-not-found',
      `${prefix}conc`,
    ]);
  }
}

void main();
