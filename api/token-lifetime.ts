/**
 * How far `iat` may lie in the future, in seconds: the issuer's clock and the API's may differ
 * this much. A token issued later than that was minted with a wrong clock or to outlive its limit.
 */
export const CLOCK_SKEW_SECONDS = 60;

/** The lifetime limit of one token family. */
export interface LifetimeLimit {
  /** The tokens, for messages, e.g. "User tokens". */
  readonly tokens: string;
  /** Longest lifetime in seconds: bounds `exp` − now and `exp` − `iat`. */
  readonly maxSeconds: number;
  /** Where the limit comes from, for messages, e.g. "HKS_JWT_MAX_LIFETIME_SECONDS". */
  readonly source: string;
  /** Whether the token must carry `iat`. @default false */
  readonly requireIssuedAt?: boolean;
}

/** The time claims of a verified token, in seconds since the epoch. */
export interface TimeClaims {
  readonly iat?: number;
  readonly exp?: number;
}

/**
 * Checks a token's `exp` and `iat` against the limit and the current time; jose has already
 * refused expired tokens.
 * @returns undefined when the token's lifetime is acceptable, else what is wrong
 */
export function lifetimeProblem(
  claims: TimeClaims,
  limit: LifetimeLimit,
  nowSeconds: number,
): string | undefined {
  const { iat, exp } = claims;
  const max = `at most ${limit.maxSeconds} s (${limit.source})`;
  if (exp === undefined) return `${limit.tokens} must carry exp, expected a lifetime of ${max}`;
  if (iat === undefined && limit.requireIssuedAt) return `${limit.tokens} must carry iat`;
  if (iat !== undefined && iat > nowSeconds + CLOCK_SKEW_SECONDS) {
    return `${limit.tokens}: iat is ${Math.round(iat - nowSeconds)} s in the future, expected at most ${CLOCK_SKEW_SECONDS} s (clock skew)`;
  }
  if (iat !== undefined && exp - iat > limit.maxSeconds) {
    return `${limit.tokens}: exp − iat is ${exp - iat} s, expected ${max}`;
  }
  if (exp - nowSeconds > limit.maxSeconds) {
    return `${limit.tokens}: the token expires in ${Math.round(exp - nowSeconds)} s, expected ${max}`;
  }
  return undefined;
}
