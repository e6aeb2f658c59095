import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import {
  AccessObject,
  API_CLUSTER_ROLE,
  API_NAMES,
  API_POD_LABELS,
  API_PORT,
  apiAccessObjects,
} from '../api';
import { API_IMAGE_USER, apiImageReference } from '../images/api/reference';
import {
  containerQuantities,
  type PlatformSettings,
  RESTRICTED_SECURITY_CONTEXT,
  SCRATCH_MOUNT_PATH,
} from '../constructs';
import { KOURIER_SERVICE } from '../knative';
import { argChecks } from './component-args';
import {
  apiEnvironmentProblem,
  claimWithDatabaseUrl,
  expectApiImage,
  expectApiReplicas,
  expectNamespacePrefix,
  expectPlatformNamespace,
  expectStorageClass,
  expectStorageSize,
} from './setting-rules';
import { API_VARIABLES, SQLITE_STORAGE_KINDS, type SqliteStorage } from './stack-config';

/** The API's requests and limits: room for the informers' caches and the checker pool. */
const API_RESOURCES = { cpu: '100m', memory: '256Mi', memoryLimit: '1Gi' } as const;

/** Labels of every platform object. */
export const PLATFORM_LABELS = {
  'app.kubernetes.io/part-of': 'hks-platform',
  'app.kubernetes.io/managed-by': 'pulumi',
} as const;

/** The volume the API keeps its embedded SQLite store on when no database URL is given. */
export const API_DATA_DIR = '/var/lib/hks';

/** The SQLite file the API opens (`HKS_SQLITE_PATH`), on the data volume. */
export const API_SQLITE_PATH = `${API_DATA_DIR}/api.sqlite`;

/** Name of the API's PersistentVolumeClaim, with `sqliteStorage` persistentVolumeClaim. */
export const API_DATA_CLAIM = 'hks-api-data';

/** Settings of the API Deployment. */
export interface HksApiArgs {
  /**
   * Container image, e.g. `ghcr.io/acme/hks-api:0.1.0` (`npm run image:api` builds it; push it
   * or import it into the nodes). Pulled `IfNotPresent`, `Always` for a `:latest` tag.
   * @default - `hks.local/hks-api:<package version>`, the reference `npm run image:api` gives it
   */
  readonly image?: string;
  /** Replicas, 1 to 20; more than 1 needs `databaseUrl` (SQLite is per pod). @default 1 */
  readonly replicas?: number;
  /** Namespace of a project = prefix + project (`HKS_NAMESPACE_PREFIX`). @default '' */
  readonly namespacePrefix?: string;
  /**
   * The volume of the embedded SQLite store (without `databaseUrl`).
   * @default - an emptyDir: the history lives as long as the pod
   */
  readonly sqliteStorage?: SqliteStorage;
  /**
   * The API's settings as its environment variables, e.g. `{ HKS_JWT_ISSUER: 'https://login.example.com' }`:
   * the variables of `API_VARIABLES` (docs/pulumi.md), checked with the
   * API's own rules. The others are set from the other arguments.
   * @default {} - the API's defaults
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * PostgreSQL URL of the execution store (a Pulumi secret).
   * @default - the embedded SQLite store at /var/lib/hks/api.sqlite
   */
  readonly databaseUrl?: pulumi.Input<string>;
  /** Secret that signs API tokens (a Pulumi secret). */
  readonly jwtSecret: pulumi.Input<string>;
  /** Secret of internal (agent) tokens (a Pulumi secret). @default - the jwtSecret */
  readonly internalJwtSecret?: pulumi.Input<string>;
  /** Bearer token `/metrics` requires (a Pulumi secret). @default - `/metrics` is not served */
  readonly metricsToken?: pulumi.Input<string>;
  /**
   * Key the warm pools' session secrets are derived from (`HKS_WARM_POOL_KEY`, a Pulumi
   * secret of at least 32 characters): required when `environment` sets
   * `HKS_WARM_POOL_MODE=deployment` with a project in `HKS_WARM_POOL_PROJECTS` (docs/warm-pool.md).
   * @default - none: no pool in mode `deployment`
   */
  readonly warmPoolKey?: pulumi.Input<string>;
  /**
   * The operator's tenancy and runtime images (docs/platform-settings.md), given to the API
   * as a ConfigMap file it reads at start (`HKS_PLATFORM_SETTINGS`), so that what it applies
   * matches what the stack deploys.
   * @default - the constructs' defaults
   */
  readonly platformSettings?: PlatformSettings;
}

