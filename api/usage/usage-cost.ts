import type { PriceTable } from './price-table';

/** Sums of one group of recorded calls and runs, as the store adds them up. */
export interface UsageSums {
  /** Function invocations. */
  readonly invocations: number;
  /** Ended CronJob runs. */
  readonly executions: number;
  /** Σ duration in milliseconds. */
  readonly durationMs: number;
  /** Σ init (cold-start) time in milliseconds, of the invocations that had one. */
  readonly initMs: number;
  /** Invocations served by a cold instance. */
  readonly coldStarts: number;
  /** Σ requested millicores × duration in milliseconds. */
  readonly cpuMilliMs: number;
  /** Σ requested bytes × duration in milliseconds. */
  readonly memoryByteMs: number;
}

/** What a group of calls and runs used and cost. */
export interface UsageFigures {
  readonly invocations: number;
  readonly executions: number;
  /** Run time in seconds, rounded to the millisecond. */
  readonly durationSeconds: number;
  /** Cold-start time in seconds, apart from the run time, rounded to the millisecond. */
  readonly initSeconds: number;
  readonly coldStarts: number;
  /** Requested vCPU × seconds, rounded to 6 decimals. */
  readonly vcpuSeconds: number;
  /** Requested GiB × seconds, rounded to 6 decimals. */
  readonly gibSeconds: number;
  readonly cost: UsageCost;
}

/** A cost in the price table's currency, each part rounded to 6 decimals. */
export interface UsageCost {
  readonly compute: number;
  readonly memory: number;
  readonly requests: number;
  /** compute + memory + requests, added before rounding. */
  readonly total: number;
}

const GIB = 2 ** 30;

/** Sums of nothing. */
export const NO_USAGE: UsageSums = {
  invocations: 0,
  executions: 0,
  durationMs: 0,
  initMs: 0,
  coldStarts: 0,
  cpuMilliMs: 0,
  memoryByteMs: 0,
};

/** Adds two groups' sums (a day's invocations and its CronJob runs). */
export function addSums(a: UsageSums, b: UsageSums): UsageSums {
  return {
    invocations: a.invocations + b.invocations,
    executions: a.executions + b.executions,
    durationMs: a.durationMs + b.durationMs,
    initMs: a.initMs + b.initMs,
    coldStarts: a.coldStarts + b.coldStarts,
    cpuMilliMs: a.cpuMilliMs + b.cpuMilliMs,
    memoryByteMs: a.memoryByteMs + b.memoryByteMs,
  };
}

/**
 * Usage and cost of a group: vCPU-seconds = Σ millicores × ms / 10⁶, GiB-seconds = Σ bytes × ms
 * / (2³⁰ × 1000); cost = vCPU-s × vcpuSecond + GiB-s × gibSecond + (invocations + runs) ×
 * invocation. Costs are computed from the unrounded sums; each figure is rounded half up at
 * the end only (6 decimals: a millionth of the currency; seconds to the millisecond).
 */
export function usageFigures(sums: UsageSums, prices: PriceTable): UsageFigures {
  const vcpuSeconds = sums.cpuMilliMs / 1e6;
  const gibSeconds = sums.memoryByteMs / (GIB * 1000);
  const compute = vcpuSeconds * prices.vcpuSecond;
  const memory = gibSeconds * prices.gibSecond;
  const requests = (sums.invocations + sums.executions) * prices.invocation;
  return {
    invocations: sums.invocations,
    executions: sums.executions,
    durationSeconds: round(sums.durationMs / 1000, 3),
    initSeconds: round(sums.initMs / 1000, 3),
    coldStarts: sums.coldStarts,
    vcpuSeconds: round(vcpuSeconds, 6),
    gibSeconds: round(gibSeconds, 6),
    cost: {
      compute: round(compute, 6),
      memory: round(memory, 6),
      requests: round(requests, 6),
      total: round(compute + memory + requests, 6),
    },
  };
}

/** Half up at `decimals` places (figures are never negative). */
export function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  // toPrecision first: 1.0000005 is stored as 1.00000049999…, which must still round up.
  return Math.round(+(value * factor).toPrecision(15)) / factor;
}
