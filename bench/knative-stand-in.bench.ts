/**
 * `npx tsx bench/knative-stand-in.bench.ts` — how fast the Knative stand-in
 * (`npm run dev:knative`) reacts: N Functions per runtime applied one after another, each
 * awaited Ready. From the stand-in's own figures: watch event -> Ready status written, the
 * runtime's own start (spawn -> first healthy answer) and the stand-in's overhead (the rest:
 * reading the source, spawning, the status write). Prints the median and the worst.
 * Goal: overhead well under 100 ms.
 *
 * Runs against KUBECONFIG (the Knative Serving CRDs are installed), else the local test
 * cluster (started if needed). BENCH_FUNCTIONS (default 10) per runtime.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { FunctionService, type FunctionServiceProps, ProjectChart } from '../constructs';
import { type ActionFields, startKnativeStandIn } from '../dev/knative';
import { clusterUp } from '../test/cluster/cluster';
import { installKnativeServingCrds } from '../test/cluster/knative';
import { kubectl, kubectlOk } from '../test/cluster/kubectl';

const COUNT = Number(process.env.BENCH_FUNCTIONS ?? 10);

const RUNTIMES: Record<string, FunctionServiceProps> = {
  nodejs20: { runtime: 'nodejs20', code: 'exports.handler = async (e) => e;' },
  'python3.12': { runtime: 'python3.12', code: 'def handler(event, context):\n    return event\n' },
};

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)]}, max ${sorted.at(-1)}`;
}

async function main(): Promise<void> {
  if (process.env.KUBECONFIG === undefined) {
    process.env.KUBECONFIG = (await clusterUp(() => undefined)).kubeconfig;
  }
  await installKnativeServingCrds();
  const prefix = `bench${randomBytes(2).toString('hex')}-`;
  const namespace = `${prefix}fn`;
  const ready: ActionFields[] = [];
  const standIn = await startKnativeStandIn({
    namespacePrefix: prefix,
    stateDir: mkdtempSync(join(tmpdir(), 'hks-knative-bench-')),
    log: (action, fields) => {
      if (action === 'service status' && fields.ready === 'True' && fields.overheadMs !== undefined)
        ready.push(fields);
    },
  });
  try {
    for (const [runtime, props] of Object.entries(RUNTIMES)) {
      const first = ready.length;
      for (let i = 0; i < COUNT; i++) {
        const chart = new ProjectChart(Testing.app(), 'bench', { project: 'bench', namespace });
        new FunctionService(chart, `f${i}`, props);
        const items = Testing.synth(chart).sort(
          (a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'),
        );
        await kubectlOk(
          ['apply', '--server-side', '--field-manager=hks-bench', '-f', '-'],
          JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
        );
        await kubectlOk([
          'wait',
          '--for=condition=Ready',
          '--timeout=60s',
          '-n',
          namespace,
          `ksvc/f${i}`,
        ]);
        await kubectlOk(['delete', 'ksvc', `f${i}`, '-n', namespace]);
      }
      const figures = ready.slice(first);
      const field = (name: string) => figures.map((f) => Number(f[name]));
      process.stdout.write(
        `${runtime} (${figures.length} functions): event -> Ready ${stats(field('sinceEventMs'))}; ` +
          `runtime start ${stats(field('runtimeStartMs'))}; overhead ${stats(field('overheadMs'))} ` +
          `(event -> spawn ${stats(field('spawnMs'))}; status PATCH ${stats(field('patchMs'))}) ms\n`,
      );
    }
    process.stdout.write(`load average during the run: ${loadavg()[0].toFixed(1)}\n`);
  } finally {
    await standIn.stop();
    await kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