/** Where the API's pod finds the platform settings' ConfigMap. */
const SETTINGS_DIR = '/etc/hks/settings';
const SETTINGS_FILE = 'settings.json';
const SETTINGS_CONFIG_MAP = 'hks-platform-settings';

/** Arguments of {@link HksPlatform}. */
export interface HksPlatformArgs {
  /**
   * The platform's namespace: the API, its ServiceAccount, Secret and network policies. Not
   * `default`, `kube-*`, `knative-*` or `kourier-*`.
   * @default 'hks-system'
   */
  readonly namespace?: string;
  /** The API, or nothing to install only the namespace and its network policies. @default - no API */
  readonly api?: HksApiArgs;
  /** Do not wait for the API Deployment to become Available. @default false */
  readonly skipAwait?: boolean;
}

/** The API's settings `environment` may hold: the other variables come from other arguments. */
const API_SETTING_VARIABLES: readonly string[] = Object.values(API_VARIABLES);

/**
 * Checks the arguments of `HksPlatform "<name>"` with the stack config's rules.
 *
 * @throws ComponentArgError naming the argument, the value given and what is expected
 */
function checkArgs(name: string, args: HksPlatformArgs): void {
  const check = argChecks('HksPlatform', name);
  if (args.namespace !== undefined) {
    check.rule('namespace', args.namespace, expectPlatformNamespace(args.namespace));
  }
  check.optionalBoolean('skipAwait', args.skipAwait);
  const api = args.api;
  if (api === undefined) return;
  if (api.image !== undefined) check.rule('api.image', api.image, expectApiImage(api.image));
  const hasDatabaseUrl = api.databaseUrl !== undefined;
  const replicas = api.replicas ?? 1;
  check.rule('api.replicas', replicas, expectApiReplicas(replicas, hasDatabaseUrl, 'databaseUrl'));
  const prefix = api.namespacePrefix ?? '';
  check.rule('api.namespacePrefix', prefix, expectNamespacePrefix(prefix));
  const storage = api.sqliteStorage;
  if (storage !== undefined) {
    check.oneOf('api.sqliteStorage.kind', storage.kind, SQLITE_STORAGE_KINDS);
    if (storage.kind === 'persistentVolumeClaim') {
      if (hasDatabaseUrl) {
        check.rule('api.sqliteStorage.kind', storage.kind, claimWithDatabaseUrl('databaseUrl'));
      }
      check.rule('api.sqliteStorage.size', storage.size, expectStorageSize(String(storage.size)));
      if (storage.storageClassName !== undefined) {
        check.rule(
          'api.sqliteStorage.storageClassName',
          storage.storageClassName,
          expectStorageClass(storage.storageClassName),
        );
      }
    }
  }
  const environment = api.environment ?? {};
  for (const variable of Object.keys(environment)) {
    check.rule(
      'api.environment',
      variable,
      API_SETTING_VARIABLES.includes(variable)
        ? undefined
        : `one of the API's settings ${API_SETTING_VARIABLES.join(', ')} (the namespace prefix, the store and the secrets are arguments of their own)`,
    );
  }
  const problem = apiEnvironmentProblem(
    { ...environment, HKS_NAMESPACE_PREFIX: prefix },
    { warmPoolKey: api.warmPoolKey !== undefined },
  );
  if (problem?.variable === 'HKS_WARM_POOL_KEY') {
    check.rule('api.warmPoolKey', api.warmPoolKey, problem.expected);
  } else if (problem !== undefined) {
    check.rule(
      `api.environment.${problem.variable}`,
      environment[problem.variable],
      problem.expected,
    );
  }
}

/**
 * The platform: its namespace, `hks-system` by default (Pod Security `restricted`,
 * deny-by-default network policies) and, when asked for, the API: its ServiceAccount with the
 * access `apiAccessObjects` defines (a small cluster-wide ClusterRole, the per-namespace tenant
 * ClusterRole and the admission policy that confines its writes to managed namespaces), a
 * Secret with its configuration, a PersistentVolumeClaim when its SQLite store asks for one, a
 * Deployment and a Service.
 */
export class HksPlatform extends pulumi.ComponentResource {
  /** The component's type token, part of the URN of every resource under it: stable. */
  public static readonly pulumiType = 'hks:platform:HksPlatform';

