import type { V1JobStatus, V1Pod } from '@kubernetes/client-node';

/** One run of a Job's container: a pod (backoffLimit retries) or a restart inside it (OnFailure). */
export interface Attempt {
  readonly pod: string;
  readonly container: string;
  /** The container's restart count at this run (0 for its first run in the pod). */
  readonly restart: number;
  /** Read the log of the previous run of the container (`previous=true`). */
  readonly previous: boolean;
  /**
   * Whether the node has a log of this run: not for a container that never ran (waiting to
   * start, or a pod the kubelet rejected), which is listed for its reason only.
   */
  readonly hasLog: boolean;
  readonly exitCode?: number;
  /**
   * Why the run ended (or never started), as Kubernetes says it: the container's
   * `terminated.reason` (`Completed`, `Error`, `OOMKilled`, `ContainerCannotRun`...); for a
   * container that never ran, its `waiting.reason` (`ErrImageNeverPull`,
   * `CreateContainerConfigError`...) or the pod's own `status.reason` (`OutOfcpu`...).
   * @default - none: the run is still going, or Kubernetes gives no reason
   */
  readonly reason?: string;
  /** Earlier runs of this container whose logs the node no longer keeps. */
  readonly lostRestarts: number;
}

/** An attempt with the log read for it. */
export interface AttemptLog extends Attempt {
  readonly text: string;
}

/**
 * The runs whose logs can still be read, oldest first, per pod (by creation time). The kubelet
 * keeps the log of one ended run of a container besides the current one: while the container
 * runs again, the previous run's (`lastState`); while it waits to restart, that of the run
 * that just ended (now `lastState`, its restart count not yet raised); once the current run
 * ended too, none but that last run's (`lastState` still names the previous one for a moment,
 * its log already removed). Earlier runs are counted as lost. A container that never ran is
 * listed for its reason, without a log.
 */
export function attemptsOf(pods: readonly V1Pod[]): Attempt[] {
  return [...pods]
    .sort((a, b) => time(a.metadata?.creationTimestamp) - time(b.metadata?.creationTimestamp))
    .flatMap((pod): Attempt[] => {
      const name = pod.metadata?.name ?? '';
      const container = pod.spec?.containers[0]?.name ?? 'main';
      const status = pod.status?.containerStatuses?.find((s) => s.name === container);
      const restarts = status?.restartCount ?? 0;
      const state = status?.state;
      const last = status?.lastState?.terminated;
      const ran = state?.running !== undefined || state?.terminated !== undefined;
      if (last?.containerID && !state?.terminated) {
        // Waiting to restart, the restart count is that of the run that ended.
        const restart = ran ? Math.max(restarts - 1, 0) : restarts;
        const previous: Attempt = {
          pod: name,
          container,
          restart,
          previous: true,
          hasLog: true,
          exitCode: last.exitCode,
          reason: nonEmpty(last.reason),
          lostRestarts: restart,
        };
        // Waiting, the kubelet answers the current log with that same run's.
        if (!ran) return [previous];
        return [
          previous,
          {
            pod: name,
            container,
            restart: restarts,
            previous: false,
            hasLog: true,
            lostRestarts: 0,
          },
        ];
      }
      return [
        {
          pod: name,
          container,
          restart: restarts,
          previous: false,
          hasLog: ran,
          exitCode: state?.terminated?.exitCode,
          reason: nonEmpty(
            state?.terminated?.reason,
            ran ? undefined : state?.waiting?.reason,
            ran ? undefined : pod.status?.reason,
          ),
          lostRestarts: restarts,
        },
      ];
    });
}

/**
 * The pods the Job controller counts for a Job: those running or waiting to (`active`), those
 * that ended (`succeeded`, `failed`, and those ended but not counted yet). The counts outlive
 * the pods (the controller tracks each with a finalizer), so a pod deleted as the Job fails
 * still counts; a restart of a container inside a pod does not change them.
 */
