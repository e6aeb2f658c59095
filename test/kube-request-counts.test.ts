import { KubeRequestCounts, kubeCallOf } from '../api/kube-request-counts';

test('verb and resource of the API server paths the API calls', () => {
  const apply = 'application/apply-patch+yaml';
  expect(
    kubeCallOf('PATCH', '/apis/apps/v1/namespaces/shop/deployments/web?force=true', apply),
  ).toEqual({
    verb: 'apply',
    resource: 'deployments.apps',
  });
  expect(
    kubeCallOf('PATCH', '/apis/batch/v1/namespaces/shop/jobs/j', 'application/json-patch+json'),
  ).toEqual({
    verb: 'patch',
    resource: 'jobs.batch',
  });
  expect(kubeCallOf('PATCH', '/api/v1/namespaces/shop', apply)).toEqual({
    verb: 'apply',
    resource: 'namespaces',
  });
  expect(kubeCallOf('GET', '/api/v1/namespaces?limit=1')).toEqual({
    verb: 'list',
    resource: 'namespaces',
  });
  expect(kubeCallOf('GET', '/api/v1/namespaces/shop/pods/p-1/log?container=main')).toEqual({
    verb: 'get',
    resource: 'pods/log',
  });
  expect(
    kubeCallOf('GET', '/apis/serving.knative.dev/v1/services?watch=true&labelSelector=a'),
  ).toEqual({
    verb: 'watch',
    resource: 'services.serving.knative.dev',
  });
  expect(kubeCallOf('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')).toEqual({
    verb: 'create',
    resource: 'selfsubjectaccessreviews.authorization.k8s.io',
  });
  expect(kubeCallOf('PUT', '/apis/coordination.k8s.io/v1/namespaces/hks/leases/l')).toEqual({
    verb: 'update',
    resource: 'leases.coordination.k8s.io',
  });
  expect(kubeCallOf('DELETE', '/api/v1/namespaces/shop/secrets/s')).toEqual({
    verb: 'delete',
    resource: 'secrets',
  });
  expect(kubeCallOf('GET', '/version')).toEqual({ verb: 'get', resource: 'version' });
});

test('counts by verb and resource, and tells its listeners', () => {
  const counts = new KubeRequestCounts();
  const told: string[] = [];
  counts.onRequest((call) => told.push(`${call.verb} ${call.resource}`));
  counts.count({ verb: 'apply', resource: 'namespaces' });
  counts.count({ verb: 'apply', resource: 'namespaces' });
  counts.count({ verb: 'get', resource: 'pods' });
  expect(counts.snapshot()).toEqual([
    { verb: 'apply', resource: 'namespaces', count: 2 },
    { verb: 'get', resource: 'pods', count: 1 },
  ]);
  expect(told).toEqual(['apply namespaces', 'apply namespaces', 'get pods']);
});
