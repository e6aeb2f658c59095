/**
 * A platform engineer's own Pulumi program: Knative Serving with Kourier, the HKS platform
 * (its namespace, the API and its RBAC) and the applications of one project, on the cluster
 * its own provider names. Every resource goes through that provider (and the applications'
 * one), none through Pulumi's default provider.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { resolve } from 'node:path';
// From the npm package this is `from 'hks-platform/stacks'`: the package has no compiled
// build and no exports map yet, so in this repository the program imports the sources.
import {
  appsProvider,
  HksApps,
  HksPlatform,
  KnativeServing,
  type KourierServiceType,
} from '../../stacks';

const config = new pulumi.Config();
const manifestDir = config.get('knativeManifestDir');

/** The cluster: a kubeconfig path (or its contents) and a context; unset, the ambient ones. */
const clusterArgs: k8s.ProviderArgs = {
  kubeconfig: config.get('kubeconfig'),
  context: config.get('context'),
  // Knative reads config-domain and config-network while it runs: change them in place
  enableConfigMapMutable: true,
};
const cluster = new k8s.Provider('cluster', clusterArgs);

const knative = new KnativeServing(
  'knative',
  {
    manifestDir: manifestDir === undefined ? undefined : resolve(__dirname, manifestDir),
    domain: config.get('domain'),
    kourierServiceType: config.require('kourierServiceType') as KourierServiceType,
    webhooks: config.requireBoolean('knativeWebhooks'),
  },
  { provider: cluster },
);

/** Projects' namespaces are `team-<project>`, for the API and the applications alike. */
const namespacePrefix = 'team-';

const platform = new HksPlatform(
  'platform',
  {
    namespace: 'platform',
    api: {
      image: config.get('apiImage'),
      namespacePrefix,
      jwtSecret: config.requireSecret('apiJwtSecret'),
      environment: {
        HKS_FUNCTION_GATEWAY: 'http://kourier-internal.kourier-system.svc.cluster.local',
      },
    },
  },
  { provider: cluster },
);

const apps = new HksApps(
  'apps',
  {
    appsDir: resolve(__dirname, 'apps'),
    build: { namespaceForProject: (project) => `${namespacePrefix}${project}` },
  },
  {
    dependsOn: [knative, platform],
    // the same cluster, through a provider that first looks at it once Knative's kinds exist
    provider: appsProvider('apps-cluster', knative, clusterArgs),
  },
);

export const kourierAddress = knative.kourierAddress;
export const domain = knative.domain;
export const knativeVersion = knative.knativeVersion;
export const servingNamespace = knative.servingNamespace;
export const kourierNamespace = knative.kourierNamespace;
export const platformNamespace = platform.namespaceName;
export const apiUrl = platform.apiUrl;
export const appNamespaces = apps.namespaces;
export const appObjectCount = apps.objectCount;
