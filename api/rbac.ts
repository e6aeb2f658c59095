/** One rule of a Kubernetes (Cluster)Role. */
export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
  /** Only these objects. @default - all objects of the resources */
  readonly resourceNames?: readonly string[];
}

/** A Kubernetes object as plain data: what the stack, the test harness and the API apply. */
export interface AccessObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly [field: string]: unknown;
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

/** Label that marks a namespace as the platform's (a project's namespace). */
export const MANAGED_NAMESPACE_LABEL = {
  key: 'app.kubernetes.io/managed-by',
  value: 'hks',
} as const;

/** The ServiceAccount the API runs as. */
export interface ApiIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** Where the stack installs the API. */
export const API_IDENTITY: ApiIdentity = { namespace: 'hks-system', serviceAccount: 'hks-api' };

/** The ClusterRole bound in each managed namespace (by a RoleBinding the API creates there). */
export const TENANT_CLUSTER_ROLE = 'hks-api-tenant';

/** The ClusterRole bound cluster-wide. */
export const API_CLUSTER_ROLE = 'hks-api';

/** Name of the per-namespace RoleBinding that gives the API the tenant role there. */
export const TENANT_ROLE_BINDING = 'hks-api';

/**
 * What the API may do cluster-wide: the least that cannot be granted per namespace.
 *
 * - create the namespace of a new project and keep it (server-side apply: get, create, patch);
 *   the admission policy limits this to namespaces labelled `app.kubernetes.io/managed-by: hks`
 *   that enforce Pod Security `restricted`, and refuses any change of other namespaces;
 * - create the RoleBinding that gives it {@link TENANT_CLUSTER_ROLE} in such a namespace
 *   (`bind` on that one ClusterRole only); the admission policy refuses RoleBindings elsewhere,
 *   of another role or for another subject;
 * - list and watch Jobs (the execution recorder), Knative Services (readiness waits, the
 *   janitor) and Knative Revisions (owner references of source ConfigMaps, whichever door
 *   applied them) of all namespaces: a read, filtered by label in the API; writes stay per
 *   namespace.
 *
 * No Secrets, no pods, no logs, no Roles, no ClusterRoleBindings anywhere.
 */
export const API_CLUSTER_ROLE_RULES: readonly PolicyRule[] = [
  { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'create', 'patch'] },
  {
    apiGroups: ['rbac.authorization.k8s.io'],
    resources: ['rolebindings'],
    verbs: ['get', 'create', 'patch'],
  },
  {
    apiGroups: ['rbac.authorization.k8s.io'],
    resources: ['clusterroles'],
    verbs: ['bind'],
    resourceNames: [TENANT_CLUSTER_ROLE],
  },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list', 'watch'] },
  {
    apiGroups: ['serving.knative.dev'],
    resources: ['services', 'revisions'],
    verbs: ['list', 'watch'],
  },
];

/**
 * What the API may do inside a managed namespace: manage what the constructs produce
 * (Deployments, Services, CronJobs, Jobs, ConfigMaps, ServiceAccounts, NetworkPolicies,
 * ResourceQuotas, LimitRanges and Knative Services), read Knative Revisions, pods and their
 * logs (execution history, function logs); label and delete pods (a Deployment warm pool
 * claims an idle pod by its label and deletes it after its one execution); create Secrets, an
 * agent session's (owned by its Knative Service, so the garbage collector deletes it) or a warm
 * pool's, without any right to read, list, patch or delete one. No pod creation or exec, no RBAC.
 */
export const TENANT_ROLE_RULES: readonly PolicyRule[] = [
  { apiGroups: ['apps'], resources: ['deployments'], verbs: MANAGE_VERBS },
  { apiGroups: ['batch'], resources: ['cronjobs', 'jobs'], verbs: MANAGE_VERBS },
  {
    apiGroups: [''],
    resources: ['configmaps', 'limitranges', 'resourcequotas', 'serviceaccounts', 'services'],
    verbs: MANAGE_VERBS,
  },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: MANAGE_VERBS },
  { apiGroups: ['serving.knative.dev'], resources: ['services'], verbs: MANAGE_VERBS },
  { apiGroups: ['serving.knative.dev'], resources: ['revisions'], verbs: READ_VERBS },
  { apiGroups: [''], resources: ['pods'], verbs: READ_VERBS },
  // A Deployment warm pool's claim (a label change) and the claimed pod's deletion.
  { apiGroups: [''], resources: ['pods'], verbs: ['patch', 'delete'] },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
];

/** Name of the Role (and its RoleBinding) for the recorder's Lease in the API's own namespace. */
export const LEADER_ELECTION_ROLE = 'hks-api-leader-election';

