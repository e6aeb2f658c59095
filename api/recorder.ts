import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { LABELS, MANAGER } from '../constructs';
import { Kube } from './kube';
import { Execution, ExecutionStatus, Store } from './store/store';

/** Jobs of managed CronJobs, scheduled or manual. */
export const RECORDED_JOBS = `${LABELS.managedBy}=${MANAGER},${LABELS.kind}=CronJob`;

/** Marker appended to logs cut at the size limit. */
export const TRUNCATION_MARKER = '\n[hks: log truncated at the size limit]\n';

/** Counters the recorder reports to /metrics. */
export interface RecorderMetrics {
  recorded(status: ExecutionStatus): void;
  watchRestarted(reason: string): void;
}

/**
 * Records every Job of managed CronJobs: list (backfilling what ran while the API was down),
 * then watch from the list's resourceVersion, relisting after `410 Gone` or any watch end.
 * Writes are upserts keyed by Job UID and logs are captured once, when the Job finishes and
 * before Kubernetes removes its pods, so replicas, restarts and replayed events never
 * duplicate or lose an execution.
 */
export class Recorder {
  private abort?: AbortController;
  private generation = 0;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly kube: Kube,
    private readonly store: Store,
    private readonly logLimitBytes: number,
    private readonly namespacePrefix: string,
    private readonly metrics: RecorderMetrics,
    private readonly log: (message: string, fields?: Record<string, unknown>) => void,
  ) {}

  /** Lists, records and starts watching; resolves after the first full list is recorded. */
  public async start(): Promise<void> {
    try {
      await this.listAndWatch();
    } catch (error) {
      this.restart(error, this.generation);
      throw error;
    }
  }

  public stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.abort?.abort();
  }

  private async listAndWatch(): Promise<void> {
    const { items, resourceVersion } = await this.kube.listJobs(undefined, RECORDED_JOBS);
    await Promise.all(items.map((job) => this.record(job)));
    if (this.stopped) return;
    const generation = ++this.generation;
    this.abort = await this.kube.watch(
      '/apis/batch/v1/jobs',
      {
        labelSelector: RECORDED_JOBS,
        resourceVersion: resourceVersion ?? '',
        allowWatchBookmarks: true,
      },
      (type, job) => {
        if (type === 'ADDED' || type === 'MODIFIED') void this.record(job);
        // An expired resourceVersion arrives as an ERROR event carrying a Status (410 Gone).
        if (type === 'ERROR') this.restart(job as unknown, generation);
      },
      (error) => this.restart(error, generation),
    );
  }

  private restart(error: unknown, generation: number): void {
    // Only the current watch may restart, once; aborting it calls its done callback too.
    if (this.stopped || generation !== this.generation) return;
    this.generation++;
    this.abort?.abort();
    const reason = isGone(error) ? 'gone' : error ? 'error' : 'closed';
    this.metrics.watchRestarted(reason);
    this.log('job watch ended; relisting', {
      reason,
      error: error ? String((error as Error).message ?? error) : undefined,
    });
    this.retryTimer = setTimeout(
      () => {
        this.listAndWatch().catch((e: unknown) => this.restart(e, this.generation));
      },
      reason === 'error' ? 1000 : 0,
    );
  }

  /** Records one Job; serialized per UID so concurrent events don't race. */
  public record(job: V1Job): Promise<void> {
    const uid = job.metadata?.uid;
    if (!uid) return Promise.resolve();
    const previous = this.inFlight.get(uid) ?? Promise.resolve();
    const next = previous
      .then(() => this.recordNow(job))
      .catch((error: unknown) =>
        this.log('recording a job failed', { job: job.metadata?.name, error: String(error) }),
      )
      .finally(() => {
        if (this.inFlight.get(uid) === next) this.inFlight.delete(uid);
      });
    this.inFlight.set(uid, next);
    return next;
  }

  private async recordNow(job: V1Job): Promise<void> {
    const labels = job.metadata?.labels ?? {};
    const project = labels[LABELS.project];
    const cronjob = labels[LABELS.app];
    const namespace = job.metadata?.namespace;
    const uid = job.metadata?.uid;
    if (!project || !cronjob || !namespace || !uid) return;
    // Another installation (another namespace prefix) on the same cluster records its own jobs.
    if (namespace !== `${this.namespacePrefix}${project}`) return;
    const status = jobStatus(job);
    const base = {
      jobUid: uid,
      project,
      cronjob,
      jobName: job.metadata?.name ?? '',
      namespace,
      trigger:
        job.metadata?.annotations?.['cronjob.kubernetes.io/instantiate'] === 'manual'
          ? ('manual' as const)
          : ('scheduled' as const),
      status,
      startedAt:
        toIso(job.status?.startTime ?? job.metadata?.creationTimestamp) ?? new Date().toISOString(),
      completedAt:
        status === 'running' ? undefined : toIso(job.status?.completionTime ?? finishedAt(job)),
    };
    if (status === 'running' || (await this.store.logsCaptured(uid))) {
      await this.store.upsertExecution(base);
      return;
    }
    const pods = (
      await this.kube.listPods(namespace, `batch.kubernetes.io/controller-uid=${uid}`)
    ).sort((a, b) => time(a.metadata?.creationTimestamp) - time(b.metadata?.creationTimestamp));
    const { logs, truncated } = await this.collectLogs(namespace, pods);
    const execution: Execution = {
      ...base,
      exitCode: exitCode(pods[pods.length - 1]) ?? (status === 'succeeded' ? 0 : undefined),
      logs,
      logsTruncated: truncated,
      logsCaptured: true,
    };
    await this.store.upsertExecution(execution);
    this.metrics.recorded(status);
  }

  private async collectLogs(
    namespace: string,
    pods: V1Pod[],
  ): Promise<{ logs: string; truncated: boolean }> {
    let logs = '';
    for (const pod of pods) {
      const name = pod.metadata?.name ?? '';
      let text: string;
      try {
        text = await this.kube.podLog(namespace, name, this.logLimitBytes + 1);
      } catch (error) {
        text = `[hks: log of pod ${name} unavailable: ${(error as Error).message}]\n`;
      }
      logs += pods.length > 1 ? `--- pod ${name} ---\n${text}` : text;
    }
    const bytes = Buffer.from(logs, 'utf8');
    if (bytes.length <= this.logLimitBytes) return { logs, truncated: false };
    return {
      logs: bytes.subarray(0, this.logLimitBytes).toString('utf8') + TRUNCATION_MARKER,
      truncated: true,
    };
  }
}

