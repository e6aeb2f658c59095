/**
 * The objects the Pulumi stack hands to Pulumi (captured with Pulumi's mocks: no CLI), applied
 * to the real control plane with server-side apply in the order Pulumi applies them:
 *
 * 1. Serving: CRDs and Namespaces first (ConfigGroup does so), then everything else but the
 *    webhook configurations, Deployments awaited Available; then the webhook configurations,
 *    which the transform makes depend on the webhook Deployment and the config maps;
 * 2. Kourier (its ConfigGroup depends on Serving), Deployments awaited;
 * 3. the platform: hks-system (Pod Security restricted), the API and its RBAC.
 *
 * Knative's webhook pod does not really serve on kwok's fake nodes, so its admission webhooks
 * (failurePolicy Fail) would reject any later serving.knative.dev object in the whole cluster.
 * They are checked to be accepted and then deleted again at once, so that other tests sharing
 * the cluster are not affected.
 *
 * Then the API's ServiceAccount, bound to the stack's ClusterRole, is checked to be allowed what
 * the API needs and denied the rest (Secrets, RBAC), by impersonation and with a real token.
 */
import * as pulumi from '@pulumi/pulumi';
import { KubeObject } from '../knative';
import type { StackConfig } from '../stacks';
import { kubeconfigPath } from './cluster/kubeconfig';
import { API_IDENTITY, tenantRoleBinding } from '../api/rbac';
import { kubectl, kubectlOk } from './cluster/kubectl';
import { waitFor } from './cluster/wait';
import { serviceAccountKubeconfig } from './support/api-identity';
import { knativeManifestDir } from './support/knative-dir';
import { installMocks, settled, valueOf } from './support/pulumi-mocks';
import { applyAsPulumi, configGroupObjects, kubernetesObjects } from './support/stack-objects';

jest.setTimeout(300_000);

const registered = installMocks();
const SA = 'system:serviceaccount:hks-system:hks-api';
const WEBHOOK_KINDS = ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'];

let serving: KubeObject[] = [];
let kourier: KubeObject[] = [];
let platform: KubeObject[] = [];
const timings: Record<string, number> = {};

async function waitAvailable(objects: readonly KubeObject[]): Promise<void> {
  for (const d of objects.filter((o) => o.kind === 'Deployment')) {
    await kubectlOk([
      'wait',
      '--for=condition=Available',
      '--timeout=180s',
      '-n',
      d.metadata.namespace ?? '',
      `deployment/${d.metadata.name}`,
    ]);
  }
}

/** Applies one ConfigGroup's objects as Pulumi orders them. */
async function applyGroup(objects: readonly KubeObject[]): Promise<void> {
  const first = objects.filter((o) => ['CustomResourceDefinition', 'Namespace'].includes(o.kind));
  const last = objects.filter((o) => o.metadata.annotations?.['config.kubernetes.io/depends-on']);
  const middle = objects.filter((o) => !first.includes(o) && !last.includes(o));
  await applyAsPulumi(first);
  if (first.some((o) => o.kind === 'CustomResourceDefinition')) {
    await kubectlOk([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd',
      '-l',
      'knative.dev/crd-install=true',
    ]);
  }
  await applyAsPulumi(middle);
  await waitAvailable(middle);
  await applyAsPulumi(last);
}

const canI = async (...args: string[]): Promise<boolean> =>
  (await kubectl(['auth', 'can-i', `--as=${SA}`, ...args])).stdout.trim() === 'yes';

beforeAll(async () => {
  const stacks = await import('../stacks');
  const settings: StackConfig = {
    knativeVersion: '1.13.0',
    knativeManifestDir: knativeManifestDir(),
    kourierServiceType: 'NodePort',
    domain: 'fn.example.com',
    magicDns: false,
    skipAwait: false,
    platformNamespace: 'hks-system',
    namespacePrefix: '',
    api: {
      image: 'ghcr.io/acme/hks-api:0.1.0',
      replicas: 1,
      hasDatabaseUrl: false,
      sqliteStorage: { kind: 'emptyDir' },
      environment: {},
    },
  };
  const stack = stacks.createPlatformStack(settings, { apiJwtSecret: pulumi.secret('jwt') });
  await valueOf(stack.kourierAddress);
  await settled(registered);
  serving = configGroupObjects(registered, 'knative-serving');
  kourier = configGroupObjects(registered, 'knative-kourier');
  platform = kubernetesObjects(registered);
});

