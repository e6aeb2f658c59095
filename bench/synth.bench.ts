/**
 * `npm run bench:synth` — synthesizes 1000 generated definitions (100 StatelessApplications,
 * 900 CronJobs in 10 projects) through the project's constructs, and the same workloads built
 * with cdk8s-plus-28 directly as the baseline, in the same process. Prints median times and
 * the ratio. Goals: ratio <= 1.25 and the 1000-object synth under 2 s.
 */
import { App, Chart, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  API_VERSION,
  ApplicationDefinition,
  buildProjectCharts,
  checkDefinitions,
  Schedule,
  StatelessApplicationDefinition,
} from '../constructs';

const PROJECTS = 10;
const STATELESS_PER_PROJECT = 10;
const CRONJOBS_PER_STATELESS = 9;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

function definitions(): unknown[] {
  const docs: unknown[] = [];
  for (let p = 0; p < PROJECTS; p++) {
    const project = `project-${p}`;
    for (let s = 0; s < STATELESS_PER_PROJECT; s++) {
      const api = `api-${s}`;
      docs.push({
        apiVersion: API_VERSION,
        kind: 'StatelessApplication',
        metadata: { name: api, project, labels: { team: 'bench' } },
        spec: {
          image: `ghcr.io/acme/${api}:1.0.${s}`,
          env: { LOG_LEVEL: 'info' },
          secretEnv: { DB_PASSWORD: { secret: 'db', key: 'password' } },
          port: 8080,
          replicas: 2,
          resources: { cpu: '250m', memory: '256Mi' },
        },
      });
      for (let c = 0; c < CRONJOBS_PER_STATELESS; c++) {
        docs.push({
          apiVersion: API_VERSION,
          kind: 'CronJob',
          metadata: { name: `${api}-job-${c}`, project },
          spec: {
            template: api,
            schedule: `${c} ${s} * * *`,
            ...(c % 2 === 0 ? { timeZone: 'Asia/Tokyo' } : {}),
            args: ['job.js', String(c)],
            env: { JOB: String(c) },
          },
        });
      }
    }
  }
  return docs;
}

/**
 * The same objects with cdk8s-plus-28 alone, as a hand-written chart producing equivalent
 * manifests would build them: same labels, security context, scratch volume, service
 * account, environment and resources (tenancy objects excluded).
 */
function baseline(app: App, docs: readonly ApplicationDefinition[]): void {
  const charts = new Map<string, Chart>();
  const templates = new Map<string, ApplicationDefinition>();
  for (const d of docs) {
    if (d.kind === 'Function') continue; // the benchmark generates no Functions
    const project = d.metadata.project;
    if (!charts.has(project)) {
      charts.set(
        project,
        new Chart(app, project, {
          namespace: project,
          disableResourceNameHashes: true,
          labels: { 'app.kubernetes.io/managed-by': 'hks', 'hks.hexabase.io/project': project },
        }),
      );
    }
    const chart = charts.get(project) as Chart;
    const scope = new Construct(chart, d.metadata.name);
    const name = d.metadata.name;
    const labels = {
      ...d.metadata.labels,
      'app.kubernetes.io/name': name,
      'app.kubernetes.io/managed-by': 'hks',
      'hks.hexabase.io/project': project,
      'hks.hexabase.io/app': name,
      'hks.hexabase.io/kind': d.kind,
    };
    const source =
      d.kind === 'StatelessApplication'
        ? d.spec
        : (templates.get(`${project}/${d.spec.template}`)
            ?.spec as StatelessApplicationDefinition['spec']);
    const tmp = kplus.Volume.fromEmptyDir(scope, 'tmp', 'tmp');
    const envVariables: Record<string, kplus.EnvValue> = {};
    for (const [k, v] of Object.entries({
      ...source.env,
      ...(d.kind === 'CronJob' ? d.spec.env : {}),
    }))
      envVariables[k] = kplus.EnvValue.fromValue(String(v));
    for (const [k, v] of Object.entries(source.secretEnv ?? {})) {
      envVariables[k] = kplus.EnvValue.fromSecretValue({
        secret: kplus.Secret.fromSecretName(scope, `s-${k}`, v.secret),
        key: v.key,
      });
    }
    const container: kplus.ContainerProps = {
      name: 'main',
      image: source.image,
      args: d.kind === 'CronJob' ? d.spec.args : undefined,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      resources: {
        cpu: { request: kplus.Cpu.millis(250) },
        memory: { request: Size.mebibytes(256), limit: Size.mebibytes(256) },
      },
      envVariables,
      securityContext: {
        ensureNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: [kplus.Capability.ALL] },
        seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
      },
      volumeMounts: [{ path: '/tmp', volume: tmp }],
    };
    const pod = {
      metadata: { name, labels },
      podMetadata: { labels },
      serviceAccount: kplus.ServiceAccount.fromServiceAccountName(scope, 'sa', 'hks-workload'),
      volumes: [tmp],
    };
    if (d.kind === 'StatelessApplication') {
      templates.set(`${project}/${name}`, d);
      const deployment = new kplus.Deployment(scope, 'Deployment', {
        ...pod,
        select: false,
        replicas: 2,
        containers: [
          {
            ...container,
            ports: [{ number: 8080, name: 'http' }],
            readiness: kplus.Probe.fromTcpSocket({ port: 8080 }),
          },
        ],
      });
      const selector = { 'hks.hexabase.io/project': project, 'hks.hexabase.io/app': name };
      deployment.select(kplus.LabelSelector.of({ labels: selector }));
      const service = new kplus.Service(scope, 'Service', {
        metadata: { name, labels },
        ports: [{ name: 'http', port: 8080, targetPort: 8080 }],
      });
      for (const [k, v] of Object.entries(selector)) service.selectLabel(k, v);
    } else {
      new kplus.CronJob(scope, 'CronJob', {
        ...pod,
        schedule: Schedule.cron(d.spec.schedule).toCron(),
        timeZone: d.spec.timeZone,
        startingDeadline: Duration.seconds(300),
        failedJobsRetained: 3,
        backoffLimit: 6,
        containers: [container],
      });
    }
  }
}

