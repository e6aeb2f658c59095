import type { V1Pod } from '@kubernetes/client-node';
import { FunctionService } from '../constructs';
import { STAND_IN_LABEL } from '../dev/knative/pod-manifest';
import {
  REAL_NODE_KEY,
  REAL_POD_LABEL,
  buildRealPod,
  podProgress,
} from '../dev/knative/real-pod-manifest';
import { buildRevision } from '../dev/knative/revision-manifest';
import type { KnativeRevision, KnativeService } from '../dev/knative/types';
import { find, projectChart, synth } from './support/manifests';

/** The Knative stand-in's real-pod mode, its pure parts: the pod it runs and how it reads its status. */

function revisionOf(runtime: 'python3.12' | 'nodejs20', extra: object = {}): KnativeRevision {
  const chart = projectChart('shop', 'team-shop');
  new FunctionService(chart, 'hello', { runtime, code: 'x = 1\n', ...extra });
  const service = find(synth(chart), 'Service', 'hello') as unknown as KnativeService;
  const revision = buildRevision({ ...service, metadata: { ...service.metadata, uid: 's-1' } }, 3);
  return { ...revision, metadata: { ...revision.metadata, uid: 'r-3' } };
}

describe('real pod manifest', () => {
  test('the template’s pod on the real node: image, command, Knative env, volumes, security, owner', () => {
    const revision = revisionOf('python3.12', { env: { GREETING: 'hi' } });
    const pod = buildRealPod(revision, 'hello-00003-deployment-abc', 2);
    const template = revision.spec.containers[0];
    expect(pod.metadata).toMatchObject({
      name: 'hello-00003-deployment-abc',
      namespace: 'team-shop',
      labels: {
        'serving.knative.dev/service': 'hello',
        'serving.knative.dev/revision': 'hello-00003',
        [STAND_IN_LABEL]: 'true',
        [REAL_POD_LABEL]: 'true',
      },
      ownerReferences: [{ kind: 'Revision', name: 'hello-00003', uid: 'r-3', controller: true }],
    });
    expect(pod.spec?.nodeSelector).toEqual({ [REAL_NODE_KEY]: 'true' });
    expect(pod.spec?.tolerations).toEqual([
      { key: REAL_NODE_KEY, operator: 'Equal', value: 'true', effect: 'NoSchedule' },
    ]);
    expect(pod.spec).toMatchObject({
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 2,
      enableServiceLinks: false,
      serviceAccountName: 'hello',
      automountServiceAccountToken: false,
      volumes: revision.spec.volumes,
    });
    // Knative's own fields are not a pod's.
    expect(pod.spec).not.toHaveProperty('timeoutSeconds');
    expect(pod.spec).not.toHaveProperty('containerConcurrency');
    const [container] = pod.spec?.containers ?? [];
    expect(container).toMatchObject({
      name: 'function',
      image: 'python:3.12-slim',
      imagePullPolicy: 'IfNotPresent',
      command: template.command,
      securityContext: template.securityContext,
      volumeMounts: template.volumeMounts,
      terminationMessagePolicy: 'FallbackToLogsOnError',
      readinessProbe: { httpGet: { path: '/healthz', port: 8080 } },
      livenessProbe: { httpGet: { path: '/healthz', port: 8080 } },
    });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      GREETING: 'hi',
      HKS_HANDLER: 'main.handler',
      PORT: '8080',
      K_SERVICE: 'hello',
      K_CONFIGURATION: 'hello',
      K_REVISION: 'hello-00003',
    });
  });

  test('pod-level fields of the template are kept, the real node’s added to its own', () => {
    const revision = revisionOf('nodejs20');
    const spec = {
      ...revision.spec,
      nodeSelector: { zone: 'a' },
      tolerations: [{ key: 'gpu', operator: 'Exists' }],
      securityContext: { fsGroup: 65532 },
      enableServiceLinks: true,
    };
    const pod = buildRealPod({ ...revision, spec }, 'p', 5);
    expect(pod.spec?.containers[0]?.image).toBe('node:20-slim');
    expect(pod.spec?.nodeSelector).toEqual({ zone: 'a', [REAL_NODE_KEY]: 'true' });
    expect(pod.spec?.tolerations?.map((t) => t.key)).toEqual(['gpu', REAL_NODE_KEY]);
    expect(pod.spec?.securityContext).toEqual({ fsGroup: 65532 });
    expect(pod.spec?.enableServiceLinks).toBe(true);
    expect(pod.spec?.terminationGracePeriodSeconds).toBe(5);
  });
});

