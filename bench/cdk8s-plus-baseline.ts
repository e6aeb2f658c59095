/**
 * The synth benchmarks' baseline: the workload's objects built with cdk8s-plus-28 alone, as a
 * hand-written chart producing equivalent manifests would build them. Imports nothing of the
 * platform at run time (only types), so that `bench:synth` can also run it as a plain node
 * script: `node <this file transpiled> <definitions.json> <outdir>`.
 */
import { App, Chart, Cron, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { readFileSync } from 'node:fs';
import type { ApplicationDefinition, StatelessApplicationDefinition } from '../constructs';

/** A five-field expression as cdk8s' Cron. */
function cronOf(expression: string): Cron {
  const [minute, hour, day, month, weekDay] = expression.split(' ');
  return Cron.schedule({ minute, hour, day, month, weekDay });
}

/**
 * The same objects with cdk8s-plus-28 alone, as a hand-written chart producing equivalent
 * manifests would build them: same labels, security context, scratch volume, service
 * account, environment and resources (tenancy objects excluded).
 */
export function baseline(app: App, docs: readonly ApplicationDefinition[]): void {
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
        schedule: cronOf(d.spec.schedule),
        timeZone: d.spec.timeZone,
        startingDeadline: Duration.seconds(300),
        failedJobsRetained: 3,
        backoffLimit: 6,
        containers: [container],
      });
    }
  }
}

if (require.main === module) {
  const [definitionsFile, outdir] = process.argv.slice(2);
  if (!definitionsFile || !outdir) throw new Error('usage: <definitions.json> <outdir>');
  const app = new App({ outdir });
  baseline(app, JSON.parse(readFileSync(definitionsFile, 'utf8')) as ApplicationDefinition[]);
  app.synth();
}
