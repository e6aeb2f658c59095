/** What a function process's environment is made of. */
export interface ProcessEnvParts {
  /** `PATH` of the process. */
  readonly path: string;
  /** The stand-in's `LANG`, if any (else `C.UTF-8`). */
  readonly lang: string | undefined;
  /** The container's environment from the Knative Service (`HKS_*` and the function's own). */
  readonly container: Readonly<Record<string, string>>;
  /** Variables Knative sets (`K_SERVICE`, ...). */
  readonly knative: Readonly<Record<string, string>>;
  readonly port: number;
}

/** `HOME` of a function process: the container's `/tmp` is its only writable folder. */
export const PROCESS_HOME = '/tmp';

/**
 * The whole environment of a function process, as a container gets it: a few basics, the
 * container's variables, Knative's and `PORT`. Nothing else of the stand-in's own
 * environment (its `KUBECONFIG`, a `HKS_JWT_SECRET`, ...) reaches the function.
 */
export function processEnv(parts: ProcessEnvParts): Record<string, string> {
  return {
    PATH: parts.path,
    HOME: PROCESS_HOME,
    LANG: parts.lang ?? 'C.UTF-8',
    ...parts.container,
    ...parts.knative,
    PORT: String(parts.port),
  };
}