describe('real pod progress', () => {
  const pod = (status: V1Pod['status']): V1Pod => ({ metadata: { name: 'p' }, status });
  const container = (state: object, name = 'function') => ({
    name,
    image: 'x',
    imageID: '',
    ready: false,
    restartCount: 0,
    state,
  });

  test('pending: not scheduled (the scheduler’s reason), then the container’s waiting reason', () => {
    expect(podProgress(pod(undefined), 'function')).toEqual({
      state: 'pending',
      reason: 'Pending',
      message: '',
    });
    const unscheduled = pod({
      phase: 'Pending',
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: '0/2 nodes are available: 2 node(s) didn’t match Pod’s node affinity/selector.',
        },
      ],
    });
    expect(podProgress(unscheduled, 'function')).toMatchObject({
      state: 'pending',
      reason: 'Unschedulable',
      message: expect.stringContaining('0/2 nodes'),
    });
    const config = pod({
      phase: 'Pending',
      containerStatuses: [
        container({
          waiting: { reason: 'CreateContainerConfigError', message: 'secret "k" not found' },
        }),
      ],
    });
    expect(podProgress(config, 'function')).toEqual({
      state: 'pending',
      reason: 'CreateContainerConfigError',
      message: 'secret "k" not found',
    });
  });

  test('failed: an image that cannot be had', () => {
    for (const reason of ['ErrImageNeverPull', 'ImagePullBackOff', 'ErrImagePull']) {
      const p = pod({
        phase: 'Pending',
        containerStatuses: [container({ waiting: { reason, message: `image: ${reason}` } })],
      });
      expect(podProgress(p, 'function')).toEqual({
        state: 'failed',
        reason,
        message: `image: ${reason}`,
      });
    }
  });

  test('running: with its pod IP only (another container’s state does not count)', () => {
    const running = { running: { startedAt: new Date() } };
    expect(
      podProgress(pod({ phase: 'Running', containerStatuses: [container(running)] }), 'function'),
    ).toMatchObject({ state: 'pending' });
    expect(
      podProgress(
        pod({ phase: 'Running', podIP: '10.245.0.7', containerStatuses: [container(running)] }),
        'function',
      ),
    ).toEqual({ state: 'running', ip: '10.245.0.7' });
    expect(
      podProgress(
        pod({
          phase: 'Running',
          podIP: '10.245.0.7',
          containerStatuses: [container(running, 'x')],
        }),
        'function',
      ),
    ).toMatchObject({ state: 'pending' });
  });

  test('exited: the container’s exit code and termination message, or the pod’s end', () => {
    const crashed = pod({
      phase: 'Failed',
      podIP: '10.245.0.7',
      containerStatuses: [
        container({
          terminated: { exitCode: 3, reason: 'Error', message: 'Traceback ...\nValueError: no' },
        }),
      ],
    });
    expect(podProgress(crashed, 'function')).toEqual({
      state: 'exited',
      code: 3,
      reason: 'Error',
      message: 'Traceback ...\nValueError: no',
    });
    expect(
      podProgress(
        pod({ phase: 'Failed', reason: 'Evicted', message: 'low on memory' }),
        'function',
      ),
    ).toEqual({ state: 'exited', code: null, reason: 'Evicted', message: 'low on memory' });
  });
});
