/** How asynchronous invocations are queued, run, retried and reported. */
export interface AsyncSettings {
  /** `HKS_ASYNC_PAYLOAD_LIMIT_BYTES`: largest body of an asynchronous invocation (413 beyond). @default 1048576 */
  readonly payloadLimitBytes: number;
  /**
   * `HKS_ASYNC_MAX_QUEUED_PER_PROJECT`: invocations a project may have queued, running or
   * waiting for a retry at once (429 with `Retry-After` beyond).
   * @default 1000
   */
  readonly maxQueuedPerProject: number;
  /** `HKS_ASYNC_MAX_ATTEMPTS`: attempts before an invocation is marked dead. @default 5 */
  readonly maxAttempts: number;
  /**
   * `HKS_ASYNC_RETRY_STATUSES`: function statuses retried, a comma-separated list of statuses
   * and ranges. Timeouts and unreachable functions are always retried.
   * @default "429,500-599"
   */
  readonly retryStatuses: ReadonlySet<number>;
  /** `HKS_ASYNC_RETRY_BASE_MS`: delay before the second attempt, doubled for each next one. @default 1000 */
  readonly retryBaseMs: number;
  /** `HKS_ASYNC_RETRY_MAX_MS`: longest delay between two attempts. @default 300000 */
  readonly retryMaxMs: number;
  /** `HKS_ASYNC_CONCURRENCY`: invocations one API replica runs at once. @default 8 */
  readonly concurrency: number;
  /** `HKS_ASYNC_POLL_MS`: how often an idle replica looks for due invocations. @default 500 */
  readonly pollMs: number;
  /**
   * `HKS_ASYNC_LEASE_SECONDS`: how long a claimed invocation stays with its replica without a
   * renewal (renewed every third of it while running); past it another replica takes it over.
   * @default 30
   */
  readonly leaseSeconds: number;
  /** `HKS_ASYNC_RESULT_LIMIT_BYTES`: bytes of a function's answer kept as the result. @default 262144 */
  readonly resultLimitBytes: number;
  /** `HKS_ASYNC_CALLBACK_ATTEMPTS`: deliveries of a callback tried before it is marked failed. @default 3 */
  readonly callbackAttempts: number;
  /** `HKS_ASYNC_CALLBACK_TIMEOUT_SECONDS`: how long one callback delivery may take. @default 10 */
  readonly callbackTimeoutSeconds: number;
  /**
   * `HKS_ASYNC_CALLBACK_SECRET` (at least 32 bytes): the platform key each project's callback
   * signing key is derived from.
   * @default - derived from `HKS_JWT_SECRET`; callbacks are refused when neither is set
   */
  readonly callbackSecret?: Uint8Array;
}

/** The defaults of {@link AsyncSettings}, but the callback secret. */
export const DEFAULT_ASYNC_SETTINGS: AsyncSettings = {
  payloadLimitBytes: 1024 * 1024,
  maxQueuedPerProject: 1000,
  maxAttempts: 5,
  retryStatuses: parseStatuses('429,500-599') as ReadonlySet<number>,
  retryBaseMs: 1000,
  retryMaxMs: 300_000,
  concurrency: 8,
  pollMs: 500,
  leaseSeconds: 30,
  resultLimitBytes: 256 * 1024,
  callbackAttempts: 3,
  callbackTimeoutSeconds: 10,
};

/**
 * `429,500-599` → the statuses it names.
 * @returns the statuses, or what is wrong with the list
 */
export function parseStatuses(list: string): ReadonlySet<number> | string {
  const statuses = new Set<number>();
  for (const part of list.split(',').map((p) => p.trim())) {
    const match = /^(\d{3})(?:-(\d{3}))?$/.exec(part);
    const from = Number(match?.[1]);
    const to = Number(match?.[2] ?? match?.[1]);
    if (!match || from < 100 || to > 599 || from > to)
      return `${JSON.stringify(part)} is not a status from 100 to 599 or a range such as 500-599`;
    for (let status = from; status <= to; status++) statuses.add(status);
  }
  return statuses;
}

/**
 * Reads the settings with the configuration's readers: `integer(name, default, min, max)`
 * records a problem for a value out of range, `problems` takes the others.
 * @param jwtSecret the user-token secret, the callback key's fallback @default - none
 */
export function readAsyncSettings(
  env: NodeJS.ProcessEnv,
  integer: (name: string, fallback: number, min: number, max: number) => number,
  problems: string[],
  jwtSecret?: Uint8Array,
): AsyncSettings {
  const d = DEFAULT_ASYNC_SETTINGS;
  const MiB = 1024 * 1024;
  let retryStatuses = d.retryStatuses;
  const statuses = env.HKS_ASYNC_RETRY_STATUSES;
  if (statuses) {
    const parsed = parseStatuses(statuses);
    if (typeof parsed === 'string')
      problems.push(
        `HKS_ASYNC_RETRY_STATUSES: given ${JSON.stringify(statuses)}, expected statuses and ranges such as 429,500-599 (${parsed})`,
      );
    else retryStatuses = parsed;
  }
  let callbackSecret = jwtSecret;
  const secret = env.HKS_ASYNC_CALLBACK_SECRET;
  if (secret) {
    if (Buffer.byteLength(secret) < 32)
      problems.push(
        `HKS_ASYNC_CALLBACK_SECRET: given ${Buffer.byteLength(secret)} bytes, expected at least 32 bytes`,
      );
    callbackSecret = new TextEncoder().encode(secret);
  }
  const retryBaseMs = integer('HKS_ASYNC_RETRY_BASE_MS', d.retryBaseMs, 1, 3_600_000);
  const retryMaxMs = integer('HKS_ASYNC_RETRY_MAX_MS', d.retryMaxMs, 1, 86_400_000);
  if (retryMaxMs < retryBaseMs)
    problems.push(
      `HKS_ASYNC_RETRY_MAX_MS: given ${retryMaxMs}, expected at least HKS_ASYNC_RETRY_BASE_MS (${retryBaseMs})`,
    );
  return {
    payloadLimitBytes: integer('HKS_ASYNC_PAYLOAD_LIMIT_BYTES', d.payloadLimitBytes, 1, 64 * MiB),
    maxQueuedPerProject: integer(
      'HKS_ASYNC_MAX_QUEUED_PER_PROJECT',
      d.maxQueuedPerProject,
      1,
      1_000_000,
    ),
    maxAttempts: integer('HKS_ASYNC_MAX_ATTEMPTS', d.maxAttempts, 1, 100),
    retryStatuses,
    retryBaseMs,
    retryMaxMs,
    concurrency: integer('HKS_ASYNC_CONCURRENCY', d.concurrency, 0, 1000),
    pollMs: integer('HKS_ASYNC_POLL_MS', d.pollMs, 10, 60_000),
    leaseSeconds: integer('HKS_ASYNC_LEASE_SECONDS', d.leaseSeconds, 3, 3600),
    resultLimitBytes: integer('HKS_ASYNC_RESULT_LIMIT_BYTES', d.resultLimitBytes, 0, 16 * MiB),
    callbackAttempts: integer('HKS_ASYNC_CALLBACK_ATTEMPTS', d.callbackAttempts, 1, 20),
    callbackTimeoutSeconds: integer(
      'HKS_ASYNC_CALLBACK_TIMEOUT_SECONDS',
      d.callbackTimeoutSeconds,
      1,
      300,
    ),
    callbackSecret,
  };
}
