import type { V1Pod, V1PodSpec, V1Toleration } from '@kubernetes/client-node';
import { buildPod } from './pod-manifest';
import type { KnativeRevision } from './types';

/**
 * Label and taint key of the test cluster's real node (`HKS_CLUSTER_REAL_NODE=1 npm run
 * cluster:up`, test/cluster/real-node-config.ts): only pods that select and tolerate it land there.
 */
export const REAL_NODE_KEY = 'hks.dev/real-node';

/** Label on the pods the stand-in runs for real (besides the stand-in's own label). */
export const REAL_POD_LABEL = 'dev.hks.hexabase.io/real-pod';

/** What the real node's pods must tolerate: its `hks.dev/real-node=true:NoSchedule` taint. */
const REAL_NODE_TOLERATION: V1Toleration = {
  key: REAL_NODE_KEY,
  operator: 'Equal',
  value: 'true',
  effect: 'NoSchedule',
};

/** Waiting reasons after which a container will not start without a change (no registry here). */
const IMAGE_FAILURES = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
]);

/**
 * The pod Knative's Deployment would run for a revision, to run for real: the template's pod
 * spec without Knative's own fields (`containerConcurrency`, `timeoutSeconds`, ...), the user
 * container with Knative's variables (`PORT`, `K_SERVICE`, `K_CONFIGURATION`, `K_REVISION`),
 * probe ports and `terminationMessagePolicy: FallbackToLogsOnError` (Knative's default), the
 * labels and owner reference of {@link buildPod}, placed on the real node (selector and
 * toleration added to the template's). Unlike Knative's, it is never restarted
 * (`restartPolicy: Never`): a container that exits fails its revision, as a local process does.
 *
 * @param revision the stored Revision (its uid owns the pod)
 * @param podName the pod's name
 * @param gracePeriodSeconds time between SIGTERM and SIGKILL when the pod is deleted
 */
export function buildRealPod(
  revision: KnativeRevision,
  podName: string,
  gracePeriodSeconds: number,
): V1Pod {
  const pod = buildPod(revision, podName, { [REAL_NODE_KEY]: 'true' });
  const {
    containerConcurrency: _concurrency,
    timeoutSeconds: _timeout,
    responseStartTimeoutSeconds: _responseStart,
    idleTimeoutSeconds: _idle,
    ...template
  } = revision.spec as V1PodSpec & Record<string, unknown>;
  const spec = pod.spec as V1PodSpec;
  return {
    ...pod,
    metadata: { ...pod.metadata, labels: { ...pod.metadata?.labels, [REAL_POD_LABEL]: 'true' } },
    spec: {
      ...template,
      ...spec,
      containers: spec.containers.map((c) => ({
        terminationMessagePolicy: 'FallbackToLogsOnError',
        ...c,
      })),
      enableServiceLinks: template.enableServiceLinks ?? false,
      nodeSelector: { ...template.nodeSelector, ...spec.nodeSelector },
      tolerations: [...(template.tolerations ?? []), REAL_NODE_TOLERATION],
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: gracePeriodSeconds,
    },
  };
}

/** Where a real pod's start stands, as read from its status. */
export type PodProgress =
  /** Not running yet; it may still start (scheduling, image, volumes, container config). */
  | { readonly state: 'pending'; readonly reason: string; readonly message: string }
  /** It will not start: its image cannot be had. */
  | { readonly state: 'failed'; readonly reason: string; readonly message: string }
  /** The container runs; requests go to the pod's IP. */
  | { readonly state: 'running'; readonly ip: string }
  /** The container ended (or the pod did); `message` is its termination message, if any. */
  | {
      readonly state: 'exited';
      readonly code: number | null;
      readonly reason: string;
      readonly message: string;
    };

/**
 * Reads a pod's status for one of its containers: pending (with the container's waiting
 * reason, or why it is not scheduled), failed (an image that cannot be pulled), running (with
 * the pod IP) or exited (with the exit code, null when the pod ended without a container state).
 */
export function podProgress(pod: V1Pod, container: string): PodProgress {
  const status = pod.status;
  const name = pod.metadata?.name ?? '';
  const state = status?.containerStatuses?.find((c) => c.name === container)?.state;
  if (state?.terminated !== undefined) {
    const { exitCode, reason, message } = state.terminated;
    return { state: 'exited', code: exitCode, reason: reason ?? 'Error', message: message ?? '' };
  }
  if (status?.phase === 'Failed' || status?.phase === 'Succeeded') {
    return {
      state: 'exited',
      code: null,
      reason: status.reason ?? status.phase,
      message: status.message ?? `pod ${name} ended ${status.phase}`,
    };
  }
  const waiting = state?.waiting;
  if (waiting?.reason !== undefined && IMAGE_FAILURES.has(waiting.reason)) {
    return { state: 'failed', reason: waiting.reason, message: waiting.message ?? '' };
  }
  if (state?.running !== undefined && status?.podIP) {
    return { state: 'running', ip: status.podIP };
  }
  const unscheduled = status?.conditions?.find(
    (c) => c.type === 'PodScheduled' && c.status === 'False',
  );
  if (waiting?.reason !== undefined) {
    return { state: 'pending', reason: waiting.reason, message: waiting.message ?? '' };
  }
  if (unscheduled !== undefined) {
    return {
      state: 'pending',
      reason: unscheduled.reason ?? 'Unschedulable',
      message: unscheduled.message ?? '',
    };
  }
  return { state: 'pending', reason: status?.phase ?? 'Pending', message: '' };
}