afterAll(async () => {
  for (const kind of WEBHOOK_KINDS) {
    await kubectl([
      'delete',
      kind,
      '-l',
      'app.kubernetes.io/part-of=hks-platform',
      '--ignore-not-found',
    ]);
  }
  for (const ns of ['knative-serving', 'kourier-system', 'hks-system', 'hks-rbac-check']) {
    await kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
  }
  process.stderr.write(`pulumi-stack.int: timings (ms) ${JSON.stringify(timings)}\n`);
});

test('the stack hands Pulumi Serving core, Kourier and the platform objects', () => {
  expect(serving.length).toBeGreaterThan(50);
  expect(kourier.length).toBeGreaterThan(10);
  expect(platform.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
    [
      'ClusterRole/hks-api',
      'ClusterRole/hks-api-tenant',
      'ClusterRoleBinding/hks-system-hks-api',
      'Role/hks-api-leader-election',
      'RoleBinding/hks-api-leader-election',
      'ValidatingAdmissionPolicy/hks-system-hks-api',
      'ValidatingAdmissionPolicyBinding/hks-system-hks-api',
      'Deployment/hks-api',
      'Namespace/hks-system',
      'NetworkPolicy/hks-allow-dns',
      'NetworkPolicy/hks-api-egress',
      'NetworkPolicy/hks-api-functions',
      'NetworkPolicy/hks-api-ingress',
      'NetworkPolicy/hks-default-deny',
      'Secret/hks-api-config',
      'Service/hks-api',
      'ServiceAccount/hks-api',
    ].sort(),
  );
});

test('Serving core is accepted by the API server and its Deployments become Available', async () => {
  const started = Date.now();
  await applyGroup(serving);
  timings.serving = Date.now() - started;
  const deployments = await kubectlOk([
    'get',
    'deployments',
    '-n',
    'knative-serving',
    '-o',
    'name',
  ]);
  expect(deployments.split('\n').filter(Boolean).sort()).toEqual([
    'deployment.apps/activator',
    'deployment.apps/autoscaler',
    'deployment.apps/controller',
    'deployment.apps/webhook',
  ]);
  const network = JSON.parse(
    await kubectlOk(['get', 'configmap', 'config-network', '-n', 'knative-serving', '-o', 'json']),
  ) as { data: Record<string, string> };
  expect(network.data['ingress-class']).toBe('kourier.ingress.networking.knative.dev');
  const domain = JSON.parse(
    await kubectlOk(['get', 'configmap', 'config-domain', '-n', 'knative-serving', '-o', 'json']),
  ) as { data: Record<string, string> };
  expect(domain.data['fn.example.com']).toBe('');
  // the webhook configurations were applied last; remove them at once (see the file comment)
  for (const kind of WEBHOOK_KINDS) {
    const names = await kubectlOk([
      'get',
      kind,
      '-l',
      'app.kubernetes.io/part-of=hks-platform',
      '-o',
      'name',
    ]);
    expect(names.trim()).not.toBe('');
    await kubectlOk(['delete', kind, '-l', 'app.kubernetes.io/part-of=hks-platform']);
  }
});

test('Kourier is accepted after Serving; its gateway is a NodePort Service', async () => {
  const started = Date.now();
  await applyGroup(kourier);
  timings.kourier = Date.now() - started;
  const gateway = JSON.parse(
    await kubectlOk(['get', 'service', 'kourier', '-n', 'kourier-system', '-o', 'json']),
  ) as { spec: { type: string; ports: { nodePort?: number }[] } };
  expect(gateway.spec.type).toBe('NodePort');
  expect(gateway.spec.ports[0].nodePort).toBeGreaterThan(0);
  await kubectlOk([
    'wait',
    '--for=condition=Available',
    '--timeout=60s',
    '-n',
    'knative-serving',
    'deployment/net-kourier-controller',
  ]);
});

