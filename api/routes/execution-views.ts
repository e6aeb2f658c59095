import { z } from 'zod';
import type { Execution, ExecutionPage } from '../store/store';
import { isoTime } from './response-schemas';

/** One run (Job) of a CronJob, as the execution routes show it. */
export interface ExecutionView extends Omit<Execution, 'jobUid' | 'logs' | 'logsCaptured'> {
  /** The Job's UID. */
  readonly id: string;
}

export const executionView: z.ZodType<ExecutionView> = z.object({
  id: z.string(),
  project: z.string(),
  cronjob: z.string(),
  jobName: z.string(),
  namespace: z.string(),
  trigger: z.enum(['scheduled', 'manual']),
  status: z.enum(['running', 'succeeded', 'failed', 'unknown']),
  startedAt: isoTime,
  completedAt: isoTime.optional(),
  exitCode: z.number().int().optional().meta({
    description: 'Exit code of the last attempt that ended (0 for a succeeded Job without one)',
  }),
  reason: z.string().optional().meta({
    description:
      "Why the Job ended, the reason of its Failed or Complete condition as the Job controller gives it: BackoffLimitExceeded, DeadlineExceeded, PodFailurePolicy, CompletionsReached...; absent while running and when the Job's end is unknown",
  }),
  terminationReason: z.string().optional().meta({
    description:
      "Why the container's last attempt ended, its state.terminated.reason as the kubelet gives it: Completed, Error, OOMKilled, ContainerCannotRun...; for a container that never ran, its waiting reason (ErrImageNeverPull...) or the pod's (Evicted); absent until the logs are read or when none is given",
  }),
  attempts: z.number().int().min(0).optional().meta({
    description:
      'How many times the container was run or is being tried: one per pod of the Job (backoffLimit retries) and one per restart of its container in a pod (restartPolicy OnFailure), so 3 is 2 retries. While the Job runs, the pods its controller counts; once the logs are read, their restarts too. Absent for executions recorded before the platform kept the count',
  }),
  logsTruncated: z.boolean(),
  logCapture: z.enum(['pending', 'failed', 'captured', 'lost']),
  logCaptureError: z.string().optional(),
  logCaptureAttempts: z.number().int().min(0),
  cpuMillis: z.number().min(0).optional().meta({
    description:
      "CPU the Job's pods requested when it was recorded, millicores: with its run time, the run's vCPU-seconds (docs/usage-and-cost.md); absent when not known",
  }),
  memoryBytes: z.number().min(0).optional().meta({
    description:
      "Memory the Job's pods requested when it was recorded, bytes: with its run time, its GiB-seconds; absent when not known",
  }),
});

export const executionPage: z.ZodType<ExecutionPage<ExecutionView>> = z.object({
  items: z.array(executionView),
  nextCursor: z.string().optional(),
});

export function toExecutionView(e: Execution): ExecutionView {
  const { logs: _logs, logsCaptured: _captured, jobUid: _uid, ...rest } = e;
  return { id: e.jobUid, ...rest };
}

/** A page of the store as the routes answer it. */
export function toExecutionPage(page: ExecutionPage): ExecutionPage<ExecutionView> {
  return { items: page.items.map(toExecutionView), nextCursor: page.nextCursor };
}
