import { DEFAULT_RESOURCES, parseCpu, parseMemory, type ResourcesSpec } from '../constructs';

/** Limits of every temporary function's container. */
export interface EphemeralLimits {
  /** CPU limit, e.g. `500m`. @default "1" */
  readonly cpuLimit: string;
  /** Memory limit, e.g. `512Mi`. @default "256Mi" */
  readonly memoryLimit: string;
}

/** Limits a shared cluster can live with: one core, 256 MiB. */
export const DEFAULT_EPHEMERAL_LIMITS: EphemeralLimits = { cpuLimit: '1', memoryLimit: '256Mi' };

/**
 * The `resources` of a temporary function's definition: the limits, and the platform's default
 * requests (100m, 128Mi) or the limit where that is smaller (a request may not exceed its limit).
 * @throws Error for a limit that is not a quantity (the configuration checks them first)
 */
export function ephemeralResources(limits: EphemeralLimits): ResourcesSpec {
  const cpuLimit = parseCpu(limits.cpuLimit);
  const memoryLimit = parseMemory(limits.memoryLimit);
  if (typeof cpuLimit === 'string') throw new Error(`cpuLimit: ${cpuLimit}`);
  if (typeof memoryLimit === 'string') throw new Error(`memoryLimit: ${memoryLimit}`);
  const cpu = parseCpu(DEFAULT_RESOURCES.cpu);
  const memory = parseMemory(DEFAULT_RESOURCES.memory);
  if (typeof cpu === 'string' || typeof memory === 'string') throw new Error('bad defaults');
  return {
    cpu: cpu.millicores <= cpuLimit.millicores ? cpu.text : cpuLimit.text,
    memory: memory.mebibytes <= memoryLimit.mebibytes ? memory.text : memoryLimit.text,
    cpuLimit: cpuLimit.text,
    memoryLimit: memoryLimit.text,
  };
}