  /** The platform's namespace. */
  public readonly namespace: k8s.core.v1.Namespace;
  /** Name of the platform's namespace, once it exists. */
  public readonly namespaceName: pulumi.Output<string>;
  /** The API's cluster-wide ClusterRole, when the API is installed. */
  public readonly clusterRole?: k8s.rbac.v1.ClusterRole;
  /** The API's configuration Secret, when the API is installed. */
  public readonly configSecret?: k8s.core.v1.Secret;
  /** The API's Deployment, when the API is installed. */
  public readonly apiDeployment?: k8s.apps.v1.Deployment;
  /** The API's ClusterIP Service, when the API is installed. */
  public readonly apiService?: k8s.core.v1.Service;
  /**
   * In-cluster URL of the API (`http://hks-api.<namespace>.svc`) once its Service exists, or
   * empty when it is not installed.
   */
  public readonly apiUrl: pulumi.Output<string>;

  constructor(name: string, args: HksPlatformArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    checkArgs(name, args); // before anything is registered
    super(HksPlatform.pulumiType, name, {}, opts);
    const ns = args.namespace ?? API_NAMES.namespace;
    const identity = { namespace: ns, serviceAccount: API_NAMES.serviceAccount };
    const meta = (objectName: string, namespaced = true) => ({
      name: objectName,
      ...(namespaced ? { namespace: ns } : {}),
      labels: PLATFORM_LABELS,
    });
    const child = { parent: this };
    this.namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        metadata: {
          ...meta(ns, false),
          labels: {
            ...PLATFORM_LABELS,
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/warn': 'restricted',
            'pod-security.kubernetes.io/audit': 'restricted',
          },
        },
      },
      child,
    );
    this.namespaceName = this.namespace.metadata.name;
    const inNamespace = { parent: this, dependsOn: [this.namespace] };
    for (const [id, spec] of Object.entries(networkPolicies(args.api?.databaseUrl !== undefined))) {
      new k8s.networking.v1.NetworkPolicy(
        `${name}-${id}`,
        { metadata: meta(id), spec },
        inNamespace,
      );
    }
    if (args.api === undefined) {
      this.apiUrl = pulumi.output('');
      this.registerOutputs({ namespaceName: this.namespaceName, apiUrl: this.apiUrl });
      return;
    }
    const api = args.api;
    const serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-api-sa`,
      { metadata: meta(API_NAMES.serviceAccount) },
      inNamespace,
    );
    this.clusterRole = apiAccess(
      name,
      apiAccessObjects(identity, PLATFORM_LABELS),
      this,
      serviceAccount,
    );
    const secrets: Record<string, pulumi.Input<string> | undefined> = {
      HKS_JWT_SECRET: api.jwtSecret,
      HKS_DATABASE_URL: api.databaseUrl,
      HKS_INTERNAL_JWT_SECRET: api.internalJwtSecret,
      HKS_METRICS_TOKEN: api.metricsToken,
      HKS_WARM_POOL_KEY: api.warmPoolKey,
    };
    const stringData = Object.fromEntries(
      Object.entries(secrets)
        .filter((entry): entry is [string, pulumi.Input<string>] => entry[1] !== undefined)
        .map(([variable, value]) => [variable, pulumi.secret(value)]),
    );
    this.configSecret = new k8s.core.v1.Secret(
      `${name}-api-config`,
      { metadata: meta(API_NAMES.configSecret), type: 'Opaque', stringData },
      inNamespace,
    );
    const settingsMap =
      api.platformSettings === undefined
        ? []
        : [
            new k8s.core.v1.ConfigMap(
              `${name}-platform-settings`,
              {
                metadata: meta(SETTINGS_CONFIG_MAP),
                data: { [SETTINGS_FILE]: JSON.stringify(api.platformSettings) },
              },
              inNamespace,
            ),
          ];
    const storage: SqliteStorage = api.sqliteStorage ?? { kind: 'emptyDir' };
    const claim =
      storage.kind === 'persistentVolumeClaim'
        ? [
            new k8s.core.v1.PersistentVolumeClaim(
              `${name}-api-data`,
              {
                metadata: {
                  ...meta(API_DATA_CLAIM),
                  // Bound by the API's pod (WaitForFirstConsumer): the Deployment is awaited instead.
                  annotations: { 'pulumi.com/skipAwait': 'true' },
                },
                spec: {
                  accessModes: ['ReadWriteOnce'],
                  resources: { requests: { storage: storage.size } },
                  ...(storage.storageClassName
                    ? { storageClassName: storage.storageClassName }
                    : {}),
                },
              },
              inNamespace,
            ),
          ]
        : [];
    this.apiDeployment = new k8s.apps.v1.Deployment(
      `${name}-api`,
      {
        metadata: {
          ...meta(API_NAMES.deployment),
          annotations: args.skipAwait ? { 'pulumi.com/skipAwait': 'true' } : {},
        },
        spec: apiDeploymentSpec(api, storage),
      },
      {
        parent: this,
        dependsOn: [this.namespace, serviceAccount, this.configSecret, ...claim, ...settingsMap],
      },
    );
    this.apiService = new k8s.core.v1.Service(
      `${name}-api-service`,
      {
        metadata: {
          ...meta(API_NAMES.service),
          annotations: args.skipAwait ? { 'pulumi.com/skipAwait': 'true' } : {},
        },
        spec: {
          type: 'ClusterIP',
          selector: API_POD_LABELS,
          ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
        },
      },
      { parent: this, dependsOn: [this.apiDeployment] },
    );
    const service = this.apiService.metadata;
    this.apiUrl = pulumi.interpolate`http://${service.name}.${service.namespace}.svc`;
    this.registerOutputs({ namespaceName: this.namespaceName, apiUrl: this.apiUrl });
  }
}

