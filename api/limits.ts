/** The API's bounds on what one request may take: sizes and time. */
export interface ApiLimits {
  /**
   * `HKS_KUBE_TIMEOUT_SECONDS`: deadline of every Kubernetes call, from sending to the last
   * byte of the answer (watches and log follows have their own idle handling).
   * @default 10
   */
  readonly kubeTimeoutSeconds: number;
  /** `HKS_BODY_LIMIT_BYTES`: largest request body (JSON, or a function invocation's). @default 2097152 */
  readonly bodyLimitBytes: number;
  /**
   * `HKS_DEFINITION_LIMIT_BYTES`: largest application definition body. A Function's source is
   * at most 900 KiB (its ConfigMap's limit), so 1 MiB leaves room for JSON escaping and the
   * other fields while bounding how long validation and synthesis hold the event loop.
   * @default 1048576
   */
  readonly definitionLimitBytes: number;
  /**
   * `HKS_FUNCTION_RESPONSE_LIMIT_BYTES`: largest function response the invoke routes stream
   * on (6 MiB, like AWS Lambda's synchronous responses); beyond it a 502 problem.
   * @default 6291456
   */
  readonly functionResponseLimitBytes: number;
  /**
   * `HKS_DEFINITION_WORKERS`: worker threads that check and synthesize definitions off the
   * request loop; 0 does it on the request loop.
   * @default 2
   */
  readonly definitionWorkers: number;
}

/** The defaults of {@link ApiLimits}. */
export const DEFAULT_LIMITS: ApiLimits = {
  kubeTimeoutSeconds: 10,
  bodyLimitBytes: 2 * 1024 * 1024,
  definitionLimitBytes: 1024 * 1024,
  functionResponseLimitBytes: 6 * 1024 * 1024,
  definitionWorkers: 2,
};

/**
 * Reads the limits with `integer(name, default, min, max)`, the configuration's reader of
 * whole numbers (which records a problem for a value out of range).
 */
export function readLimits(
  integer: (name: string, fallback: number, min: number, max: number) => number,
): ApiLimits {
  const MiB = 1024 * 1024;
  return {
    kubeTimeoutSeconds: integer(
      'HKS_KUBE_TIMEOUT_SECONDS',
      DEFAULT_LIMITS.kubeTimeoutSeconds,
      1,
      300,
    ),
    bodyLimitBytes: integer('HKS_BODY_LIMIT_BYTES', DEFAULT_LIMITS.bodyLimitBytes, 1024, 64 * MiB),
    definitionLimitBytes: integer(
      'HKS_DEFINITION_LIMIT_BYTES',
      DEFAULT_LIMITS.definitionLimitBytes,
      1024,
      16 * MiB,
    ),
    functionResponseLimitBytes: integer(
      'HKS_FUNCTION_RESPONSE_LIMIT_BYTES',
      DEFAULT_LIMITS.functionResponseLimitBytes,
      1024,
      1024 * MiB,
    ),
    definitionWorkers: integer('HKS_DEFINITION_WORKERS', DEFAULT_LIMITS.definitionWorkers, 0, 16),
  };
}
