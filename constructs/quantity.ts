/**
 * CPU and memory quantities in Kubernetes notation, checked and converted once so that the
 * rendered manifests stay stable.
 */

const CPU = /^(\d+(\.\d+)?|\.\d+)(m?)$/;
const MEMORY = /^(\d+(\.\d+)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/;
const MEMORY_FACTORS: Record<string, number> = {
  '': 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
};
const MEBIBYTE = 2 ** 20;

/** A CPU amount as given (`250m`, `0.5`, `2`), with its value in millicores. */
export interface CpuQuantity {
  /** The amount as Kubernetes will show it. */
  readonly text: string;
  /** Whole millicores. */
  readonly millicores: number;
}

/** A memory amount, always a whole number of mebibytes. */
export interface MemoryQuantity {
  /** The amount as written to manifests, e.g. `256Mi`. */
  readonly text: string;
  /** Whole mebibytes. */
  readonly mebibytes: number;
}

/**
 * Parses a CPU quantity.
 * @returns the quantity, or a sentence saying what was given and what is expected
 */
export function parseCpu(value: string | number): CpuQuantity | string {
  const text = String(value);
  const match = CPU.exec(text);
  const millicores = match ? Number(match[1]) * (match[3] === 'm' ? 1 : 1000) : NaN;
  if (!match || !Number.isInteger(millicores) || millicores <= 0) {
    return `given ${JSON.stringify(value)}, expected a CPU amount such as 250m, 0.5 or 2 (whole millicores, more than 0)`;
  }
  return { text, millicores };
}

/**
 * Parses a memory quantity. Manifests show memory in `Mi` (cdk8s-plus renders it that way),
 * so the amount must be a whole number of mebibytes.
 * @returns the quantity, or a sentence saying what was given and what is expected
 */
export function parseMemory(value: string | number): MemoryQuantity | string {
  const text = String(value);
  const match = MEMORY.exec(text);
  const expected = 'expected a memory amount such as 128Mi, 1Gi or 1.5Gi';
  if (!match) return `given ${JSON.stringify(value)}, ${expected}`;
  const bytes = Number(match[1]) * MEMORY_FACTORS[match[3] ?? ''];
  const mebibytes = bytes / MEBIBYTE;
  if (mebibytes <= 0) return `given ${JSON.stringify(value)}, ${expected} (more than 0)`;
  if (!Number.isInteger(mebibytes)) {
    return `given ${JSON.stringify(value)} (${+mebibytes.toFixed(2)}Mi), ${expected}: a whole number of Mi`;
  }
  return { text: `${mebibytes}Mi`, mebibytes };
}

/** Narrowing helper: a parse result that is an error message. */
export function isProblem<T>(result: T | string): result is string {
  return typeof result === 'string';
}
