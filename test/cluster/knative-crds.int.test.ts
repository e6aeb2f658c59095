import { stringify } from 'yaml';
import { installKnativeServingCrds } from './knative';
import { kubectl, kubectlOk } from './kubectl';
import { createTestNamespace, deleteTestNamespace } from './namespace';

function knativeService(namespace: string, name: string, templateSpec: object): string {
  return stringify({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { template: { spec: templateSpec } },
  });
}

describe('Knative Serving CRDs', () => {
  let namespace = '';

  beforeAll(async () => {
    await installKnativeServingCrds();
    namespace = await createTestNamespace('knative');
  }, 60_000);

  afterAll(async () => {
    await deleteTestNamespace(namespace);
  });

  test('are installed and served', async () => {
    const resources = await kubectlOk([
      'api-resources',
      '--api-group=serving.knative.dev',
      '-o',
      'name',
    ]);
    expect(resources.split('\n')).toEqual(
      expect.arrayContaining([
        'configurations.serving.knative.dev',
        'revisions.serving.knative.dev',
        'routes.serving.knative.dev',
        'services.serving.knative.dev',
      ]),
    );
  });

  test('accept a Service that matches the schema', async () => {
    const manifest = knativeService(namespace, 'hello', {
      containerConcurrency: 10,
      timeoutSeconds: 30,
      containers: [
        { image: 'ghcr.io/knative/helloworld-go:latest', ports: [{ containerPort: 8080 }] },
      ],
    });
    await kubectlOk(['create', '-f', '-'], manifest);
    const image = await kubectlOk([
      'get', 'services.serving.knative.dev', 'hello', '-n', namespace,
      '-o', 'jsonpath={.spec.template.spec.containers[0].image}',
    ]); // prettier-ignore
    expect(image).toBe('ghcr.io/knative/helloworld-go:latest');
  });

  test('reject a Service that does not match the schema', async () => {
    const manifest = knativeService(namespace, 'broken', {
      containerConcurrency: 'ten',
      containers: 'ghcr.io/knative/helloworld-go:latest',
    });
    const result = await kubectl(['create', '-f', '-'], manifest);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('is invalid');
    expect(result.stderr).toContain('spec.template.spec.containers: Invalid value: "string"');
    expect(result.stderr).toContain(
      'spec.template.spec.containerConcurrency: Invalid value: "string"',
    );
    const lookup = await kubectl([
      'get',
      'services.serving.knative.dev',
      'broken',
      '-n',
      namespace,
    ]);
    expect(lookup.code).not.toBe(0);
  });
});
