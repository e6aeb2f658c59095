/**
 * `npm run bench:apply` — 200 definitions applied through the API versus
 * `kubectl apply --server-side -f` of the same synthesized objects, one invocation per
 * definition, on the same cluster in the same run. Prints p50/p95 per definition, the
 * throughput of the API with concurrent clients, the API server calls per definition (the
 * API's `hks_kube_requests_total`) and the CPU the API process and the local kube-apiserver
 * and etcd used meanwhile. Goals: API p50 at most half of kubectl's; 50 definitions/s or more
 * with concurrent clients.
 *
 * Runs against KUBECONFIG, else starts (and stops) the local test cluster.
 * BENCH_CPU_PROF=<dir> writes a CPU profile of the API's main thread there (apply-cpu-profile.mjs).
 */
import { App } from 'cdk8s';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kube, type KubeObject } from '../api/kube';
import { loadKubeConfig } from '../api/kube-config';
import { API_VERSION, ApplicationDefinition, buildProjectCharts } from '../constructs';
import { metricsText, startApi, token } from '../test/api/api-process';
import { clusterDown, clusterUp } from '../test/cluster/cluster';
import { clusterConfig } from '../test/cluster/config';
import { kubectlBinary } from '../test/cluster/kubectl';
import { processFiles, runningPid } from '../test/cluster/processes';

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

/** `hks_kube_requests_total` of the API by `verb resource`. */
function kubeRequests(metrics: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [, labels, value] of metrics.matchAll(/^hks_kube_requests_total\{(.*)\} (\S+)$/gm)) {
    const verb = /verb="([^"]*)"/.exec(labels)?.[1];
    const resource = /resource="([^"]*)"/.exec(labels)?.[1];
    counts.set(`${verb} ${resource}`, Number(value));
  }
  return counts;
}

/** What each verb and resource grew by, per definition, largest first. */
function perDefinition(before: Map<string, number>, after: Map<string, number>, n: number) {
  return [...after]
    .map(([key, value]) => [key, (value - (before.get(key) ?? 0)) / n] as const)
    .filter(([, value]) => value > 0)
    .sort((a, b) => b[1] - a[1]);
}

/** CPU seconds a process used so far (user + system), from /proc; undefined when gone. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** The local control plane's processes (none when KUBECONFIG is another cluster). */
function controlPlanePids(): Record<string, number | undefined> {
  const dir = clusterConfig().stateDir;
  return Object.fromEntries(
    ['kube-apiserver', 'etcd'].map((name) => [name, runningPid(processFiles(dir, name).pidFile)]),
  );
}

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
    ...(process.env.BENCH_CPU_PROF
      ? { NODE_OPTIONS: `--import ${join(__dirname, 'apply-cpu-profile.mjs')}` }
      : {}),
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
    const pids: Record<string, number | undefined> = { api: api.child.pid, ...controlPlanePids() };
    const cpuBefore = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuSeconds(p)]));
    const requestsBefore = kubeRequests(await metricsText(api));
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
    const calls = perDefinition(requestsBefore, kubeRequests(await metricsText(api)), DEFINITIONS);
    const cpu = Object.entries(pids).map(([name, pid]) => {
      const [before, after] = [cpuBefore[name], cpuSeconds(pid)];
      return before === undefined || after === undefined
        ? `${name} ?`
        : `${name} ${(((after - before) / concurrentSeconds) * 100).toFixed(0)}%`;
    });
    const throughput = DEFINITIONS / concurrentSeconds;

    // The ceiling the API server sets: the same dry runs and applies (the application's
    // objects, under other names) sent straight to it, as many clients at once, no API.
    const kube = new Kube(loadKubeConfig());
    const straightCpuBefore = cpuSeconds(pids['kube-apiserver']);
    const straightStart = performance.now();
    let nextStraight = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (nextStraight < DEFINITIONS) {
          const i = nextStraight++;
          const [chart] = buildProjectCharts(new App(), [definition(`c${i % CONCURRENCY}`, i)], {
            namespaceForProject: (p) => `${prefix}${p}`,
          });
          const objects = (chart.toJson() as KubeObject[])
            .filter((o) => o.metadata.labels?.['hks.hexabase.io/app'])
            .map((o) => ({ ...o, metadata: { ...o.metadata, name: `straight-${i}` } }));
          await Promise.all(objects.map((o) => kube.apply(o, true, 'bench')));
          await Promise.all(objects.map((o) => kube.apply(o, false, 'bench')));
        }
      }),
    );
    const straightSeconds = (performance.now() - straightStart) / 1000;
    const straightCpu = cpuSeconds(pids['kube-apiserver']);
    kube.rest.close();
    const ratio = percentile(apiTimes, 50) / percentile(kubectlTimes, 50);
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
        `p50 ${ms(percentile(apiTimes, 50))}, p95 ${ms(percentile(apiTimes, 95))}  (p50 ${ratio.toFixed(2)}x kubectl, goal <= 0.5x: ${ratio <= 0.5 ? 'met' : 'not met'})`,
      ],
      [
        `API, ${CONCURRENCY} concurrent clients`,
        `${throughput.toFixed(1)} definitions/s (goal >= 50: ${throughput >= 50 ? 'met' : 'not met'}), p50 ${ms(percentile(concurrentTimes, 50))}, p95 ${ms(percentile(concurrentTimes, 95))}`,
      ],
      [
        'API server calls per definition (concurrent)',
        `${calls.reduce((sum, [, n]) => sum + n, 0).toFixed(2)}: ${calls.map(([key, n]) => `${key} ${n.toFixed(2)}`).join(', ')}`,
      ],
      ['CPU during the concurrent run (1 core = 100%)', cpu.join(', ')],
      [
        `straight to the API server, ${CONCURRENCY} clients`,
        `${(DEFINITIONS / straightSeconds).toFixed(1)} definitions/s (the same dry runs and applies, no API), kube-apiserver ${straightCpuBefore === undefined || straightCpu === undefined ? '?' : `${(((straightCpu - straightCpuBefore) / straightSeconds) * 100).toFixed(0)}%`}`,
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
