/**
 * The synth benchmarks' baseline: the workload's objects built with cdk8s-plus-28 alone, as a
 * hand-written chart producing equivalent manifests would build them. Imports nothing of the
 * platform at run time (only types), so that `bench:synth` can also run it as a plain node
 * script: `node <this file transpiled> <definitions.json> <outdir>`.
 */
import { ApiObject, App, Chart, Cron, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { readFileSync } from 'node:fs';
import type { ApplicationDefinition, StatelessApplicationDefinition } from '../constructs';

/** A five-field expression as cdk8s' Cron. */
function cronOf(expression: string): Cron {
  const [minute, hour, day, month, weekDay] = expression.split(' ');
  return Cron.schedule({ minute, hour, day, month, weekDay });
}

const DNS_EGRESS = {
  ports: [
    { port: 53, protocol: 'UDP' },
    { port: 53, protocol: 'TCP' },
  ],
  to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }],
};
const FROM_KNATIVE = {
  from: [
    {
      namespaceSelector: {
        matchExpressions: [
          {
            key: 'kubernetes.io/metadata.name',
            operator: 'In',
            values: ['knative-serving', 'kourier-system'],
          },
        ],
      },
    },
  ],
};
const NOT_EPHEMERAL = {
  matchExpressions: [{ key: 'hks.hexabase.io/ephemeral', operator: 'NotIn', values: ['true'] }],
};

/**
 * A project's namespace and what confines it, as a hand-written chart would write them: plain
 * ApiObjects (cdk8s-plus has no ResourceQuota or LimitRange) with the platform's defaults.
 */
function tenancy(chart: Chart, project: string): Chart {
  const object = (id: string, kind: string, apiVersion: string, rest: Record<string, unknown>) =>
    new ApiObject(chart, id, { apiVersion, kind, metadata: { name: id }, ...rest });
  const namespace = new ApiObject(chart, 'namespace', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: project,
      labels: {
        'pod-security.kubernetes.io/audit': 'restricted',
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
        'pod-security.kubernetes.io/warn': 'restricted',
      },
    },
  });
  // A Namespace has no namespace, which the chart's setting would give it.
  namespace.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  object('hks-workload', 'ServiceAccount', 'v1', { automountServiceAccountToken: false });
  object('hks-quota', 'ResourceQuota', 'v1', {
    spec: { hard: { pods: '100', 'requests.cpu': '8', 'requests.memory': '16Gi' } },
  });
  object('hks-limits', 'LimitRange', 'v1', {
    spec: {
      limits: [
        {
          default: { memory: '512Mi' },
          defaultRequest: { cpu: '100m', memory: '128Mi' },
          type: 'Container',
        },
      ],
    },
  });
  const policy = (id: string, spec: Record<string, unknown>) =>
    object(id, 'NetworkPolicy', 'networking.k8s.io/v1', { spec });
  policy('hks-default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  policy('hks-allow-dns', { egress: [DNS_EGRESS], podSelector: {}, policyTypes: ['Egress'] });
  policy('hks-allow-same-project', {
    egress: [{ to: [{ podSelector: NOT_EPHEMERAL }] }],
    ingress: [{ from: [{ podSelector: NOT_EPHEMERAL }] }],
    podSelector: NOT_EPHEMERAL,
    policyTypes: ['Ingress', 'Egress'],
  });
  policy('hks-allow-knative-to-functions', {
    ingress: [FROM_KNATIVE],
    podSelector: { matchLabels: { 'hks.hexabase.io/kind': 'Function' } },
    policyTypes: ['Ingress'],
  });
  policy('hks-temporary-functions', {
    egress: [DNS_EGRESS],
    ingress: [FROM_KNATIVE],
    podSelector: { matchLabels: { 'hks.hexabase.io/ephemeral': 'true' } },
    policyTypes: ['Ingress', 'Egress'],
  });
  return chart;
}

/**
 * The same objects with cdk8s-plus-28 alone, as a hand-written chart producing equivalent
 * manifests would build them: same labels, security context, scratch volume, service
 * account, environment and resources, and each project's tenancy objects.
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
        tenancy(
          new Chart(app, project, {
            namespace: project,
            disableResourceNameHashes: true,
            labels: { 'app.kubernetes.io/managed-by': 'hks', 'hks.hexabase.io/project': project },
          }),
          project,
        ),
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
      const cronJob = new kplus.CronJob(scope, 'CronJob', {
        ...pod,
        schedule: cronOf(d.spec.schedule),
        timeZone: d.spec.timeZone,
        startingDeadline: Duration.seconds(300),
        failedJobsRetained: 3,
        backoffLimit: 6,
        containers: [container],
      });
      // The Jobs carry the labels too (cdk8s-plus sets none on the job template).
      ApiObject.of(cronJob).addJsonPatch(JsonPatch.add('/spec/jobTemplate/metadata', { labels }));
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
