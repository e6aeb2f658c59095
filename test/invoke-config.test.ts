import { ConfigError, loadConfig } from '../api/config';

/** The invoke and metrics variables: safe defaults, bad values named. */

const SECRET = 'user-secret-of-at-least-thirty-two-bytes!';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ HKS_JWT_SECRET: SECRET, ...env }, '/tmp');
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

test('defaults: no metrics token (not served), cluster.local, no dev hosts', () => {
  const config = loadConfig({ HKS_JWT_SECRET: SECRET }, '/tmp');
  expect(config.metricsToken).toBeUndefined();
  expect(config.clusterDomain).toBe('cluster.local');
  expect(config.devFunctionHosts).toEqual([]);
});

test('the variables are read', () => {
  const config = loadConfig(
    {
      HKS_JWT_SECRET: SECRET,
      HKS_METRICS_TOKEN: 'a-metrics-token-of-some-length',
      HKS_CLUSTER_DOMAIN: 'corp.internal',
      HKS_DEV_FUNCTION_HOSTS: '127.0.0.1, ::1,localhost',
    },
    '/tmp',
  );
  expect(config.metricsToken).toBe('a-metrics-token-of-some-length');
  expect(config.clusterDomain).toBe('corp.internal');
  expect(config.devFunctionHosts).toEqual(['127.0.0.1', '::1', 'localhost']);
});

test('a short metrics token, a bad domain and non-loopback dev hosts are refused', () => {
  expect(
    problemsOf({
      HKS_METRICS_TOKEN: 'short',
      HKS_CLUSTER_DOMAIN: 'Cluster Local',
      HKS_DEV_FUNCTION_HOSTS: '127.0.0.1,169.254.169.254,example.com',
    }),
  ).toEqual([
    'HKS_METRICS_TOKEN: given 5 bytes, expected at least 16 bytes (unset: /metrics is not served)',
    'HKS_CLUSTER_DOMAIN: given "Cluster Local", expected a DNS domain such as cluster.local',
    'HKS_DEV_FUNCTION_HOSTS: given "169.254.169.254", expected loopback hosts only (127.x.x.x, ::1, localhost)',
    'HKS_DEV_FUNCTION_HOSTS: given "example.com", expected loopback hosts only (127.x.x.x, ::1, localhost)',
  ]);
});
