import { randomBytes } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { SharedInformer } from '../../api/shared-informer';
import type { ActionLog } from './action-log';
import { errorMessage } from './error-message';
import type { KubeAccess } from './kube-access';
import { DEFAULT_PORT, STAND_IN_LABEL } from './pod-manifest';
import { type PodProgress, REAL_POD_LABEL, buildRealPod, podProgress } from './real-pod-manifest';
import type { RevisionInstance } from './revision-instance';
import { REVISION_LABEL } from './revision-manifest';
import {
  type ProcessExit,
  STOP_GRACE_MS,
  type StartOutcome,
  describeExit,
  healthy,
} from './revision-process';
import type { Upstream } from './router';
import type { KnativeRevision } from './types';

/** Path of pods in all namespaces. */
const PODS_PATH = '/api/v1/pods';

/** The pods {@link RealPods} creates and watches. */
const REAL_PODS_SELECTOR = `${STAND_IN_LABEL}=true,${REAL_POD_LABEL}=true`;

/** How long a deleted pod's kubelet may take past the grace period before the pod is removed by force. */
const DELETE_WAIT_MS = 10_000;

/** Lines of a container's log kept for error messages (as for a local process). */
const TAIL_LINES = 20;

/** Warning events of a pod (distinct reasons) named in a start's failure. */
const MAX_WARNINGS = 3;

/** Waiting reasons that say only that the pod is still on its way, not why it is late. */
const STILL_STARTING = new Set(['Pending', 'ContainerCreating', 'PodInitializing']);

/** How a real pod's start is awaited. */
export interface RealPodStartOptions {
  /** How long the pod may take to be scheduled, started and answer `GET /healthz` with 200. */
  readonly readyTimeoutMs: number;
  /** Pause between health checks of its running container. */
  readonly pollIntervalMs: number;
  /** `<namespace>/<service>`, for log lines. */
  readonly service: string;
}

const podKey = (namespace: string | undefined, name: string | undefined) => `${namespace}/${name}`;

/**
 * Runs revisions as real pods on the test cluster's real node (`--real-pods`): creates each
 * revision's pod ({@link buildRealPod}) and follows every such pod through one informer (pods
 * labelled by the stand-in as real, in all namespaces).
 */
export class RealPods {
  private readonly informer: SharedInformer<V1Pod>;
  private readonly watchers = new Map<string, (pod: V1Pod | undefined) => void>();
  private readonly watching: Promise<void>;

  constructor(
    private readonly kube: KubeAccess,
    private readonly log: ActionLog,
  ) {
    this.informer = new SharedInformer<V1Pod>(kube.rest, {
      what: 'pod',
      path: PODS_PATH,
      labelSelector: REAL_PODS_SELECTOR,
      list: async () => {
        const { items, resourceVersion } = await kube.list<V1Pod>(PODS_PATH, REAL_PODS_SELECTOR);
        return { items, metadata: { resourceVersion } };
      },
      maxRetryDelayMs: 5_000,
      log,
    });
    const tell = (pod: V1Pod, present: boolean) =>
      this.watchers.get(podKey(pod.metadata?.namespace, pod.metadata?.name))?.(
        present ? pod : undefined,
      );
    this.informer.on('add', (pod) => tell(pod, true));
    this.informer.on('update', (pod) => tell(pod, true));
    this.informer.on('delete', (pod) => tell(pod, false));
    this.watching = this.informer.start();
    this.watching.catch(() => undefined);
  }

