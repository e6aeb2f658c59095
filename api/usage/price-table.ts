import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../config';

/** What usage costs: the rates `HKS_PRICE_TABLE` sets. */
export interface PriceTable {
  /** Price of one requested vCPU for one second. */
  readonly vcpuSecond: number;
  /** Price of one requested GiB of memory for one second. */
  readonly gibSecond: number;
  /** Price of one function invocation or one CronJob run. */
  readonly invocation: number;
  /** ISO 4217 code the prices are in. @default "USD" */
  readonly currency: string;
}

/**
 * Without `HKS_PRICE_TABLE` usage is measured and costs nothing: any made-up rate would be
 * mistaken for a real bill, and each installation's own hardware or provider sets the rates.
 */
export const DEFAULT_PRICE_TABLE: PriceTable = {
  vcpuSecond: 0,
  gibSecond: 0,
  invocation: 0,
  currency: 'USD',
};

const RATES = ['vcpuSecond', 'gibSecond', 'invocation'] as const;
const VARIABLE = 'HKS_PRICE_TABLE';

/**
 * The price table of `HKS_PRICE_TABLE`: its JSON (starting with `{`) or the path of a file
 * holding it.
 * @throws ConfigError naming the field, the value given and what is expected
 */
export function readPriceTable(env: NodeJS.ProcessEnv = process.env): PriceTable {
  const raw = env[VARIABLE]?.trim();
  if (!raw) return DEFAULT_PRICE_TABLE;
  if (raw.startsWith('{')) return parsePriceTable(raw, VARIABLE);
  if (!existsSync(raw))
    throw new ConfigError([
      `${VARIABLE}: given ${JSON.stringify(raw)}, expected a JSON object such as {"vcpuSecond": 0.000024, "gibSecond": 0.0000025, "invocation": 0.0000004, "currency": "USD"} or the path of a file holding one (no such file)`,
    ]);
  return parsePriceTable(readFileSync(raw, 'utf8'), `${VARIABLE} (file ${raw})`);
}

/**
 * Parses a price table's JSON; `source` names where it came from in the errors.
 * @throws ConfigError naming each bad field, the value given and what is expected
 */
export function parsePriceTable(text: string, source: string): PriceTable {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([
      `${source}: given text that is not JSON (${(error as Error).message}), expected a JSON object with vcpuSecond, gibSecond, invocation and currency`,
    ]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError([
      `${source}: given ${JSON.stringify(value)}, expected a JSON object with vcpuSecond, gibSecond, invocation and currency`,
    ]);
  const table = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(table))
    if (!(RATES as readonly string[]).includes(key) && key !== 'currency')
      problems.push(
        `${source}.${key}: given ${JSON.stringify(table[key])}, expected no such field (fields: ${[...RATES, 'currency'].join(', ')})`,
      );
  for (const rate of RATES) {
    const given = table[rate];
    if (typeof given !== 'number' || !Number.isFinite(given) || given < 0)
      problems.push(
        `${source}.${rate}: given ${given === undefined ? 'nothing' : JSON.stringify(given)}, expected a number at least 0 (a price per ${rate === 'invocation' ? 'invocation' : rate === 'vcpuSecond' ? 'vCPU-second' : 'GiB-second'})`,
      );
  }
  const currency = table.currency ?? DEFAULT_PRICE_TABLE.currency;
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency))
    problems.push(
      `${source}.currency: given ${JSON.stringify(currency)}, expected an ISO 4217 code of three capital letters such as USD`,
    );
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    vcpuSecond: table.vcpuSecond as number,
    gibSecond: table.gibSecond as number,
    invocation: table.invocation as number,
    currency: currency as string,
  };
}