/**
 * The API Deployment: restricted Pod Security, read-only root, config from the Secret and the
 * environment; the SQLite store on the data volume, /tmp on an emptyDir; ready on `/readyz`
 * (the cluster and the store answer), alive on `/healthz`.
 */
function apiDeploymentSpec(
  api: HksApiArgs,
  storage: SqliteStorage,
): k8s.types.input.apps.v1.DeploymentSpec {
  const probe = (path: string) => ({ httpGet: { path, port: 'http' }, timeoutSeconds: 3 });
  const image = api.image ?? apiImageReference();
  const environment: Record<string, string> = {
    PORT: String(API_PORT),
    HKS_NAMESPACE_PREFIX: api.namespacePrefix ?? '',
    ...(api.databaseUrl === undefined ? { HKS_SQLITE_PATH: API_SQLITE_PATH } : {}),
    ...(api.platformSettings === undefined
      ? {}
      : { HKS_PLATFORM_SETTINGS: `${SETTINGS_DIR}/${SETTINGS_FILE}` }),
    ...api.environment,
  };
  const settings = api.platformSettings !== undefined;
  return {
    replicas: api.replicas ?? 1,
    selector: { matchLabels: API_POD_LABELS },
    // One pod at a time on a ReadWriteOnce claim: SQLite has one writer.
    strategy: { type: storage.kind === 'persistentVolumeClaim' ? 'Recreate' : 'RollingUpdate' },
    template: {
      metadata: { labels: { ...PLATFORM_LABELS, ...API_POD_LABELS } },
      spec: {
        serviceAccountName: API_NAMES.serviceAccount,
        automountServiceAccountToken: true,
        securityContext: {
          runAsNonRoot: true,
          runAsUser: API_IMAGE_USER,
          runAsGroup: API_IMAGE_USER,
          fsGroup: API_IMAGE_USER,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        containers: [
          {
            name: 'api',
            image,
            imagePullPolicy: image.endsWith(':latest') ? 'Always' : 'IfNotPresent',
            ports: [{ name: 'http', containerPort: API_PORT, protocol: 'TCP' }],
            env: Object.entries(environment).map(([name, value]) => ({ name, value })),
            envFrom: [{ secretRef: { name: API_NAMES.configSecret } }],
            startupProbe: { ...probe('/healthz'), periodSeconds: 2, failureThreshold: 30 },
            readinessProbe: { ...probe('/readyz'), periodSeconds: 5, failureThreshold: 3 },
            livenessProbe: { ...probe('/healthz'), periodSeconds: 10, failureThreshold: 3 },
            resources: containerQuantities(API_RESOURCES),
            securityContext: {
              ...RESTRICTED_SECURITY_CONTEXT,
              capabilities: { drop: [...RESTRICTED_SECURITY_CONTEXT.capabilities.drop] },
            },
            volumeMounts: [
              { name: 'tmp', mountPath: SCRATCH_MOUNT_PATH },
              { name: 'data', mountPath: API_DATA_DIR },
              ...(settings ? [{ name: 'settings', mountPath: SETTINGS_DIR, readOnly: true }] : []),
            ],
          },
        ],
        volumes: [
          { name: 'tmp', emptyDir: {} },
          storage.kind === 'persistentVolumeClaim'
            ? { name: 'data', persistentVolumeClaim: { claimName: API_DATA_CLAIM } }
            : { name: 'data', emptyDir: {} },
          ...(settings ? [{ name: 'settings', configMap: { name: SETTINGS_CONFIG_MAP } }] : []),
        ],
      },
    },
  };
}

/**
 * Network policies of `hks-system`: deny everything, then allow DNS, the API's port from
 * anywhere, the API's egress to the Kubernetes API server (and to PostgreSQL when a
 * database URL is given), and to the Kourier gateway pods that route function invocations.
 */
export function networkPolicies(
  withDatabase: boolean,
): Record<string, k8s.types.input.networking.v1.NetworkPolicySpec> {
  const tcp = (port: number) => ({ protocol: 'TCP', port });
  return {
    'hks-default-deny': { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    'hks-allow-dns': {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            {
              namespaceSelector: {
                matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' },
              },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    },
    'hks-api-ingress': {
      podSelector: { matchLabels: API_POD_LABELS },
      policyTypes: ['Ingress'],
      ingress: [{ ports: [tcp(API_PORT)] }],
    },
    'hks-api-egress': {
      podSelector: { matchLabels: API_POD_LABELS },
      policyTypes: ['Egress'],
      egress: [{ ports: [tcp(443), tcp(6443), ...(withDatabase ? [tcp(5432)] : [])] }],
    },
    'hks-api-functions': {
      podSelector: { matchLabels: API_POD_LABELS },
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            {
              namespaceSelector: {
                matchLabels: { 'kubernetes.io/metadata.name': KOURIER_SERVICE.namespace },
              },
            },
          ],
          // Kourier's external (8080) and cluster-local (8081) listeners.
          ports: [tcp(8080), tcp(8081)],
        },
      ],
    },
  };
}