  /**
   * Creates a revision's pod (deleting one left by an earlier run of the stand-in first).
   * @param revision the stored Revision (its uid owns the pod)
   * @returns the pod; {@link RealRevisionPod.started} tells whether it became healthy
   */
  public async start(
    revision: KnativeRevision,
    options: RealPodStartOptions,
  ): Promise<RealRevisionPod> {
    await this.watching;
    const { namespace, name } = revision.metadata;
    const stale = await this.kube.podNames(
      namespace,
      `${REVISION_LABEL}=${name},${STAND_IN_LABEL}=true`,
    );
    await Promise.all(stale.map((pod) => this.kube.deletePod(namespace, pod)));
    const podName = `${name}-deployment-${randomBytes(3).toString('hex')}`;
    const manifest = buildRealPod(revision, podName, STOP_GRACE_MS / 1000);
    const container = manifest.spec?.containers[0];
    const key = podKey(namespace, podName);
    const pod = new RealRevisionPod(
      { kube: this.kube, log: this.log, forget: () => this.watchers.delete(key), ...options },
      namespace,
      podName,
      container?.name ?? '',
      container?.ports?.[0]?.containerPort ?? DEFAULT_PORT,
    );
    this.watchers.set(key, (object) => pod.observe(object));
    try {
      await this.kube.createPod(manifest);
    } catch (error) {
      pod.notCreated();
      throw new Error(`create pod ${podName}: ${errorMessage(error)}`);
    }
    this.log('pod created', { service: options.service, revision: name, pod: podName });
    return pod;
  }

  /** Stops watching (the pods are deleted by their revisions' stop). */
  public async stop(): Promise<void> {
    await this.informer.stop();
  }
}

/** What a {@link RealRevisionPod} needs besides its name. */
interface RealPodContext extends RealPodStartOptions {
  readonly kube: KubeAccess;
  readonly log: ActionLog;
  /** Stops telling the pod about its changes. */
  readonly forget: () => void;
}

/**
 * One revision's pod on the real node, followed through {@link RealPods}' informer: started
 * once it runs and answers `GET /healthz` on its pod IP; exited when its container ends (the
 * pod is not restarted) or the pod is deleted; stopped by deleting it with a grace period.
 */
export class RealRevisionPod implements RevisionInstance {
  public readonly kind = 'pod';
  public readonly started: Promise<StartOutcome>;
  public readonly exited: Promise<ProcessExit>;
  private resolveExited: (exit: ProcessExit) => void = () => undefined;
  private progress: PodProgress = { state: 'pending', reason: 'Pending', message: '' };
  private ip: string | undefined;
  private seen = false;
  private gone = false;
  private ending = false;
  private tail = '';
  private stopping: Promise<ProcessExit> | undefined;
  /** Ends the current pause early (the pod changed). */
  private wake: () => void = () => undefined;
  private goneWaiters: (() => void)[] = [];

  constructor(
    private readonly ctx: RealPodContext,
    public readonly namespace: string,
    public readonly name: string,
    private readonly container: string,
    private readonly port: number,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
    this.started = this.awaitHealthy();
  }

  /** The pod IP and container port, once it runs. */
  public get upstream(): Upstream | undefined {
    return this.ip === undefined ? undefined : { host: this.ip, port: this.port };
  }

  /** The last lines of its container's log, once it has exited. */
  public logTail(): string {
    return this.tail;
  }

  /** The informer saw the pod change (`undefined`: deleted). */
  public observe(pod: V1Pod | undefined): void {
    if (pod === undefined) {
      // A list made before the pod was created does not know it yet.
      if (!this.seen) return;
      this.gone = true;
      this.ctx.forget();
      for (const resolve of this.goneWaiters.splice(0)) resolve();
      void this.ended(
        { code: null, signal: this.stopping === undefined ? 'SIGKILL' : 'SIGTERM' },
        this.stopping === undefined ? `pod ${this.name} was deleted` : '',
      );
    } else {
      this.seen = true;
      this.progress = podProgress(pod, this.container);
      if (this.progress.state === 'running') this.ip = this.progress.ip;
      if (this.progress.state === 'exited') {
        const { code, message } = this.progress;
        // A pod that ended without a container state (e.g. evicted) had it killed.
        void this.ended({ code, signal: code === null ? 'SIGKILL' : null }, message);
      }
    }
    this.wake();
  }

  /** Its creation failed: nothing to wait for nor delete. */
  public notCreated(): void {
    this.gone = true;
    void this.stop();
  }

