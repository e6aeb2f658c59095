import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { attemptsOf, joinAttempts, kubeletLogError, lastTermination } from '../api/job-attempts';
import { isFailing, jobReason, jobStatus } from '../api/recorder';

/*
 * Pods and Jobs as the API server (Kubernetes 1.34) returns them for the runs of
 * test/api/real-node-executions.int.test.ts, cut to the fields that matter here.
 */

const started = '2026-01-01T00:00:01Z';
const finished = '2026-01-01T00:00:03Z';

const terminated = (exitCode: number, reason: string) => ({
  terminated: {
    containerID: 'containerd://0123',
    exitCode,
    reason,
    startedAt: started,
    finishedAt: finished,
  },
});

const containerStatus = (fields: Record<string, unknown>) => ({
  name: 'main',
  image: 'docker.io/library/busybox:1.36',
  imageID: 'docker.io/library/busybox@sha256:0123',
  ready: false,
  started: false,
  restartCount: 0,
  lastState: {},
  ...fields,
});

const pod = (name: string, created: string, status: Record<string, unknown>) =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'hks-x', creationTimestamp: created },
    spec: { containers: [{ name: 'main', image: 'docker.io/library/busybox:1.36' }] },
    status: { phase: 'Failed', startTime: created, ...status },
  }) as unknown as V1Pod;

const condition = (type: string, reason: string, message: string) => ({
  type,
  status: 'True',
  reason,
  message,
  lastProbeTime: finished,
  lastTransitionTime: finished,
});

const job = (status: Record<string, unknown>) =>
  ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'j', namespace: 'hks-x', uid: 'u' },
    spec: { template: {} },
    status: { startTime: started, ...status },
  }) as unknown as V1Job;

describe('the reason a Job ended: its terminal condition', () => {
  test('activeDeadlineSeconds: FailureTarget, then Failed, both DeadlineExceeded', () => {
    const deadline = 'Job was active longer than specified deadline';
    const failing = job({
      active: 1,
      terminating: 1,
      conditions: [condition('FailureTarget', 'DeadlineExceeded', deadline)],
    });
    // Pods still being stopped: not ended yet, so no reason; but failing.
    expect([jobStatus(failing), jobReason(failing), isFailing(failing)]).toEqual([
      'running',
      undefined,
      true,
    ]);
    const failed = job({
      failed: 1,
      terminating: 0,
      conditions: [
        condition('FailureTarget', 'DeadlineExceeded', deadline),
        condition('Failed', 'DeadlineExceeded', deadline),
      ],
    });
    expect([jobStatus(failed), jobReason(failed)]).toEqual(['failed', 'DeadlineExceeded']);
  });

  test('a running Job is not failing', () => {
    expect(isFailing(job({ active: 1 }))).toBe(false);
  });

  test('backoffLimit: BackoffLimitExceeded', () => {
    const limit = 'Job has reached the specified backoff limit';
    const failed = job({
      failed: 1,
      conditions: [
        condition('FailureTarget', 'BackoffLimitExceeded', limit),
        condition('Failed', 'BackoffLimitExceeded', limit),
      ],
    });
    expect([jobStatus(failed), jobReason(failed)]).toEqual(['failed', 'BackoffLimitExceeded']);
  });

  test('success: the Complete condition reason (CompletionsReached)', () => {
    const done = 'Reached expected number of succeeded pods';
    const complete = job({
      succeeded: 1,
      completionTime: finished,
      conditions: [
        condition('SuccessCriteriaMet', 'CompletionsReached', done),
        condition('Complete', 'CompletionsReached', done),
      ],
    });
    expect([jobStatus(complete), jobReason(complete)]).toEqual(['succeeded', 'CompletionsReached']);
  });

  test('a condition that is not True, or has an empty reason, gives none', () => {
    const notTrue = job({
      conditions: [{ ...condition('Failed', 'BackoffLimitExceeded', ''), status: 'False' }],
    });
    expect(jobReason(notTrue)).toBeUndefined();
    expect(jobReason(job({ conditions: [condition('Complete', '', '')] }))).toBeUndefined();
    expect(jobReason(job({}))).toBeUndefined();
  });
});

