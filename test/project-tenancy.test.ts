import { Testing } from 'cdk8s';
import { ProjectChart } from '../constructs';
import { at, find, projectChart, synth } from './support/manifests';

describe('ProjectTenancy', () => {
  test('a restricted namespace with quota, limits, network policies and a token-less service account', () => {
    const manifests = synth(projectChart('shop'));
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([
      'Namespace/shop',
      'ServiceAccount/hks-workload',
      'ResourceQuota/hks-quota',
      'LimitRange/hks-limits',
      'NetworkPolicy/hks-default-deny',
      'NetworkPolicy/hks-allow-dns',
      'NetworkPolicy/hks-allow-same-project',
      'NetworkPolicy/hks-allow-knative-to-functions',
      'NetworkPolicy/hks-temporary-functions',
    ]);
    const namespace = find(manifests, 'Namespace', 'shop');
    expect(namespace.metadata.namespace).toBeUndefined();
    expect(namespace.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'hks.hexabase.io/project': 'shop',
      'app.kubernetes.io/managed-by': 'hks',
    });
    for (const m of manifests.slice(1)) expect(m.metadata.namespace).toBe('shop');
    expect(find(manifests, 'ServiceAccount', 'hks-workload').automountServiceAccountToken).toBe(
      false,
    );
    expect(at(find(manifests, 'ResourceQuota', 'hks-quota'), 'spec.hard')).toEqual({
      'requests.cpu': '8',
      'requests.memory': '16Gi',
      pods: '100',
    });
    expect(at(find(manifests, 'LimitRange', 'hks-limits'), 'spec.limits')).toEqual([
      {
        type: 'Container',
        defaultRequest: { cpu: '100m', memory: '128Mi' },
        default: { memory: '512Mi' },
      },
    ]);
  });

  test('default deny with exceptions for DNS, the project itself and the Knative data plane', () => {
    const manifests = synth(projectChart('shop'));
    expect(find(manifests, 'NetworkPolicy', 'hks-default-deny').spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
    });
    const dns = find(manifests, 'NetworkPolicy', 'hks-allow-dns');
    expect(at(dns, 'spec.egress')).toEqual([
      {
        to: [
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } },
        ],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
    ]);
    const notTemporary = {
      matchExpressions: [{ key: 'hks.hexabase.io/ephemeral', operator: 'NotIn', values: ['true'] }],
    };
    expect(find(manifests, 'NetworkPolicy', 'hks-allow-same-project').spec).toEqual({
      podSelector: notTemporary,
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: notTemporary }] }],
      egress: [{ to: [{ podSelector: notTemporary }] }],
    });
    const knative = find(manifests, 'NetworkPolicy', 'hks-allow-knative-to-functions');
    expect(at(knative, 'spec.podSelector')).toEqual({
      matchLabels: { 'hks.hexabase.io/kind': 'Function' },
    });
    expect(at(knative, 'spec.ingress')).toEqual([
      {
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
      },
    ]);
  });

  test('temporary functions: ingress from the Knative data plane, egress to DNS only', () => {
    const manifests = synth(projectChart('shop'));
    const temporary = find(manifests, 'NetworkPolicy', 'hks-temporary-functions');
    const knative = find(manifests, 'NetworkPolicy', 'hks-allow-knative-to-functions');
    const dns = find(manifests, 'NetworkPolicy', 'hks-allow-dns');
    expect(temporary.spec).toEqual({
      podSelector: { matchLabels: { 'hks.hexabase.io/ephemeral': 'true' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: at(knative, 'spec.ingress'),
      egress: at(dns, 'spec.egress'),
    });
  });

  test('options and the namespace mapping', () => {
    const chart = new ProjectChart(Testing.app(), 'shop', {
      project: 'shop',
      namespace: 'team-shop',
      tenancy: {
        cpuQuota: '2',
        memoryQuota: '4Gi',
        podQuota: 10,
        defaultMemoryLimit: '1Gi',
        functionIngressNamespaces: ['gateway'],
      },
    });
    const manifests = synth(chart);
    expect(find(manifests, 'Namespace', 'team-shop').metadata.labels).toMatchObject({
      'hks.hexabase.io/project': 'shop',
    });
    expect(at(find(manifests, 'ResourceQuota', 'hks-quota'), 'spec.hard')).toEqual({
      'requests.cpu': '2',
      'requests.memory': '4Gi',
      pods: '10',
    });
    expect(
      at(
        find(manifests, 'NetworkPolicy', 'hks-allow-knative-to-functions'),
        'spec.ingress.0.from.0.namespaceSelector.matchExpressions.0.values',
      ),
    ).toEqual(['gateway']);
    expect(
      at(
        find(manifests, 'NetworkPolicy', 'hks-temporary-functions'),
        'spec.ingress.0.from.0.namespaceSelector.matchExpressions.0.values',
      ),
    ).toEqual(['gateway']);
    expect(
      manifests.every((m) => m.kind === 'Namespace' || m.metadata.namespace === 'team-shop'),
    ).toBe(true);
  });

  test('bad options and names are rejected', () => {
    expect(
      () =>
        new ProjectChart(Testing.app(), 'x', {
          project: 'shop',
          tenancy: { cpuQuota: 'lots', podQuota: 0 },
        }),
    ).toThrow(
      'ProjectTenancy Tenancy: cpuQuota: given "lots", expected a CPU amount such as 250m, 0.5 or 2 (whole millicores, more than 0); podQuota: given 0, expected a whole number of at least 1',
    );
    expect(() => new ProjectChart(Testing.app(), 'x', { project: 'Shop' })).toThrow(
      /ProjectChart x: project: given "Shop", expected a project name/,
    );
    expect(
      () => new ProjectChart(Testing.app(), 'x', { project: 'shop', namespace: 'a'.repeat(64) }),
    ).toThrow(/namespace: given "a{64}" \(64 characters\), expected at most 63/);
  });
});
