import type { ProcessExit, StartOutcome } from './revision-process';
import type { Upstream } from './router';

/**
 * A running revision, whatever runs it: a local process ({@link RevisionProcess}, the default)
 * or a pod on the test cluster's real node ({@link RealRevisionPod}, `--real-pods`).
 */
export interface RevisionInstance {
  /** What runs it, for log lines. */
  readonly kind: 'process' | 'pod';
  /** Where its requests go; undefined while it has no address. */
  readonly upstream: Upstream | undefined;
  /** Resolves with the start's outcome (healthy, exited or never healthy). */
  readonly started: Promise<StartOutcome>;
  /** Resolves when its container has exited. */
  readonly exited: Promise<ProcessExit>;
  /** The last lines it printed (known once it has exited, for a pod). */
  logTail(): string;
  /** Stops it (SIGTERM, then SIGKILL after a grace period); resolves when it has exited. */
  stop(): Promise<ProcessExit>;
}