describe("the reason the container's last attempt ended, and the runs whose logs are kept", () => {
  test('OOMKilled with exit code 137', () => {
    const attempts = attemptsOf([
      pod('oom-x', started, {
        containerStatuses: [containerStatus({ state: terminated(137, 'OOMKilled') })],
      }),
    ]);
    expect(attempts).toEqual([
      expect.objectContaining({ exitCode: 137, reason: 'OOMKilled', hasLog: true }),
    ]);
    expect(lastTermination(attempts)).toEqual({ exitCode: 137, reason: 'OOMKilled' });
  });

  test('OnFailure, the pod ended after two restarts: only the last run is kept, the header says so', () => {
    // lastState is empty: the kubelet removed the previous run when the last one ended.
    const attempts = attemptsOf([
      pod('retry-x', started, {
        phase: 'Succeeded',
        containerStatuses: [
          containerStatus({ restartCount: 2, state: terminated(0, 'Completed') }),
        ],
      }),
    ]);
    expect(attempts).toEqual([
      expect.objectContaining({
        restart: 2,
        previous: false,
        exitCode: 0,
        reason: 'Completed',
        lostRestarts: 2,
      }),
    ]);
    expect(lastTermination(attempts)).toEqual({ exitCode: 0, reason: 'Completed' });
    expect(joinAttempts(attempts.map((a) => ({ ...a, text: 'attempt 3\n' })))).toBe(
      '--- attempt 1 of 1: pod retry-x, restart 2, exit code 0, Completed (the logs of 2 earlier restarts are no longer kept by the node) ---\nattempt 3\n',
    );
  });

  test('OnFailure, running again: the previous run (lastState) and the current one', () => {
    const attempts = attemptsOf([
      pod('retry-x', started, {
        phase: 'Running',
        containerStatuses: [
          containerStatus({
            ready: true,
            started: true,
            restartCount: 1,
            lastState: terminated(1, 'Error'),
            state: { running: { startedAt: finished } },
          }),
        ],
      }),
    ]);
    expect(
      attempts.map((a) => [a.restart, a.previous, a.exitCode, a.reason, a.lostRestarts]),
    ).toEqual([
      [0, true, 1, 'Error', 0],
      [1, false, undefined, undefined, 0],
    ]);
    expect(lastTermination(attempts)).toEqual({ exitCode: 1, reason: 'Error' });
    expect(joinAttempts(attempts.map((a) => ({ ...a, text: `run ${a.restart}\n` })))).toBe(
      '--- attempt 1 of 2: pod retry-x, restart 0, exit code 1, Error ---\nrun 0\n' +
        '--- attempt 2 of 2: pod retry-x, restart 1 ---\nrun 1\n',
    );
  });

  test('OnFailure, waiting to restart: the run that just ended, once (the current log is the same)', () => {
    const attempts = attemptsOf([
      pod('retry-x', started, {
        phase: 'Running',
        containerStatuses: [
          containerStatus({
            restartCount: 2,
            lastState: terminated(1, 'Error'),
            state: {
              waiting: {
                reason: 'CrashLoopBackOff',
                message: 'back-off 20s restarting failed container=main pod=retry-x',
              },
            },
          }),
        ],
      }),
    ]);
    expect(attempts).toEqual([
      expect.objectContaining({ restart: 2, previous: true, exitCode: 1, lostRestarts: 2 }),
    ]);
  });

  test('OnFailure, the current run just ended in a running pod: lastState still named, its log gone', () => {
    const attempts = attemptsOf([
      pod('retry-x', started, {
        phase: 'Running',
        containerStatuses: [
          containerStatus({
            restartCount: 2,
            lastState: terminated(1, 'Error'),
            state: terminated(1, 'Error'),
          }),
        ],
      }),
    ]);
    expect(attempts).toEqual([
      expect.objectContaining({ restart: 2, previous: false, exitCode: 1, lostRestarts: 2 }),
    ]);
  });

  test('retries through pods: the newest pod that ended gives exit code and reason together', () => {
    const attempts = attemptsOf([
      pod('job-b', '2026-01-01T00:00:10Z', {
        phase: 'Pending',
        containerStatuses: [
          containerStatus({
            state: {
              waiting: {
                reason: 'ErrImageNeverPull',
                message: 'Container image "x" is not present with pull policy of Never',
              },
            },
          }),
        ],
      }),
      pod('job-a', '2026-01-01T00:00:00Z', {
        containerStatuses: [containerStatus({ state: terminated(3, 'Error') })],
      }),
    ]);
    expect(attempts.map((a) => [a.pod, a.exitCode, a.reason, a.hasLog])).toEqual([
      ['job-a', 3, 'Error', true],
      ['job-b', undefined, 'ErrImageNeverPull', false],
    ]);
    // Not the exit code of one attempt with the reason of another.
    expect(lastTermination(attempts)).toEqual({ exitCode: 3, reason: 'Error' });
  });

  test('a container that never ran: its waiting reason, or the pod reason, and no log to read', () => {
    const waiting = attemptsOf([
      pod('never', started, {
        phase: 'Pending',
        containerStatuses: [
          containerStatus({
            state: {
              waiting: {
                reason: 'CreateContainerConfigError',
                message: 'container has runAsNonRoot and image will run as root',
              },
            },
          }),
        ],
      }),
    ]);
    expect(waiting).toEqual([expect.objectContaining({ hasLog: false })]);
    expect(lastTermination(waiting)).toEqual({ reason: 'CreateContainerConfigError' });
    // Rejected by the kubelet's admission: no container status at all.
    const rejected = attemptsOf([
      pod('rejected', started, {
        reason: 'OutOfcpu',
        message: 'Pod was rejected: Node did not have enough resource: cpu',
      }),
    ]);
    expect(rejected).toEqual([expect.objectContaining({ hasLog: false })]);
    expect(lastTermination(rejected)).toEqual({ reason: 'OutOfcpu' });
  });

  test('a container still running has no reason, even in a pod the Job deletes', () => {
    const attempts = attemptsOf([
      pod('deadline', started, {
        phase: 'Running',
        containerStatuses: [
          containerStatus({
            ready: true,
            started: true,
            state: { running: { startedAt: started } },
          }),
        ],
      }),
    ]);
    expect(attempts).toEqual([expect.objectContaining({ hasLog: true })]);
    expect(lastTermination(attempts)).toEqual({ reason: undefined });
  });
});

describe("the kubelet's errors in a log body", () => {
  test('the errors it writes after answering 200 are told from logs', () => {
    // As read from the test cluster's real node while a deleted pod went away.
    const removed =
      'failed to try resolving symlinks in path "/work/main/.hks/cluster/node/pod-logs/x-realexec_deadline-sgs6f_422d/main/0.log": lstat /work/main/.hks/cluster/node/pod-logs/x-realexec_deadline-sgs6f_422d: no such file or directory';
    expect(kubeletLogError(removed)).toBe(removed);
    const gone =
      'unable to retrieve container logs for containerd://e7cbd7c2ce6b95c153b8977a2f39f215';
    expect(kubeletLogError(gone)).toBe(gone);
  });

  test('a log is a log, even one that prints such a line', () => {
    expect(kubeletLogError('started\n')).toBeUndefined();
    expect(kubeletLogError('')).toBeUndefined();
    expect(kubeletLogError('unable to retrieve container logs for x\n')).toBeUndefined();
    expect(kubeletLogError('a\nfailed to open log file "x": gone')).toBeUndefined();
  });
});