  /**
   * Deletes the pod with the grace period of a local process (SIGTERM, SIGKILL after
   * {@link STOP_GRACE_MS}) and waits until its kubelet has removed it, removing it by force
   * when that takes too long (a kubelet gone); resolves with the container's exit.
   */
  public stop(): Promise<ProcessExit> {
    this.stopping ??= (async () => {
      if (!this.gone) {
        const { kube, log, service } = this.ctx;
        const failed = (error: unknown) =>
          log('error', { service, pod: this.name, message: `delete pod: ${errorMessage(error)}` });
        await kube.deletePod(this.namespace, this.name, STOP_GRACE_MS / 1000).catch(failed);
        if (!(await this.untilGone(STOP_GRACE_MS + DELETE_WAIT_MS))) {
          await kube.deletePod(this.namespace, this.name).catch(failed);
        }
      }
      this.ctx.forget();
      void this.ended({ code: null, signal: 'SIGTERM' }, '');
      return this.exited;
    })();
    // A start waiting for the pod's next change ends now.
    this.wake();
    return this.stopping;
  }

  /** Records the exit once, with the end of the log (from the kubelet unless given). */
  private async ended(exit: ProcessExit, message: string): Promise<void> {
    if (this.ending) return;
    this.ending = true;
    const output =
      message !== '' || this.gone || this.stopping !== undefined ? message : await this.readTail();
    this.tail = output.trimEnd().split('\n').slice(-TAIL_LINES).join('\n');
    this.resolveExited(exit);
  }

  private readTail(): Promise<string> {
    return this.ctx.kube
      .podLogTail(this.namespace, this.name, this.container, TAIL_LINES)
      .catch(() => '');
  }

  private untilGone(timeoutMs: number): Promise<boolean> {
    if (this.gone) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.goneWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Waits `ms`, or until the pod changes. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = () => undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.wake = done;
    });
  }

  private async awaitHealthy(): Promise<StartOutcome> {
    const { readyTimeoutMs, pollIntervalMs } = this.ctx;
    const begin = Date.now();
    const deadline = begin + readyTimeoutMs;
    while (Date.now() < deadline && this.stopping === undefined) {
      const progress = this.progress;
      if (progress.state === 'exited' || this.gone) {
        const exit = await this.exited;
        return {
          ready: false,
          reason: 'ExitCode',
          message: `Container failed with ${describeExit(exit)}: ${this.tail || '(no output)'}`,
        };
      }
      if (progress.state === 'failed') {
        await this.stop();
        return {
          ready: false,
          reason: progress.reason,
          message: `${progress.reason}${progress.message ? `: ${progress.message}` : ''} (pod ${this.name}, deleted)`,
        };
      }
      if (progress.state === 'running' && (await healthy(this.port, progress.ip))) {
        return { ready: true, port: this.port, startMs: Date.now() - begin };
      }
      // A running container is polled; a pending pod waits for its next change.
      await this.pause(progress.state === 'running' ? pollIntervalMs : deadline - Date.now());
    }
    return this.timedOut(readyTimeoutMs);
  }

  /** The pod did not become healthy in time (or was stopped first): why, and it is deleted. */
  private async timedOut(readyTimeoutMs: number): Promise<StartOutcome> {
    if (this.stopping !== undefined) {
      return { ready: false, reason: 'Stopped', message: `Pod ${this.name} was stopped first.` };
    }
    const progress = this.progress;
    if (progress.state === 'running') {
      const output = (await this.readTail()).trimEnd();
      await this.stop();
      return {
        ready: false,
        reason: 'HealthCheckFailed',
        message: `Container did not answer GET /healthz with 200 within ${readyTimeoutMs} ms; its pod ${this.name} was deleted. Output: ${output || '(no output)'}`,
      };
    }
    const warnings = await this.ctx.kube
      .podWarnings(this.namespace, this.name)
      .catch(() => [] as string[]);
    await this.stop();
    // Not running: still pending (failures and exits have returned before).
    const pending = progress.state === 'pending' ? progress : undefined;
    const reason =
      pending === undefined || STILL_STARTING.has(pending.reason)
        ? 'ProgressDeadlineExceeded'
        : pending.reason;
    const details = [pending?.reason, pending?.message, ...warnings.slice(0, MAX_WARNINGS)].filter(
      (s) => s !== undefined && s !== '',
    );
    return {
      ready: false,
      reason,
      message: `Pod ${this.name} did not start within ${readyTimeoutMs} ms${details.length > 0 ? ` (${details.join('; ')})` : ''}; it was deleted.`,
    };
  }
}
