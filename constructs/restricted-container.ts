import { RESOURCE_REQUIREMENTS_DEFAULTS } from './generated/definition-defaults';
import type { ResourceRequirements } from './generated/definition-props';
import { isProblem, parseCpu, parseMemory } from './quantity';

export type { ResourceRequirements } from './generated/definition-props';

/**
 * The restricted container settings every pod the platform makes runs with — Deployments,
 * CronJobs, Functions (and the execute-once and session functions made from them) and the
 * platform's own API Deployment — in the Kubernetes API's own shape, so that each builder
 * (cdk8s-plus, the Knative imports, Pulumi) maps the same values instead of restating them.
 * They meet the Pod Security Standards' `restricted` profile at container level.
 */
export const RESTRICTED_SECURITY_CONTEXT = {
  runAsNonRoot: true,
  privileged: false,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
} as const;

/** The writable scratch folder mounted over the read-only root filesystem (an emptyDir). */
export const SCRATCH_MOUNT_PATH = '/tmp';

/** Default requests: the `resources.cpu` and `resources.memory` fields' defaults. */
export const DEFAULT_RESOURCES = RESOURCE_REQUIREMENTS_DEFAULTS;

/** Requests and limits as Kubernetes quantities. */
export interface ContainerQuantities {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu?: string; readonly memory: string };
}

/**
 * The requests and limits a container gets: the defaults where none are given, no CPU limit
 * (throttling hurts latency more than it protects neighbours, who have their requests), and
 * memory limited to the request unless a limit is given (the node never overcommits memory).
 *
 * @throws Error for a quantity that is not one (definitions are validated before)
 */
export function containerQuantities(given: ResourceRequirements = {}): ContainerQuantities {
  const cpu = quantity(parseCpu(given.cpu ?? DEFAULT_RESOURCES.cpu));
  const memory = quantity(parseMemory(given.memory ?? DEFAULT_RESOURCES.memory));
  return {
    requests: { cpu, memory },
    limits: {
      ...(given.cpuLimit === undefined ? {} : { cpu: quantity(parseCpu(given.cpuLimit)) }),
      memory: given.memoryLimit === undefined ? memory : quantity(parseMemory(given.memoryLimit)),
    },
  };
}

function quantity(parsed: { text: string } | string): string {
  if (isProblem(parsed)) throw new Error(parsed);
  return parsed.text;
}
