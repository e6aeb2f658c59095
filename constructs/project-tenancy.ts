import { JsonPatch } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { isProblem, parseCpu, parseMemory } from './quantity';
import { DEFAULT_RESOURCES } from './restricted-container';
import { WORKLOAD_SERVICE_ACCOUNT } from './workload-container';
import { LABELS } from './labels';
import type { ProjectChart } from './project-chart';

/** Namespaces of the Knative Serving and Kourier data plane, which must reach functions. */
export const KNATIVE_DATA_PLANE_NAMESPACES = ['knative-serving', 'kourier-system'];

/**
 * Label (with value `true`) on temporary functions' objects and pods (the API's execute-once and
 * deploy-function). The project's network policies keep such pods apart from the project.
 */
export const EPHEMERAL_POD_LABEL = 'hks.hexabase.io/ephemeral';

/** Tunables of a project's tenancy. */
export interface ProjectTenancyOptions {
  /** Total CPU requests of the project. @default "8" */
  readonly cpuQuota?: string;
  /** Total memory requests of the project. @default "16Gi" */
  readonly memoryQuota?: string;
  /** Most pods the project may have at once. @default 100 */
  readonly podQuota?: number;
  /** CPU request of containers that state none. @default "100m" */
  readonly defaultCpuRequest?: string;
  /** Memory request of containers that state none. @default "128Mi" */
  readonly defaultMemoryRequest?: string;
  /** Memory limit of containers that state none. @default "512Mi" */
  readonly defaultMemoryLimit?: string;
  /**
   * Namespaces whose pods may reach the project's functions (the Knative data plane).
   * @default ["knative-serving", "kourier-system"]
   */
  readonly functionIngressNamespaces?: readonly string[];
}

/**
 * The isolation of one project: a Namespace enforcing Pod Security `restricted`, a
 * ResourceQuota, a LimitRange with defaults, default-deny NetworkPolicies with the exceptions
 * workloads need (DNS, traffic inside the project, the Knative data plane into functions) and
 * a ServiceAccount for workloads that mounts no token. Temporary functions' pods
 * ({@link EPHEMERAL_POD_LABEL}) are not part of "inside the project": they receive only from
 * the Knative data plane and send only DNS queries.
 */
export class ProjectTenancy extends Construct {
  /** Name of the ServiceAccount that workloads run as by default. */
  public readonly workloadServiceAccount = WORKLOAD_SERVICE_ACCOUNT;