export function jobPodCount(status: V1JobStatus | undefined): number {
  const uncounted = status?.uncountedTerminatedPods;
  return (
    (status?.active ?? 0) +
    (status?.succeeded ?? 0) +
    (status?.failed ?? 0) +
    (uncounted?.succeeded?.length ?? 0) +
    (uncounted?.failed?.length ?? 0)
  );
}

/**
 * How many times the Job's container was run or is being tried: once per pod (a backoffLimit
 * retry is a new pod), once more per restart of its container in the pod (`restartPolicy:
 * OnFailure`; the restart count is that of the run that ended while it waits to restart), and
 * once per pod the Job controller counted that is gone (its restarts unknown).
 * @param jobPods {@link jobPodCount} of the Job
 */
export function attemptCount(pods: readonly V1Pod[], jobPods: number): number {
  const runs = pods.reduce((sum, pod) => {
    const container = pod.spec?.containers[0]?.name ?? 'main';
    const status = pod.status?.containerStatuses?.find((s) => s.name === container);
    return sum + 1 + (status?.restartCount ?? 0);
  }, 0);
  return runs + Math.max(jobPods - pods.length, 0);
}

/** How the Job's last attempt ended. */
export interface Termination {
  readonly exitCode?: number;
  readonly reason?: string;
}

/**
 * How the Job ended, from one attempt: the last one that ended (exit code and its reason), or,
 * when none ended, the reason of the newest attempt (why its container never ran or ended).
 */
export function lastTermination(attempts: readonly Attempt[]): Termination {
  const ended = [...attempts].reverse().find((a) => a.exitCode !== undefined);
  if (ended) return { exitCode: ended.exitCode, reason: ended.reason };
  return { reason: attempts[attempts.length - 1]?.reason };
}

/** The exit code of the Job: that of its last attempt that ended. */
export function lastExitCode(attempts: readonly Attempt[]): number | undefined {
  return lastTermination(attempts).exitCode;
}

/**
 * The logs of all attempts; each under a header naming it when there was more than one or
 * earlier runs' logs are gone.
 */
export function joinAttempts(logs: readonly AttemptLog[]): string {
  if (logs.length === 1 && logs[0].lostRestarts === 0) return logs[0].text;
  return logs
    .map((log, i) => {
      const exit = [
        log.exitCode === undefined ? '' : `, exit code ${log.exitCode}`,
        log.reason === undefined ? '' : `, ${log.reason}`,
      ].join('');
      const lost =
        log.lostRestarts > 0
          ? ` (the logs of ${log.lostRestarts} earlier restart${log.lostRestarts > 1 ? 's' : ''} are no longer kept by the node)`
          : '';
      const text = log.text === '' || log.text.endsWith('\n') ? log.text : `${log.text}\n`;
      return `--- attempt ${i + 1} of ${logs.length}: pod ${log.pod}, restart ${log.restart}${exit}${lost} ---\n${text}`;
    })
    .join('');
}

/**
 * The kubelet answers a log request with 200 before it opens the log (a zero-byte write), so
 * when it then fails — the container or the pod's log folder removed as the pod goes — its
 * error becomes the body. Such a body is one line without a newline (a container's lines end
 * with one) and starts with one of the kubelet's messages (pkg/kubelet/kuberuntime).
 * @returns the kubelet's error, or undefined for a log
 */
export function kubeletLogError(body: string): string | undefined {
  const messages = [
    'unable to retrieve container logs for ',
    'failed to try resolving symlinks in path ',
    'failed to open log file ',
  ];
  if (body.includes('\n') || !messages.some((m) => body.startsWith(m))) return undefined;
  return body;
}

/** The first value that is a non-empty string. */
function nonEmpty(...values: (string | undefined)[]): string | undefined {
  return values.find((v) => v !== undefined && v !== '');
}

function time(value: Date | string | undefined): number {
  return value ? new Date(value).getTime() : 0;
}