/** running | succeeded | failed, from the Job's conditions. */
export function jobStatus(job: V1Job): ExecutionStatus {
  const conditions = job.status?.conditions ?? [];
  if (conditions.some((c) => c.type === 'Complete' && c.status === 'True')) return 'succeeded';
  if (conditions.some((c) => c.type === 'Failed' && c.status === 'True')) return 'failed';
  return 'running';
}

function finishedAt(job: V1Job): Date | undefined {
  const condition = job.status?.conditions?.find(
    (c) => (c.type === 'Failed' || c.type === 'Complete') && c.status === 'True',
  );
  return condition?.lastTransitionTime;
}

function exitCode(pod: V1Pod | undefined): number | undefined {
  const terminated =
    pod?.status?.containerStatuses?.[0]?.state?.terminated ??
    pod?.status?.containerStatuses?.[0]?.lastState?.terminated;
  return terminated?.exitCode;
}

function toIso(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return new Date(value).toISOString();
}

function time(value: Date | string | undefined): number {
  return value ? new Date(value).getTime() : 0;
}

function isGone(error: unknown): boolean {
  const e = error as { code?: number; statusCode?: number; message?: string } | undefined;
  return (
    e?.code === 410 ||
    e?.statusCode === 410 ||
    /\b410\b|too old resource version|Gone/.test(e?.message ?? '')
  );
}
