import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { isProblem, parseCpu, parseMemory } from './quantity';
import { pullsAlways } from './field-rules';
import {
  containerQuantities,
  type ResourceRequirements,
  RESTRICTED_SECURITY_CONTEXT,
  SCRATCH_MOUNT_PATH,
} from './restricted-container';

import { WORKLOAD_CONTAINER_DEFAULTS } from './generated/definition-defaults';
import type { EnvFromSource, WorkloadContainerProps } from './generated/definition-props';

export type {
  EnvFromSource,
  SecretKeyReference,
  WorkloadContainerProps,
} from './generated/definition-props';
export { WORKLOAD_CONTAINER_DEFAULTS } from './generated/definition-defaults';

/** The ServiceAccount every project has for its workloads; it mounts no token. */
export const WORKLOAD_SERVICE_ACCOUNT = WORKLOAD_CONTAINER_DEFAULTS.serviceAccount;

/**
 * Turns shared container settings into cdk8s-plus container props, overriding cdk8s-plus's
 * own defaults deliberately: small requests instead of 1 CPU / 512Mi, no CPU limit,
 * Kubernetes' pull-policy rule instead of `Always`, and a restricted security context.
 */
export function workloadContainer(
  scope: Construct,
  props: WorkloadContainerProps,
  tmp: kplus.Volume,
): kplus.ContainerProps {
  return {
    name: 'main',
    image: props.image,
    command: props.command ? [...props.command] : undefined,
    args: props.args ? [...props.args] : undefined,
    imagePullPolicy: pullsAlways(props.image)
      ? kplus.ImagePullPolicy.ALWAYS
      : kplus.ImagePullPolicy.IF_NOT_PRESENT,
    envVariables: environment(scope, props),
    envFrom: props.envFrom?.map((source, index) => envFrom(scope, source, index)),
    resources: resources(props.resources ?? {}),
    securityContext: restrictedContext(),
    // The root filesystem is read-only; most programs still need a scratch folder.
    volumeMounts: [{ path: SCRATCH_MOUNT_PATH, volume: tmp }],
  };
}

/** Pod-level settings shared by workloads: the service account and the scratch volume. */
export function workloadPod(scope: Construct, props: WorkloadContainerProps) {
  const tmp = kplus.Volume.fromEmptyDir(scope, 'TmpVolume', 'tmp');
  return {
    tmp,
    serviceAccount: kplus.ServiceAccount.fromServiceAccountName(
      scope,
      'ServiceAccount',
      props.serviceAccount ?? WORKLOAD_SERVICE_ACCOUNT,
    ),
    automountServiceAccountToken: false,
    securityContext: { ensureNonRoot: true },
  };
}

function environment(
  scope: Construct,
  props: WorkloadContainerProps,
): Record<string, kplus.EnvValue> {
  const variables: Record<string, kplus.EnvValue> = {};
  for (const [name, value] of Object.entries(props.env ?? {})) {
    variables[name] = kplus.EnvValue.fromValue(String(value));
  }
  for (const [name, ref] of Object.entries(props.secretEnv ?? {})) {
    const secret = kplus.Secret.fromSecretName(scope, `SecretEnv-${name}`, ref.secret);
    variables[name] = kplus.EnvValue.fromSecretValue({ secret, key: ref.key });
  }
  return variables;
}

function envFrom(scope: Construct, source: EnvFromSource, index: number): kplus.EnvFrom {
  if (source.configMap !== undefined) {
    const configMap = kplus.ConfigMap.fromConfigMapName(scope, `EnvFrom${index}`, source.configMap);
    return new kplus.EnvFrom(configMap, source.prefix);
  }
  const secret = kplus.Secret.fromSecretName(scope, `EnvFrom${index}`, source.secret as string);
  // Env.fromSecret takes no prefix; the EnvFrom constructor does.
  return new kplus.EnvFrom(undefined, source.prefix, secret);
}

/** {@link RESTRICTED_SECURITY_CONTEXT} in cdk8s-plus's words (its enums hold the same strings). */
function restrictedContext(): kplus.ContainerSecurityContextProps {
  const restricted = RESTRICTED_SECURITY_CONTEXT;
  return {
    ensureNonRoot: restricted.runAsNonRoot,
    privileged: restricted.privileged,
    allowPrivilegeEscalation: restricted.allowPrivilegeEscalation,
    readOnlyRootFilesystem: restricted.readOnlyRootFilesystem,
    capabilities: { drop: restricted.capabilities.drop.map((c) => c as kplus.Capability) },
    seccompProfile: { type: restricted.seccompProfile.type as kplus.SeccompProfileType },
  };
}

function resources(given: ResourceRequirements): kplus.ContainerResources {
  const { requests, limits } = containerQuantities(given);
  return {
    cpu: {
      request: cpuOf(requests.cpu),
      limit: limits.cpu === undefined ? undefined : cpuOf(limits.cpu),
    },
    memory: { request: memoryOf(requests.memory), limit: memoryOf(limits.memory) },
  };
}

function cpuOf(value: string | number): kplus.Cpu {
  const cpu = parseCpu(value);
  if (isProblem(cpu)) throw new Error(cpu);
  return cpu.text.endsWith('m')
    ? kplus.Cpu.millis(cpu.millicores)
    : kplus.Cpu.units(Number(cpu.text));
}

function memoryOf(value: string | number): Size {
  const memory = parseMemory(value);
  if (isProblem(memory)) throw new Error(memory);
  return Size.mebibytes(memory.mebibytes);
}
