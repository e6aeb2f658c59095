import { parseStackConfig, RawStackConfig } from '../stacks/stack-config';

const withApi: RawStackConfig = { apiImage: 'ghcr.io/acme/hks-api:0.1.0', apiJwtSecret: '<set>' };

describe('parseStackConfig', () => {
  it('applies the documented defaults', () => {
    expect(parseStackConfig(withApi)).toEqual({
      knativeVersion: '1.13.0',
      knativeManifestDir: undefined,
      domain: undefined,
      kourierServiceType: 'LoadBalancer',
      magicDns: false,
      skipAwait: false,
      knativeWebhooks: true,
      api: { image: 'ghcr.io/acme/hks-api:0.1.0', replicas: 1, hasDatabaseUrl: false },
      appsDir: undefined,
    });
  });

  it('reads every setting', () => {
    expect(
      parseStackConfig({
        knativeVersion: 'v1.14.1',
        knativeManifestDir: '/srv/knative/v1.14.1',
        domain: 'fn.example.com',
        kourierServiceType: 'NodePort',
        skipAwait: 'true',
        knativeWebhooks: 'false',
        installApi: 'false',
        deployApps: 'true',
      }),
    ).toEqual({
      knativeVersion: '1.14.1',
      knativeManifestDir: '/srv/knative/v1.14.1',
      domain: 'fn.example.com',
      kourierServiceType: 'NodePort',
      magicDns: false,
      skipAwait: true,
      knativeWebhooks: false,
      api: undefined,
      appsDir: 'apps',
    });
  });

  it('allows several API replicas with a database URL', () => {
    expect(parseStackConfig({ ...withApi, apiReplicas: '3', apiDatabaseUrl: '<set>' }).api).toEqual(
      { image: 'ghcr.io/acme/hks-api:0.1.0', replicas: 3, hasDatabaseUrl: true },
    );
  });

  it.each<[RawStackConfig, string]>([
    [
      { ...withApi, knativeVersion: '1.13' },
      'hks-platform:knativeVersion: given "1.13", expected a Knative release version such as "1.13.0"',
    ],
    [
      { ...withApi, kourierServiceType: 'loadbalancer' },
      'hks-platform:kourierServiceType: given "loadbalancer", expected one of LoadBalancer, NodePort, ClusterIP',
    ],
    [
      { ...withApi, domain: 'https://fn.example.com' },
      'hks-platform:domain: given "https://fn.example.com", expected a lower-case DNS name such as "fn.example.com"',
    ],
    [
      { ...withApi, domain: 'fn.example.com', magicDns: 'true' },
      'hks-platform:domain: given "fn.example.com", expected no domain when magicDns is true',
    ],
    [{ ...withApi, magicDns: 'yes' }, 'hks-platform:magicDns: given "yes", expected true or false'],
    [
      { apiJwtSecret: '<set>' },
      'hks-platform:apiImage: given nothing, expected an image reference such as ghcr.io/acme/hks-api:0.1.0 (or installApi false)',
    ],
    [
      { apiImage: 'ghcr.io/acme/hks-api:0.1.0' },
      'hks-platform:apiJwtSecret: given nothing, expected a secret (pulumi config set --secret apiJwtSecret <value>)',
    ],
    [
      { ...withApi, apiReplicas: '0' },
      'hks-platform:apiReplicas: given "0", expected a whole number from 1 to 20',
    ],
    [
      { ...withApi, apiReplicas: '2' },
      'hks-platform:apiReplicas: given "2", expected 1 without apiDatabaseUrl (the embedded SQLite store is per pod)',
    ],
    [
      { ...withApi, installApi: 'no' },
      'hks-platform:installApi: given "no", expected true or false',
    ],
  ])('refuses %j', (raw, message) => {
    expect(() => parseStackConfig(raw)).toThrow(message);
  });
});