test('the platform: the API runs under Pod Security restricted in hks-system', async () => {
  const started = Date.now();
  await applyGroup(platform);
  timings.platform = Date.now() - started;
  const ns = JSON.parse(await kubectlOk(['get', 'namespace', 'hks-system', '-o', 'json'])) as {
    metadata: { labels: Record<string, string> };
  };
  expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  const pods = await kubectlOk([
    'get',
    'pods',
    '-n',
    'hks-system',
    '-l',
    'app.kubernetes.io/name=hks-api',
    '-o',
    'jsonpath={.items[*].status.phase}',
  ]);
  expect(pods).toBe('Running');
});

describe("the API's ServiceAccount, its ClusterRoles and admission policy", () => {
  // Cluster-wide, RBAC allows only these; what the admission policy adds is in api-access.int.
  it.each(
    [
      ['create', 'namespaces'],
      ['patch', 'namespaces'],
      ['create', 'rolebindings.rbac.authorization.k8s.io', '-n', 'shop'],
      ['bind', 'clusterroles.rbac.authorization.k8s.io/hks-api-tenant'],
      ['list', 'jobs.batch', '--all-namespaces'],
      ['watch', 'jobs.batch', '--all-namespaces'],
      ['list', 'services.serving.knative.dev', '--all-namespaces'],
    ].map((args) => [args.join(' '), args]),
  )('may %s', async (_name, args) => {
    expect(await canI(...args)).toBe(true);
  });

  it.each(
    [
      ['get', 'secrets', '-n', 'shop'],
      ['list', 'secrets', '-n', 'hks-system'],
      ['list', 'secrets', '--all-namespaces'],
      // In a project namespace Secrets may only be created (an agent session's).
      ['create', 'secrets', '-n', 'kube-system'],
      ['patch', 'secrets', '-n', 'shop'],
      ['delete', 'secrets', '-n', 'shop'],
      ['create', 'deployments.apps', '-n', 'kube-system'],
      ['create', 'jobs.batch', '-n', 'kube-system'],
      ['patch', 'configmaps', '-n', 'kube-system'],
      ['get', 'pods', '--subresource=log', '-n', 'kube-system'],
      ['delete', 'namespaces'],
      ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
      ['bind', 'clusterroles.rbac.authorization.k8s.io/edit'],
      ['create', 'roles.rbac.authorization.k8s.io', '-n', 'shop'],
      ['create', 'pods', '-n', 'shop'],
      ['create', 'pods', '--subresource=exec', '-n', 'shop'],
      ['delete', 'nodes'],
      ['patch', 'configurations.serving.knative.dev', '-n', 'shop'],
      ['patch', 'services.serving.knative.dev', '-n', 'knative-serving'],
    ].map((args) => [args.join(' '), args]),
  )('may not %s', async (_name, args) => {
    expect(await canI(...args)).toBe(false);
  });

  it('with a real token: creates a managed namespace, binds itself there, applies a ConfigMap, and is refused Secrets and hks-system', async () => {
    const kubeconfig = await serviceAccountKubeconfig(API_IDENTITY, '10m');
    expect(kubeconfig).not.toBe(kubeconfigPath());
    const objects = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: {
            name: 'hks-rbac-check',
            labels: {
              'app.kubernetes.io/managed-by': 'hks',
              'pod-security.kubernetes.io/enforce': 'restricted',
            },
          },
        },
        tenantRoleBinding('hks-rbac-check', API_IDENTITY),
      ],
    };
    const applyAsApi = (input: unknown) =>
      kubectl(
        ['apply', '--server-side', '--field-manager=hks-api', '-f', '-'],
        JSON.stringify(input),
        kubeconfig,
      );
    const applied = await applyAsApi(objects);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const configMap = (namespace: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace },
      data: { a: 'b' },
    });
    // RBAC picks the new binding up from its cache: wait for it as the API does.
    await waitFor(
      'the RoleBinding to take effect',
      10_000,
      async () =>
        (
          await kubectl(
            ['auth', 'can-i', 'patch', 'configmaps', '-n', 'hks-rbac-check'],
            undefined,
            kubeconfig,
          )
        ).stdout.trim() === 'yes',
    );
    expect((await applyAsApi(configMap('hks-rbac-check'))).code).toBe(0);
    const platform = await applyAsApi(configMap('hks-system'));
    expect(platform.code).not.toBe(0);
    const secrets = await kubectl(['get', 'secrets', '-n', 'hks-system'], undefined, kubeconfig);
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toContain(
      `User "${SA}" cannot list resource "secrets" in API group "" in the namespace "hks-system"`,
    );
  });
});
