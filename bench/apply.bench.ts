/**
 * `npm run bench:apply` — 200 definitions applied through the API versus
 * `kubectl apply --server-side -f` of the same synthesized objects, one invocation per
 * definition, on the same cluster in the same run. Prints p50/p95 per definition and the
 * throughput of the API with concurrent clients. Goals: API p50 at most half of kubectl's;
 * 50 definitions/s or more with concurrent clients.
 *
 * Runs against KUBECONFIG, else starts (and stops) the local test cluster.
 */
import { App } from 'cdk8s';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION, ApplicationDefinition, buildProjectCharts } from '../constructs';
import { startApi, token } from '../test/api/api-process';
import { clusterDown, clusterUp } from '../test/cluster/cluster';
import { kubectlBinary } from '../test/cluster/kubectl';

const DEFINITIONS = Number(process.env.BENCH_DEFINITIONS ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

function definition(project: string, i: number): ApplicationDefinition {
  return {
    apiVersion: API_VERSION,
    kind: 'StatelessApplication',
    metadata: { name: `app-${i}`, project },
    spec: { image: `ghcr.io/acme/app:1.0.${i}`, port: 8080, env: { INDEX: String(i) } },
  } as ApplicationDefinition;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const ms = (n: number) => `${n.toFixed(0)} ms`;

async function main() {
  let started = false;
  if (!process.env.KUBECONFIG) {
    const up = await clusterUp((line) => process.stderr.write(`${line}\n`));
    process.env.KUBECONFIG = up.kubeconfig;
    started = up.started;
  }
  const run = randomBytes(2).toString('hex');
  const prefix = `b${run}-`;
  const api = await startApi({
    HKS_SQLITE_PATH: join(mkdtempSync(join(tmpdir(), 'hks-bench-')), 'api.sqlite'),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
  });
  const headers = {
    authorization: `Bearer ${await token(['*'])}`,
    'content-type': 'application/json',
  };
  const namespaces: string[] = [];
  try {
    // kubectl: the same objects the API applies for a definition (tenancy + application).
    const kubectlProject = `kubectl-${run}`;
    namespaces.push(kubectlProject);
    const dir = mkdtempSync(join(tmpdir(), 'hks-bench-manifests-'));
    const files = Array.from({ length: DEFINITIONS }, (_, i) => {
      const app = new App();
      const [chart] = buildProjectCharts(app, [definition(kubectlProject, i)]);
      const file = join(dir, `${i}.json`);
      writeFileSync(
        file,
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: chart.toJson() }),
      );
      return file;
    });
    const kubectlTimes = files.map((file) => {
      const start = performance.now();
      const result = spawnSync(
        kubectlBinary(),
        ['apply', '--server-side', '--field-manager=bench', '-f', file],
        { encoding: 'utf8' },
      );
      if (result.status !== 0) throw new Error(`kubectl apply failed: ${result.stderr}`);
      return performance.now() - start;
    });

    // The API, one client: the same definitions, validated, synthesized, dry-run, applied, pruned, stored.
    const post = async (project: string, i: number) => {
      const start = performance.now();
      const res = await fetch(`${api.url}/api/v1/projects/${project}/applications`, {
        method: 'POST',
        headers,
        body: JSON.stringify(definition(project, i)),
      });
      if (res.status !== 201)
        throw new Error(`API apply failed: ${res.status} ${await res.text()}`);
      return performance.now() - start;
    };
    const serialProject = 'serial';
    namespaces.push(`${prefix}${serialProject}`);
    const apiTimes: number[] = [];
    for (let i = 0; i < DEFINITIONS; i++) apiTimes.push(await post(serialProject, i));

    // The API, concurrent clients, each definition in its own project.
    const concurrentStart = performance.now();
    let next = 0;
    const concurrentTimes: number[] = [];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < DEFINITIONS) {
          const i = next++;
          const project = `c${i % CONCURRENCY}`;
          concurrentTimes.push(await post(project, i));
        }
      }),
    );
    const concurrentSeconds = (performance.now() - concurrentStart) / 1000;
    for (let c = 0; c < CONCURRENCY; c++) namespaces.push(`${prefix}c${c}`);

    const rows: [string, string][] = [
      [
        'definitions',
        `${DEFINITIONS} StatelessApplications (Deployment + Service, with the project's tenancy objects)`,
      ],
      [
        'kubectl apply --server-side, per definition',
        `p50 ${ms(percentile(kubectlTimes, 50))}, p95 ${ms(percentile(kubectlTimes, 95))}`,
      ],
      [
        'API POST applications, one client',
        `p50 ${ms(percentile(apiTimes, 50))}, p95 ${ms(percentile(apiTimes, 95))}  (p50 ${(percentile(apiTimes, 50) / percentile(kubectlTimes, 50)).toFixed(2)}x kubectl, goal <= 0.5x)`,
      ],
      [
        `API, ${CONCURRENCY} concurrent clients`,
        `${(DEFINITIONS / concurrentSeconds).toFixed(1)} definitions/s (goal >= 50), p50 ${ms(percentile(concurrentTimes, 50))}, p95 ${ms(percentile(concurrentTimes, 95))}`,
      ],
    ];
    for (const [label, value] of rows) process.stdout.write(`${label.padEnd(46)} ${value}\n`);
  } finally {
    await api.stop();
    spawnSync(kubectlBinary(), [
      'delete',
      'namespace',
      '--wait=false',
      '--ignore-not-found',
      ...namespaces,
    ]);
    if (started) await clusterDown((line) => process.stderr.write(`${line}\n`));
  }
}

void main();
