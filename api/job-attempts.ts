import type { V1Pod } from '@kubernetes/client-node';

/** One run of a Job's container: a pod (backoffLimit retries) or a restart inside it (OnFailure). */
export interface Attempt {
  readonly pod: string;
  readonly container: string;
  /** The container's restart count at this run (0 for its first run in the pod). */
  readonly restart: number;
  /** Read the log of the previous run of the container (`previous=true`). */
  readonly previous: boolean;
  readonly exitCode?: number;
  /** Earlier restarts of this container whose logs the node no longer keeps. */
  readonly lostRestarts: number;
}

/** An attempt with the log read for it. */
export interface AttemptLog extends Attempt {
  readonly text: string;
}

/**
 * The runs whose logs can still be read, oldest first: per pod (by creation time), the
 * previous run of its first container when it restarted (a node keeps only that one), then the
 * current run.
 */
export function attemptsOf(pods: readonly V1Pod[]): Attempt[] {
  return [...pods]
    .sort((a, b) => time(a.metadata?.creationTimestamp) - time(b.metadata?.creationTimestamp))
    .flatMap((pod): Attempt[] => {
      const name = pod.metadata?.name ?? '';
      const container = pod.spec?.containers[0]?.name ?? 'main';
      const status = pod.status?.containerStatuses?.find((s) => s.name === container);
      const restarts = status?.restartCount ?? 0;
      const current: Attempt = {
        pod: name,
        container,
        restart: restarts,
        previous: false,
        exitCode: status?.state?.terminated?.exitCode,
        lostRestarts: 0,
      };
      if (restarts === 0) return [current];
      return [
        {
          pod: name,
          container,
          restart: restarts - 1,
          previous: true,
          exitCode: status?.lastState?.terminated?.exitCode,
          lostRestarts: restarts - 1,
        },
        current,
      ];
    });
}

/** The exit code of the Job: that of its last attempt that ended. */
export function lastExitCode(attempts: readonly Attempt[]): number | undefined {
  return [...attempts].reverse().find((a) => a.exitCode !== undefined)?.exitCode;
}

/** The logs of all attempts; each under a header naming it when there was more than one. */
export function joinAttempts(logs: readonly AttemptLog[]): string {
  if (logs.length === 1) return logs[0].text;
  return logs
    .map((log, i) => {
      const exit = log.exitCode === undefined ? '' : `, exit code ${log.exitCode}`;
      const lost =
        log.lostRestarts > 0
          ? ` (the logs of ${log.lostRestarts} earlier restart${log.lostRestarts > 1 ? 's' : ''} are no longer kept by the node)`
          : '';
      const text = log.text === '' || log.text.endsWith('\n') ? log.text : `${log.text}\n`;
      return `--- attempt ${i + 1} of ${logs.length}: pod ${log.pod}, restart ${log.restart}${exit}${lost} ---\n${text}`;
    })
    .join('');
}

function time(value: Date | string | undefined): number {
  return value ? new Date(value).getTime() : 0;
}