/**
 * What the API may do in its own namespace: hold the Lease that elects the one replica that
 * records executions (api/leader-election.ts). Nothing else there: no Secrets, no pods.
 */
export const LEADER_ELECTION_RULES: readonly PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];

/** The Kubernetes user name of a ServiceAccount. */
export function serviceAccountUser(identity: ApiIdentity): string {
  return `system:serviceaccount:${identity.namespace}:${identity.serviceAccount}`;
}

/** The ServiceAccount behind a Kubernetes user name, if it is one. */
export function identityOfUser(username: string): ApiIdentity | undefined {
  const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  return match ? { namespace: match[1], serviceAccount: match[2] } : undefined;
}

/** Name of the cluster-wide objects (binding, admission policy) of one API identity. */
export function accessName(identity: ApiIdentity): string {
  return `${identity.namespace}-${identity.serviceAccount}`;
}

const RBAC = 'rbac.authorization.k8s.io';
const ADMISSION = 'admissionregistration.k8s.io/v1';
const LABEL = MANAGED_NAMESPACE_LABEL;

/** CEL: the labels of `object` (a CEL variable) mark it as a managed namespace. */
const managedLabels = (object: string) =>
  `has(${object}.metadata.labels) && '${LABEL.key}' in ${object}.metadata.labels && ${object}.metadata.labels['${LABEL.key}'] == '${LABEL.value}'`;

/**
 * The admission policy that confines the API's writes to managed namespaces. RBAC alone cannot
 * say "namespaces with this label", so the API's cluster-wide rights (namespaces, RoleBindings)
 * are checked here, by the API server, for every write the API's ServiceAccount makes.
 */
function admissionValidations(identity: ApiIdentity): object[] {
  const isNamespace = "request.resource.group == '' && request.resource.resource == 'namespaces'";
  const isRoleBinding = `request.resource.group == '${RBAC}' && request.resource.resource == 'rolebindings'`;
  // The recorder's Lease lives in the API's own namespace, which is not a managed one.
  const isOwnLease = `request.resource.group == 'coordination.k8s.io' && request.resource.resource == 'leases' && request.namespace == '${identity.namespace}'`;
  // Access reviews are how the API waits for its RoleBinding to take effect; they write nothing.
  const isReview =
    "request.resource.group in ['authorization.k8s.io', 'authentication.k8s.io'] && request.resource.resource.startsWith('self')";
  // Its subresources too (exec, eviction, status): none of them is a warm pool's relabel or delete.
  const isPod = "request.resource.group == '' && request.resource.resource == 'pods'";
  const poolPod = `has(oldObject.metadata.labels) && '${WARM_POOL_LABEL}' in oldObject.metadata.labels`;
  const restricted =
    "'pod-security.kubernetes.io/enforce' in object.metadata.labels && object.metadata.labels['pod-security.kubernetes.io/enforce'] == 'restricted'";
  return [
    {
      expression: `${isNamespace} || ${isReview} || ${isOwnLease} || (namespaceObject != null && ${managedLabels('namespaceObject')})`,
      messageExpression: `'the HKS API may write only in namespaces labelled ${LABEL.key}=${LABEL.value}; refused: ' + request.resource.resource + ' in namespace ' + (request.namespace == '' ? '(cluster scope)' : request.namespace)`,
      reason: 'Forbidden',
    },
    {
      expression: `!(${isNamespace}) || request.operation == 'CREATE' || (oldObject != null && ${managedLabels('oldObject')})`,
      messageExpression: `'the HKS API may change only namespaces labelled ${LABEL.key}=${LABEL.value}; refused: ' + request.operation + ' of namespace ' + request.name`,
      reason: 'Forbidden',
    },
    {
      expression: `!(${isNamespace}) || request.operation == 'DELETE' || (${managedLabels('object')} && ${restricted})`,
      messageExpression: `'a namespace the HKS API writes must keep the labels ${LABEL.key}=${LABEL.value} and pod-security.kubernetes.io/enforce=restricted; refused: namespace ' + request.name`,
      reason: 'Forbidden',
    },
    {
      // Its pod rights are a warm pool's: relabel a pool's pod (nothing else of it) or delete it.
      expression: `!(${isPod}) || (request.operation == 'DELETE' && ${poolPod}) || (request.operation == 'UPDATE' && ${poolPod} && object.spec == oldObject.spec)`,
      messageExpression: `'the HKS API may only relabel or delete warm pool pods (label ${WARM_POOL_LABEL}), never change their spec; refused: ' + request.operation + ' of pod ' + request.namespace + '/' + request.name`,
      reason: 'Forbidden',
    },
    {
      expression: `!(${isRoleBinding}) || request.operation == 'DELETE' || (object.roleRef.kind == 'ClusterRole' && object.roleRef.name == '${TENANT_CLUSTER_ROLE}' && has(object.subjects) && object.subjects.all(s, s.kind == 'ServiceAccount' && s.namespace == '${identity.namespace}' && s.name == '${identity.serviceAccount}'))`,
      messageExpression: `'the HKS API may bind only ClusterRole ${TENANT_CLUSTER_ROLE} to itself (${serviceAccountUser(identity)}); refused: RoleBinding ' + request.namespace + '/' + request.name`,
      reason: 'Forbidden',
    },
  ];
}

