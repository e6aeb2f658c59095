import { FunctionService } from '../constructs';
import { poolObjects, poolSecret } from '../api/warm-pool-objects';
import type { KubeObject } from '../api/kube';
import { projectChart, synth } from './support/manifests';

/** A session-mode function's objects as the constructs make them, the pool's starting point. */
function synthesized(): KubeObject[] {
  const chart = projectChart('lab', 'hks-lab');
  new FunctionService(chart, 'pool-0123456789ab', {
    name: 'pool-0123456789ab',
    runtime: 'python3.12',
    code: 'def handler(event):\n    return None\n',
    timeoutSeconds: 600,
    scaling: { minScale: 1, maxScale: 1 },
    visibility: 'cluster-local',
  });
  return synth(chart).filter(
    (o) => o.metadata.labels?.['hks.hexabase.io/app'] === 'pool-0123456789ab',
  ) as unknown as KubeObject[];
}

type Deployment = {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: Record<string, unknown> & {
        containers: (Record<string, unknown> & { env: { name: string }[] })[];
      };
    };
  };
};

describe('warm pool objects (Deployment mode)', () => {
  const secret = poolSecret('k'.repeat(32), 'hks-lab', 'hks-warm-python312');

  it('derives one secret per key, namespace and pool, named by a digest of it', () => {
    expect(poolSecret('k'.repeat(32), 'hks-lab', 'hks-warm-python312')).toEqual(secret);
    expect(secret.value).toMatch(/^[0-9a-f]{64}$/);
    expect(secret.digest).toMatch(/^[0-9a-f]{10}$/);
    expect(poolSecret('k'.repeat(32), 'hks-shop', 'hks-warm-python312').value).not.toBe(
      secret.value,
    );
    expect(poolSecret('k'.repeat(32), 'hks-lab', 'hks-warm-nodejs20').value).not.toBe(secret.value);
    expect(poolSecret('j'.repeat(32), 'hks-lab', 'hks-warm-python312').digest).not.toBe(
      secret.digest,
    );
  });

  it('makes the Knative Service a Deployment that selects only idle pods of the current secret', () => {
    const { objects, secret: secretObject } = poolObjects({
      synthesized: synthesized(),
      name: 'hks-warm-python312',
      runtime: 'python3.12',
      replicas: 3,
      secret,
      apiNamespace: 'hks-system',
    });
    expect(objects.map((o) => o.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'NetworkPolicy',
      'ServiceAccount',
    ]);
    const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as Deployment;
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.selector.matchLabels).toEqual({
      'hks.hexabase.io/app': 'hks-warm-python312',
      'hks.hexabase.io/warm-pool-state': 'idle',
    });
    expect(deployment.spec.template.metadata.labels).toMatchObject({
      'hks.hexabase.io/warm-pool': 'python3.12',
      'hks.hexabase.io/warm-pool-state': 'idle',
      'hks.hexabase.io/warm-pool-key': secret.digest,
    });
    const pod = deployment.spec.template.spec;
    // Knative's own fields are not a pod's.
    expect(pod.timeoutSeconds).toBeUndefined();
    expect(pod.containerConcurrency).toBeUndefined();
    const [container] = pod.containers;
    expect(container.readinessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 8080 } });
    expect(container.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 8080 } });
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'PORT', value: '8080' },
        { name: 'HKS_SESSION_ONCE', value: '1' },
        {
          name: 'HKS_SESSION_SECRET',
          valueFrom: {
            secretKeyRef: { name: `hks-warm-python312-${secret.digest}`, key: 'secret' },
          },
        },
      ]),
    );
    expect(secretObject.metadata.name).toBe(`hks-warm-python312-${secret.digest}`);
    expect(JSON.stringify(objects)).not.toContain(secret.value);
    // Named as the pool throughout: no trace of the function it was made from.
    expect(JSON.stringify(objects)).not.toContain('pool-0123456789ab');
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      expect.stringMatching(/^ConfigMap\/hks-warm-python312-[0-9a-f]{10}$/),
      'Deployment/hks-warm-python312',
      'NetworkPolicy/hks-warm-python312',
      'ServiceAccount/hks-warm-python312',
    ]);
    expect(pod.serviceAccountName).toBe('hks-warm-python312');
  });

  it('lets in only the API’s pods, and none when the API runs outside the cluster', () => {
    const policy = (apiNamespace?: string) =>
      poolObjects({
        synthesized: synthesized(),
        name: 'hks-warm-python312',
        runtime: 'python3.12',
        replicas: 1,
        secret,
        apiNamespace,
      }).objects.find((o) => o.kind === 'NetworkPolicy') as unknown as {
        spec: { ingress: unknown[] };
      };
    expect(policy('hks-system').spec.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'hks-system' } },
            podSelector: { matchLabels: { 'app.kubernetes.io/name': 'hks-api' } },
          },
        ],
        ports: [{ port: 8080, protocol: 'TCP' }],
      },
    ]);
    expect(policy(undefined).spec.ingress).toEqual([]);
  });

  it('refuses objects without a Knative Service', () => {
    expect(() =>
      poolObjects({
        synthesized: [],
        name: 'hks-warm-python312',
        runtime: 'python3.12',
        replicas: 1,
        secret,
      }),
    ).toThrow(/Knative Service/);
  });
});