/** An access object as the arguments of its Pulumi resource: both are the Kubernetes JSON. */
const args = <T>(o: AccessObject): T => o as unknown as T;

/** Pulumi resource name suffix per kind of access object. */
const ACCESS_SUFFIX: Readonly<Record<string, string>> = {
  ClusterRole: 'role',
  ClusterRoleBinding: 'binding',
  Role: 'leader-election-role',
  RoleBinding: 'leader-election-binding',
  ValidatingAdmissionPolicy: 'policy',
  ValidatingAdmissionPolicyBinding: 'policy-binding',
};

/**
 * The API's access objects as Pulumi resources: roles and the policy first, then what refers to
 * them, so a binding never exists before what it binds.
 */
function apiAccess(
  name: string,
  objects: readonly AccessObject[],
  parent: pulumi.Resource,
  serviceAccount: pulumi.Resource,
): k8s.rbac.v1.ClusterRole {
  const id = (o: AccessObject) =>
    `${name}-${o.kind === 'ClusterRole' && o.metadata.name !== API_CLUSTER_ROLE ? o.metadata.name : 'api'}-${ACCESS_SUFFIX[o.kind]}`;
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  const roles = of('ClusterRole').map(
    (o) => new k8s.rbac.v1.ClusterRole(id(o), args<k8s.rbac.v1.ClusterRoleArgs>(o), { parent }),
  );
  const policies = of('ValidatingAdmissionPolicy').map(
    (o) =>
      new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
        id(o),
        args<k8s.admissionregistration.v1.ValidatingAdmissionPolicyArgs>(o),
        { parent },
      ),
  );
  for (const o of of('ValidatingAdmissionPolicyBinding')) {
    new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
      id(o),
      args<k8s.admissionregistration.v1.ValidatingAdmissionPolicyBindingArgs>(o),
      { parent, dependsOn: policies },
    );
  }
  // The policy is in force before the API's rights are: never a moment without the confinement.
  for (const o of of('ClusterRoleBinding')) {
    new k8s.rbac.v1.ClusterRoleBinding(id(o), args<k8s.rbac.v1.ClusterRoleBindingArgs>(o), {
      parent,
      dependsOn: [...roles, ...policies, serviceAccount],
    });
  }
  // The Lease's Role and RoleBinding live in the API's namespace (the ServiceAccount's).
  for (const o of of('Role')) {
    const role = new k8s.rbac.v1.Role(id(o), args<k8s.rbac.v1.RoleArgs>(o), {
      parent,
      dependsOn: [serviceAccount],
    });
    for (const b of of('RoleBinding'))
      new k8s.rbac.v1.RoleBinding(id(b), args<k8s.rbac.v1.RoleBindingArgs>(b), {
        parent,
        dependsOn: [role, ...policies, serviceAccount],
      });
  }
  return roles[of('ClusterRole').findIndex((o) => o.metadata.name === API_CLUSTER_ROLE)];
}