/**
 * Every object that defines what the API (running as `identity`) may do: the two ClusterRoles,
 * the ClusterRoleBinding, the ValidatingAdmissionPolicy with its binding, and the Role and
 * RoleBinding of the recorder's Lease in the API's own namespace.
 * The stack installs them; the test harness installs the same for its API processes.
 */
export function apiAccessObjects(
  identity: ApiIdentity = API_IDENTITY,
  labels: Readonly<Record<string, string>> = {},
): AccessObject[] {
  const name = accessName(identity);
  // No empty labels: an installer that sets none leaves them to one that does (server-side apply).
  const meta = (objectName: string, namespace?: string) => ({
    name: objectName,
    ...(namespace ? { namespace } : {}),
    ...(Object.keys(labels).length ? { labels: { ...labels } } : {}),
  });
  const rules = (list: readonly PolicyRule[]) =>
    list.map((r) => ({
      apiGroups: [...r.apiGroups],
      resources: [...r.resources],
      verbs: [...r.verbs],
      ...(r.resourceNames ? { resourceNames: [...r.resourceNames] } : {}),
    }));
  return [
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRole',
      metadata: meta(API_CLUSTER_ROLE),
      rules: rules(API_CLUSTER_ROLE_RULES),
    },
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRole',
      metadata: meta(TENANT_CLUSTER_ROLE),
      rules: rules(TENANT_ROLE_RULES),
    },
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: meta(name),
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: API_CLUSTER_ROLE },
      subjects: [
        { kind: 'ServiceAccount', name: identity.serviceAccount, namespace: identity.namespace },
      ],
    },
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'Role',
      metadata: meta(LEADER_ELECTION_ROLE, identity.namespace),
      rules: rules(LEADER_ELECTION_RULES),
    },
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'RoleBinding',
      metadata: meta(LEADER_ELECTION_ROLE, identity.namespace),
      roleRef: { apiGroup: RBAC, kind: 'Role', name: LEADER_ELECTION_ROLE },
      subjects: [
        { kind: 'ServiceAccount', name: identity.serviceAccount, namespace: identity.namespace },
      ],
    },
    {
      apiVersion: ADMISSION,
      kind: 'ValidatingAdmissionPolicy',
      metadata: meta(name),
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: ['*'],
              apiVersions: ['*'],
              resources: ['*'],
              operations: ['CREATE', 'UPDATE', 'DELETE'],
              scope: '*',
            },
          ],
        },
        matchConditions: [
          {
            name: 'the-hks-api',
            expression: `request.userInfo.username == '${serviceAccountUser(identity)}'`,
          },
        ],
        validations: admissionValidations(identity),
      },
    },
    {
      apiVersion: ADMISSION,
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: meta(name),
      spec: { policyName: name, validationActions: ['Deny'] },
    },
  ];
}

/** The RoleBinding that gives the API {@link TENANT_CLUSTER_ROLE} in one managed namespace. */
export function tenantRoleBinding(namespace: string, identity: ApiIdentity): AccessObject {
  return {
    apiVersion: `${RBAC}/v1`,
    kind: 'RoleBinding',
    metadata: {
      name: TENANT_ROLE_BINDING,
      namespace,
      labels: { [LABEL.key]: LABEL.value },
    },
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: TENANT_CLUSTER_ROLE },
    subjects: [
      { kind: 'ServiceAccount', name: identity.serviceAccount, namespace: identity.namespace },
    ],
  };
}

/** Names of the API's objects in the platform namespace. */
export const API_NAMES = {
  namespace: API_IDENTITY.namespace,
  serviceAccount: API_IDENTITY.serviceAccount,
  deployment: 'hks-api',
  service: 'hks-api',
  configSecret: 'hks-api-config',
} as const;

/** Label of a warm pool's objects and pods (the runtime they wait with): the pods the API may relabel and delete. */
export const WARM_POOL_LABEL = 'hks.hexabase.io/warm-pool';

/** Labels of the API's pods (and its Deployment's selector): a warm pool lets in only these. */
export const API_POD_LABELS = { 'app.kubernetes.io/name': 'hks-api' } as const;

/** Port the API container listens on. */
export const API_PORT = 8080;
