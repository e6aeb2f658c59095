/**
 * Kubernetes resource quantities as the API server returns them (it writes them in canonical
 * form, so `0.5` comes back as `500m` and `1024Mi` as `1Gi`): every suffix of the quantity
 * grammar, binary (`Ki`…`Ei`), decimal (`n`, `u`, `m`, `k`…`E`) and exponents (`1e3`).
 */

const QUANTITY =
  /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

const FACTORS: Readonly<Record<string, number>> = {
  '': 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/**
 * The value of a quantity in its base unit (cores, bytes), or undefined when it is not one.
 * A number is taken as is (a manifest may carry `cpu: 2`).
 */
export function quantityValue(quantity: unknown): number | undefined {
  if (typeof quantity === 'number') return Number.isFinite(quantity) ? quantity : undefined;
  if (typeof quantity !== 'string') return undefined;
  const match = QUANTITY.exec(quantity.trim());
  if (!match) return undefined;
  const suffix = match[2] ?? '';
  const factor = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : FACTORS[suffix];
  return Number(match[1]) * factor;
}
