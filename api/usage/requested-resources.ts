import { quantityValue } from './quantity';

/** What a pod asks of its node, as usage counts it. */
export interface RequestedResources {
  /** Millicores, rounded up as Kubernetes does. @default - not known */
  readonly cpuMillis?: number;
  /** Bytes, rounded up. @default - not known */
  readonly memoryBytes?: number;
}

/** The part of a pod spec (or a Knative revision template) usage reads. */
export interface ResourcedPodSpec {
  readonly containers?: readonly {
    readonly resources?: {
      readonly requests?: Readonly<Record<string, unknown>>;
      readonly limits?: Readonly<Record<string, unknown>>;
    };
  }[];
}

/**
 * The CPU and memory a pod spec requests: for each container its request, or its limit when
 * it has no request (Kubernetes then requests the limit), summed over the containers. A
 * resource no container names stays unknown. Init containers and sidecars the platform does
 * not write (Knative's queue-proxy) are not counted.
 */
export function requestedResources(spec: ResourcedPodSpec | undefined): RequestedResources {
  const total = (resource: 'cpu' | 'memory'): number | undefined => {
    const amounts = (spec?.containers ?? []).flatMap((container) => {
      const { requests, limits } = container.resources ?? {};
      const amount = quantityValue(requests?.[resource] ?? limits?.[resource]);
      return amount === undefined ? [] : [amount];
    });
    return amounts.length === 0 ? undefined : amounts.reduce((a, b) => a + b, 0);
  };
  const cores = total('cpu');
  const bytes = total('memory');
  return {
    // A float's noise (0.1 * 1000 = 100.00000000000001) must not round up a whole millicore.
    ...(cores === undefined ? {} : { cpuMillis: Math.ceil(+(cores * 1000).toFixed(6)) }),
    ...(bytes === undefined ? {} : { memoryBytes: Math.ceil(+bytes.toFixed(3)) }),
  };
}