const outputBytes = new Map<(outdir: string) => void, number>();

function time(run: (outdir: string) => void): number {
  const outdir = mkdtempSync(join(tmpdir(), 'hks-bench-'));
  const start = process.hrtime.bigint();
  run(outdir);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const bytes = readdirSync(outdir).reduce((sum, f) => sum + statSync(join(outdir, f)).size, 0);
  outputBytes.set(run, bytes);
  rmSync(outdir, { recursive: true, force: true });
  return ms;
}

function kib(bytes = 0): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function main() {
  const docs = definitions();
  const inputs = docs.map((document, i) => ({
    document,
    source: { file: 'bench', document: i + 1 },
  }));
  const checked = checkDefinitions(inputs).map((c) => c.definition);
  const objects = {
    stateless: checked.filter((d) => d.kind === 'StatelessApplication').length,
    cronJobs: checked.filter((d) => d.kind === 'CronJob').length,
  };

  const runs = {
    validate: [] as number[],
    ours: [] as number[],
    oursTotal: [] as number[],
    baseline: [] as number[],
  };
  const measureOurs = (outdir: string) => {
    const app = new App({ outdir });
    buildProjectCharts(app, checked);
    app.synth();
  };
  const measureBaseline = (outdir: string) => {
    const app = new App({ outdir });
    baseline(app, checked);
    app.synth();
  };
  // One warm-up round each (module loading, JIT), then alternate to share any machine noise.
  time(measureOurs);
  time(measureBaseline);
  for (let round = 0; round < ROUNDS; round++) {
    const validate = time(() => checkDefinitions(inputs));
    const ours = time(measureOurs);
    runs.validate.push(validate);
    runs.ours.push(ours);
    runs.oursTotal.push(validate + ours);
    runs.baseline.push(time(measureBaseline));
  }
  const m = {
    validate: median(runs.validate),
    ours: median(runs.ours),
    oursTotal: median(runs.oursTotal),
    baseline: median(runs.baseline),
  };
  const rows = [
    [
      'definitions',
      `${objects.stateless} StatelessApplications + ${objects.cronJobs} CronJobs in ${PROJECTS} projects`,
    ],
    ['rounds', `${ROUNDS} (median reported)`],
    [
      'baseline: cdk8s-plus-28 directly',
      `${m.baseline.toFixed(0)} ms  (${kib(outputBytes.get(measureBaseline))} of YAML)`,
    ],
    [
      'hks constructs + synth',
      `${m.ours.toFixed(0)} ms  (${(m.ours / m.baseline).toFixed(2)}x baseline, goal <= 1.25x; ${kib(outputBytes.get(measureOurs))} of YAML incl. tenancy)`,
    ],
    ['hks validation of 1000 definitions', `${m.validate.toFixed(0)} ms`],
    [
      'hks total: validate + constructs + synth',
      `${m.oursTotal.toFixed(0)} ms  (${(m.oursTotal / m.baseline).toFixed(2)}x baseline; goal < 2000 ms)`,
    ],
  ];
  for (const [label, value] of rows) process.stdout.write(`${label.padEnd(42)} ${value}\n`);
}

main();
