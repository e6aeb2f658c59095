import { Chart, Testing } from 'cdk8s';
import { StatelessApplication } from '../constructs';
import {
  at,
  find,
  podSpecOf,
  projectChart,
  restrictedViolations,
  synth,
} from './support/manifests';

describe('StatelessApplication', () => {
  test('a Deployment and a Service with stable names, labels and selectors', () => {
    const chart = projectChart('shop');
    new StatelessApplication(chart, 'api', {
      image: 'ghcr.io/acme/shop-api:1.4.2',
      port: 8080,
      replicas: 2,
      labels: { team: 'web' },
    });
    const manifests = synth(chart);
    const deployment = find(manifests, 'Deployment', 'api');
    const service = find(manifests, 'Service', 'api');
    const labels = {
      team: 'web',
      'app.kubernetes.io/name': 'api',
      'app.kubernetes.io/managed-by': 'hks',
      'hks.hexabase.io/project': 'shop',
      'hks.hexabase.io/app': 'api',
      'hks.hexabase.io/kind': 'StatelessApplication',
    };
    expect(deployment.metadata).toEqual({ name: 'api', namespace: 'shop', labels });
    expect(at(deployment, 'spec.replicas')).toBe(2);
    expect(at(deployment, 'spec.selector')).toEqual({
      matchLabels: { 'hks.hexabase.io/project': 'shop', 'hks.hexabase.io/app': 'api' },
    });
    expect(at(deployment, 'spec.template.metadata.labels')).toMatchObject(labels);
    expect(service.metadata.labels).toEqual(labels);
    expect(at(service, 'spec.selector')).toEqual({
      'hks.hexabase.io/project': 'shop',
      'hks.hexabase.io/app': 'api',
    });
    expect(at(service, 'spec.ports')).toEqual([{ name: 'http', port: 8080, targetPort: 8080 }]);
    expect(at(service, 'spec.type')).toBe('ClusterIP');
  });

  test('overrides the cdk8s-plus defaults deliberately', () => {
    const chart = projectChart();
    new StatelessApplication(chart, 'api', { image: 'ghcr.io/acme/api:1' });
    const manifests = synth(chart);
    const deployment = find(manifests, 'Deployment', 'api');
    const pod = podSpecOf(deployment);
    const container = (pod.containers as Record<string, unknown>[])[0];
    expect(at(deployment, 'spec.replicas')).toBe(1);
    expect(container.resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { memory: '128Mi' },
    });
    expect(container.imagePullPolicy).toBe('IfNotPresent');
    expect(container.ports).toBeUndefined();
    expect(container.startupProbe).toBeUndefined();
    expect(container.readinessProbe).toBeUndefined();
    expect(pod.serviceAccountName).toBe('hks-workload');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(manifests.filter((m) => m.kind === 'Service')).toHaveLength(0);
  });

  test('pods pass Pod Security restricted and get a writable /tmp on a read-only root', () => {
    const chart = projectChart();
    new StatelessApplication(chart, 'api', { image: 'ghcr.io/acme/api:1', port: 80 });
    const pod = podSpecOf(find(synth(chart), 'Deployment', 'api'));
    expect(restrictedViolations(pod)).toEqual([]);
    const container = (pod.containers as Record<string, unknown>[])[0];
    expect(at(container, 'securityContext.readOnlyRootFilesystem')).toBe(true);
    expect(container.volumeMounts).toEqual([{ mountPath: '/tmp', name: 'tmp' }]);
    expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: {} }]);
    expect(container.readinessProbe).toEqual({ failureThreshold: 3, tcpSocket: { port: 80 } });
  });

  test('env, secretEnv, envFrom, command, args, resources and service account', () => {
    const chart = projectChart();
    new StatelessApplication(chart, 'api', {
      image: 'ghcr.io/acme/api:latest',
      command: ['node'],
      args: ['server.js'],
      env: { LOG_LEVEL: 'info', WORKERS: 4 },
      secretEnv: { DB_PASSWORD: { secret: 'shop-db', key: 'password' } },
      envFrom: [{ configMap: 'shop-config' }, { secret: 'shop-secrets', prefix: 'S_' }],
      resources: { cpu: '0.5', memory: '1Gi', cpuLimit: 1, memoryLimit: '2Gi' },
      serviceAccount: 'shop-api',
    });
    const pod = podSpecOf(find(synth(chart), 'Deployment', 'api'));
    const container = (pod.containers as Record<string, unknown>[])[0];
    expect(container.command).toEqual(['node']);
    expect(container.args).toEqual(['server.js']);
    expect(container.imagePullPolicy).toBe('Always');
    expect(container.env).toEqual([
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'WORKERS', value: '4' },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'shop-db', key: 'password' } } },
    ]);
    expect(container.envFrom).toEqual([
      { configMapRef: { name: 'shop-config' } },
      { secretRef: { name: 'shop-secrets' }, prefix: 'S_' },
    ]);
    expect(container.resources).toEqual({
      requests: { cpu: '0.5', memory: '1024Mi' },
      limits: { cpu: '1', memory: '2048Mi' },
    });
    expect(pod.serviceAccountName).toBe('shop-api');
  });

  test('invalid props are rejected with every problem, in the words of the YAML door', () => {
    const chart = projectChart();
    expect(
      () =>
        new StatelessApplication(chart, 'API', {
          image: 'nginx latest',
          port: 0,
          resources: { cpu: 'lots' },
        }),
    ).toThrow(
      [
        'StatelessApplication "API" in project "shop" is invalid:',
        '  name: given "API", expected a name: a DNS-1123 label of lower-case letters, digits and \'-\', starting with a letter and ending with a letter or digit',
        '  image: given "nginx latest", expected an image reference such as ghcr.io/acme/api:1.4.2 (lower-case repository, optional :tag and @sha256:digest)',
        '  resources.cpu: given "lots", expected a CPU amount such as 250m, 0.5 or 2 (whole millicores, more than 0)',
        '  port: given 0, expected at least 1',
      ].join('\n'),
    );
  });

  test('must live in a ProjectChart', () => {
    const plain = new Chart(Testing.app(), 'plain');
    expect(() => new StatelessApplication(plain, 'api', { image: 'nginx:1' })).toThrow(
      /plain\/api: must be created inside a ProjectChart/,
    );
  });
});
