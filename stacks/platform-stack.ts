import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { chartOptionsFromSettings } from '../constructs/platform-settings';
import { ProjectNamespaces } from '../constructs/project-namespaces';
import { appsProvider, HksApps } from './hks-apps';
import { HksPlatform } from './hks-platform';
import { KnativeServing } from './knative-serving';
import {
  parseStackConfig,
  RawStackConfig,
  STACK_CONFIG_KEYS,
  STACK_SECRET_KEYS,
  StackConfig,
} from './stack-config';

/** Secrets of the stack, read as Pulumi secret outputs. */
export interface StackSecrets {
  /** @default - none: the embedded SQLite store */
  readonly apiDatabaseUrl?: pulumi.Output<string>;
  /** Required when the API is installed. */
  readonly apiJwtSecret?: pulumi.Output<string>;
  /** @default - internal tokens are verified with apiJwtSecret */
  readonly apiInternalJwtSecret?: pulumi.Output<string>;
  /** @default - `/metrics` is not served */
  readonly apiMetricsToken?: pulumi.Output<string>;
  /** @default - none: no warm pool in mode `deployment` */
  readonly apiWarmPoolKey?: pulumi.Output<string>;
}

/** What the stack exports. */
export interface PlatformStackOutputs {
  readonly kourierAddress: pulumi.Output<string>;
  readonly domain: pulumi.Output<string>;
  readonly knativeVersion: pulumi.Output<string>;
  readonly apiUrl: pulumi.Output<string>;
  readonly appObjectCount: pulumi.Output<number>;
}

/** The resources of the stack, for tests and for programs that build on it. */
export interface PlatformStack extends PlatformStackOutputs {
  readonly knative: KnativeServing;
  readonly platform: HksPlatform;
  readonly apps?: HksApps;
}

const SECRET_KEYS = new Set<string>(STACK_SECRET_KEYS);

/**
 * Reads and checks the stack's config: plain values as strings, the two secrets as secret
 * outputs (their plaintext is never read here).
 *
 * @throws StackConfigError naming the key, the value given and what is expected
 */
export function readStackConfig(config: pulumi.Config): {
  settings: StackConfig;
  secrets: StackSecrets;
} {
  const secrets: StackSecrets = Object.fromEntries(
    STACK_SECRET_KEYS.map((key) => [key, config.getSecret(key)]),
  );
  const raw: Record<string, string> = {};
  for (const key of STACK_CONFIG_KEYS) {
    if (SECRET_KEYS.has(key)) {
      if (secrets[key as keyof StackSecrets] !== undefined) raw[key] = '<set>';
    } else {
      const value = config.get(key);
      if (value !== undefined) raw[key] = value;
    }
  }
  return { settings: parseStackConfig(raw as RawStackConfig), secrets };
}

/**
 * The whole stack: Knative Serving + Kourier, the platform (namespace, API, RBAC), and the
 * applications of `apps/` after Knative when asked for.
 */
export function createPlatformStack(settings: StackConfig, secrets: StackSecrets): PlatformStack {
  const knative = new KnativeServing('knative', {
    version: settings.knativeVersion,
    manifestDir: settings.knativeManifestDir,
    domain: settings.domain,
    kourierServiceType: settings.kourierServiceType,
    magicDns: settings.magicDns,
    skipAwait: settings.skipAwait,
    webhooks: settings.knativeWebhooks,
  });
  const platform = new HksPlatform('hks', {
    namespace: settings.platformNamespace,
    skipAwait: settings.skipAwait,
    api:
      settings.api === undefined
        ? undefined
        : {
            image: settings.api.image,
            replicas: settings.api.replicas,
            namespacePrefix: settings.namespacePrefix,
            sqliteStorage: settings.api.sqliteStorage,
            environment: settings.api.environment,
            databaseUrl: secrets.apiDatabaseUrl,
            jwtSecret: secrets.apiJwtSecret ?? pulumi.secret(''),
            internalJwtSecret: secrets.apiInternalJwtSecret,
            metricsToken: secrets.apiMetricsToken,
            warmPoolKey: secrets.apiWarmPoolKey,
            platformSettings: settings.platformSettings,
          },
  });
  const namespaces = new ProjectNamespaces(settings.namespacePrefix);
  const apps =
    settings.appsDir === undefined
      ? undefined
      : new HksApps(
          'apps',
          {
            appsDir: settings.appsDir,
            skipAwait: settings.skipAwait,
            build: {
              ...chartOptionsFromSettings(settings.platformSettings ?? {}),
              namespaceForProject: (project) => namespaces.of(project),
            },
          },
          { dependsOn: [knative, platform], provider: stackAppsProvider(knative) },
        );
  return {
    knative,
    platform,
    apps,
    kourierAddress: knative.kourierAddress,
    domain: knative.domain,
    knativeVersion: knative.knativeVersion,
    apiUrl: platform.apiUrl,
    appObjectCount: apps?.objectCount ?? pulumi.output(0),
  };
}

/**
 * The provider of the applications ({@link appsProvider}): the stack's `kubernetes:kubeconfig`
 * and `kubernetes:context`, ConfigMaps updated in place like the default provider's
 * (Pulumi.yaml).
 */
function stackAppsProvider(knative: KnativeServing): k8s.Provider {
  const config = new pulumi.Config('kubernetes');
  return appsProvider('apps-provider', knative, {
    kubeconfig: config.get('kubeconfig'),
    context: config.get('context'),
    enableConfigMapMutable: true,
  });
}