  constructor(scope: ProjectChart, id: string, options: ProjectTenancyOptions = {}) {
    super(scope, id);
    const quota = {
      'requests.cpu': options.cpuQuota ?? '8',
      'requests.memory': options.memoryQuota ?? '16Gi',
      pods: String(options.podQuota ?? 100),
    };
    const defaults = {
      cpu: options.defaultCpuRequest ?? DEFAULT_RESOURCES.cpu,
      memory: options.defaultMemoryRequest ?? DEFAULT_RESOURCES.memory,
      memoryLimit: options.defaultMemoryLimit ?? '512Mi',
    };
    checkOptions(id, quota, defaults, options.podQuota);
    const namespace = scope.projectNamespace;

    const namespaceObject = new k8s.KubeNamespace(this, 'Namespace', {
      metadata: {
        name: namespace,
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/audit': 'restricted',
        },
      },
    });
    // The chart puts every object in the namespace; a Namespace itself is cluster-scoped.
    namespaceObject.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
    new k8s.KubeServiceAccount(this, 'WorkloadServiceAccount', {
      metadata: { name: WORKLOAD_SERVICE_ACCOUNT },
      automountServiceAccountToken: false,
    });
    new k8s.KubeResourceQuota(this, 'Quota', {
      metadata: { name: 'hks-quota' },
      spec: { hard: mapQuantities(quota) },
    });
    new k8s.KubeLimitRange(this, 'Limits', {
      metadata: { name: 'hks-limits' },
      spec: {
        limits: [
          {
            type: 'Container',
            defaultRequest: mapQuantities({ cpu: defaults.cpu, memory: defaults.memory }),
            default: mapQuantities({ memory: defaults.memoryLimit }),
          },
        ],
      },
    });
    this.networkPolicies(options.functionIngressNamespaces ?? KNATIVE_DATA_PLANE_NAMESPACES);
  }

  private networkPolicies(functionIngressNamespaces: readonly string[]) {
    const allPods = {};
    new k8s.KubeNetworkPolicy(this, 'DefaultDeny', {
      metadata: { name: 'hks-default-deny' },
      spec: { podSelector: allPods, policyTypes: ['Ingress', 'Egress'] },
    });
    const dnsEgress = {
      to: [
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } },
      ],
      ports: [
        { protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) },
        { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) },
      ],
    };
    new k8s.KubeNetworkPolicy(this, 'AllowDns', {
      metadata: { name: 'hks-allow-dns' },
      spec: { podSelector: allPods, policyTypes: ['Egress'], egress: [dnsEgress] },
    });
    // Policies add up (a union): temporary pods are kept out by selecting and admitting only
    // the others here, not by a policy that would subtract.
    const notEphemeral = {
      matchExpressions: [{ key: EPHEMERAL_POD_LABEL, operator: 'NotIn', values: ['true'] }],
    };
    new k8s.KubeNetworkPolicy(this, 'AllowSameProject', {
      metadata: { name: 'hks-allow-same-project' },
      spec: {
        podSelector: notEphemeral,
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [{ podSelector: notEphemeral }] }],
        egress: [{ to: [{ podSelector: notEphemeral }] }],
      },
    });
    const fromDataPlane = {
      from: [
        {
          namespaceSelector: {
            matchExpressions: [
              {
                key: 'kubernetes.io/metadata.name',
                operator: 'In',
                values: [...functionIngressNamespaces],
              },
            ],
          },
        },
      ],
    };
    new k8s.KubeNetworkPolicy(this, 'AllowKnativeToFunctions', {
      metadata: { name: 'hks-allow-knative-to-functions' },
      spec: {
        podSelector: { matchLabels: { [LABELS.kind]: 'Function' } },
        policyTypes: ['Ingress'],
        ingress: [fromDataPlane],
      },
    });
    // What temporary pods may do, stated in one object the cluster shows. It grants nothing the
    // policies above do not already grant them (policies are a union).
    new k8s.KubeNetworkPolicy(this, 'TemporaryFunctions', {
      metadata: { name: 'hks-temporary-functions' },
      spec: {
        podSelector: { matchLabels: { [EPHEMERAL_POD_LABEL]: 'true' } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [fromDataPlane],
        egress: [dnsEgress],
      },
    });
  }
}

function mapQuantities(values: Record<string, string>): Record<string, k8s.Quantity> {
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, k8s.Quantity.fromString(v)]),
  );
}

function checkOptions(
  id: string,
  quota: Record<string, string>,
  defaults: { cpu: string; memory: string; memoryLimit: string },
  podQuota: number | undefined,
) {
  const problems: string[] = [];
  const check = (field: string, problem: unknown) => {
    if (isProblem(problem)) problems.push(`${field}: ${problem}`);
  };
  check('cpuQuota', parseCpu(quota['requests.cpu']));
  check('memoryQuota', parseMemory(quota['requests.memory']));
  check('defaultCpuRequest', parseCpu(defaults.cpu));
  check('defaultMemoryRequest', parseMemory(defaults.memory));
  check('defaultMemoryLimit', parseMemory(defaults.memoryLimit));
  if (podQuota !== undefined && (!Number.isInteger(podQuota) || podQuota < 1)) {
    problems.push(`podQuota: given ${podQuota}, expected a whole number of at least 1`);
  }
  if (problems.length > 0) throw new Error(`ProjectTenancy ${id}: ${problems.join('; ')}`);
}
