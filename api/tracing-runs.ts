/**
 * A span per CronJob execution, made when the recorder has its final record: from the Job's
 * start to its end, with the OpenTelemetry FaaS attributes of a timer (`faas.trigger`,
 * `faas.cron`, `faas.time`). Each run is a trace of its own: nothing upstream called it.
 */
import { openTelemetry, tracingEnabled } from './tracing';

/** What the span of one run says. */
export interface RecordedRun {
  readonly jobUid: string;
  readonly jobName: string;
  readonly namespace: string;
  readonly project: string;
  readonly cronjob: string;
  readonly trigger: 'scheduled' | 'manual';
  readonly status: string;
  /** When the CronJob controller scheduled it. @default - not known */
  readonly scheduledAt?: string;
  readonly startedAt: string;
  /** @default - not known: the span ends now */
  readonly completedAt?: string;
}

/**
 * Exports the run's span; `schedule` gives the CronJob's schedule (`faas.cron`), read only when
 * tracing is on. Never throws: a run's span is not worth a recorder's error.
 */
export async function traceRun(
  run: RecordedRun,
  schedule: () => Promise<string | undefined>,
): Promise<void> {
  if (!tracingEnabled()) return;
  const { SpanKind, SpanStatusCode, trace } = openTelemetry().api;
  const cron = await schedule().catch(() => undefined);
  const span = trace.getTracer('hks-api').startSpan(`cronjob ${run.cronjob}`, {
    kind: SpanKind.SERVER,
    root: true,
    startTime: new Date(run.startedAt),
    attributes: {
      // A manual run is started by a person through the API, not by the schedule.
      'faas.trigger': run.trigger === 'scheduled' ? 'timer' : 'other',
      'faas.name': run.cronjob,
      'faas.invocation_id': run.jobUid,
      ...(cron ? { 'faas.cron': cron } : {}),
      ...(run.scheduledAt ? { 'faas.time': run.scheduledAt } : {}),
      'hks.trigger': run.trigger,
      'hks.project': run.project,
      'hks.execution.status': run.status,
      'k8s.job.name': run.jobName,
      'k8s.namespace.name': run.namespace,
    },
  });
  if (run.status !== 'succeeded')
    span.setStatus({ code: SpanStatusCode.ERROR, message: run.status });
  span.end(run.completedAt ? new Date(run.completedAt) : new Date());
}
