/** One rule of a Kubernetes (Cluster)Role. */
export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/** Verbs to server-side apply (create + patch), read back, watch and delete an object. */
export const MANAGE_VERBS = [
  'get',
  'list',
  'watch',
  'create',
  'patch',
  'update',
  'delete',
] as const;

/** Verbs to read and watch. */
export const READ_VERBS = ['get', 'list', 'watch'] as const;

/**
 * What the API may do in the cluster: the least it needs, and nothing about Secrets (it never
 * reads them; workloads reference them by name and the kubelet resolves them).
 *
 * - manage (server-side apply and delete) what the constructs produce: Deployments, Services,
 *   CronJobs, Jobs, ConfigMaps, ServiceAccounts, NetworkPolicies, ResourceQuotas, LimitRanges,
 *   Namespaces (one per project) and Knative Services;
 * - read Knative Revisions, pods and their logs, to record executions and show functions;
 * - watch Jobs (included above) and events.
 *
 * It cannot create Roles or RoleBindings, so it cannot grant itself anything.
 */
export const API_CLUSTER_ROLE_RULES: readonly PolicyRule[] = [
  { apiGroups: ['apps'], resources: ['deployments'], verbs: MANAGE_VERBS },
  { apiGroups: ['batch'], resources: ['cronjobs', 'jobs'], verbs: MANAGE_VERBS },
  {
    apiGroups: [''],
    resources: [
      'configmaps',
      'limitranges',
      'namespaces',
      'resourcequotas',
      'serviceaccounts',
      'services',
    ],
    verbs: MANAGE_VERBS,
  },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: MANAGE_VERBS },
  { apiGroups: ['serving.knative.dev'], resources: ['services'], verbs: MANAGE_VERBS },
  { apiGroups: ['serving.knative.dev'], resources: ['revisions'], verbs: READ_VERBS },
  { apiGroups: [''], resources: ['pods'], verbs: READ_VERBS },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: [''], resources: ['events'], verbs: READ_VERBS },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: READ_VERBS },
];

/** Names of the API's objects in the platform namespace. */
export const API_NAMES = {
  namespace: 'hks-system',
  serviceAccount: 'hks-api',
  clusterRole: 'hks-api',
  clusterRoleBinding: 'hks-api',
  deployment: 'hks-api',
  service: 'hks-api',
  configSecret: 'hks-api-config',
} as const;

/** Port the API container listens on. */
export const API_PORT = 8080;
