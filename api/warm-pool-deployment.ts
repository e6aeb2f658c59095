import { randomBytes, randomInt } from 'node:crypto';
import { Registry } from 'prom-client';
import { DEFAULT_HANDLERS, SourceRuntimeName } from '../constructs';
import { PLACEHOLDER_CODE } from './agent-sessions';
import { Applications } from './applications';
import { cappedOutput, ExecuteProgress } from './execute-stream';
import { EPHEMERAL_LABEL, EXPIRES_LABEL } from './functions';
import type { KnativeService } from './knative';
import { Kube, RawPod } from './kube';
import { FunctionMetrics } from './metrics';
import {
  elapsed,
  ExecuteRequest,
  ExecutionResult,
  Operations,
  PhaseTimings,
  PoolPod,
} from './operations';
import { Problem } from './problem';
import { outsideRequest } from './request-signal';
import { withPlatformEnv } from './session-secret';
import type { SharedInformer } from './shared-informer';
import type { ExecutePool } from './warm-pool';
import { WarmPoolSettings } from './warm-pool-config';
import { type PoolCounts, warmPoolMetrics } from './warm-pool-metrics';
import {
  POOL_KEY_LABEL,
  POOL_PORT,
  POOL_STATE_LABEL,
  poolDeploymentName,
  poolObjects,
  poolSecret,
  WARM_POOL_LABEL,
} from './warm-pool-objects';

/** Time limit a pool's runtime is deployed with: the most an execute may ask for. */
const INSTANCE_TIMEOUT_SECONDS = 600;
/** How often each pool's objects are applied again (a deleted one is repaired) and claimed pods left by a stopped replica removed. */
const ENSURE_MS = 60_000;
/** How long a timed-out execute waits for its pod to be gone. */
const STOP_WAIT_MS = 10_000;

/** How the Deployment pool reaches the rest of the API. */
export interface DeploymentPoolDependencies {
  readonly operations: Operations;
  readonly applications: Applications;
  readonly kube: Kube;
  readonly metrics: FunctionMetrics;
  readonly registry: Registry;
  readonly graceSeconds: number;
  readonly outputLimitBytes: number;
  /**
   * Namespace of the API's pods: the pools' NetworkPolicy lets only they in.
   * @default - none (an API outside the cluster): no pod may reach a pool
   */
  readonly apiNamespace?: string;
  readonly log: (msg: string, fields?: Record<string, unknown>) => void;
}

/** One pool: a project's Deployment of one runtime, and the informer over its pods. */
interface Pool {
  readonly project: string;
  readonly runtime: SourceRuntimeName;
  readonly namespace: string;
  readonly deployment: string;
  readonly secret: { readonly value: string; readonly digest: string };
  readonly pods: SharedInformer<RawPod>;
}

/**
 * Warm pools as one Deployment per project and runtime (`HKS_WARM_POOL_MODE=deployment`): its
 * pods wait in session mode, each for one execution (`HKS_SESSION_ONCE=1`). An execute claims
 * an idle pod by changing its state label from `idle` to `claimed` in one JSON patch whose
 * `test` of that label makes the claim exclusive across replicas (a second claimer's patch
 * fails with 422); the claimed pod leaves the Deployment's selector, so its ReplicaSet starts
 * a replacement (the refill), the execute runs on the pod's IP and the pod is deleted.
 *
 * Every replica derives the pool's session secret from `HKS_WARM_POOL_KEY`, so any replica can
 * use any pod. A claimed pod carries an expiry label: should the replica that claimed it stop,
 * another deletes it once expired.
 */
export class DeploymentPool implements ExecutePool {
  private readonly pools = new Map<string, Pool>();
  private readonly served: ReturnType<typeof warmPoolMetrics>;
  /** Pods this process claimed: the informer may not have seen the claim yet. */
  private readonly claimed = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly settings: WarmPoolSettings & { readonly key: string },
    private readonly deps: DeploymentPoolDependencies,
  ) {
    this.served = warmPoolMetrics(deps.registry, (set) => this.observe(set));
  }

  /** Applies every pool's objects, starts watching their pods, and repairs them every minute. */
  public start(): void {
    for (const [project, size] of this.settings.sizes) {
      for (const runtime of this.settings.runtimes) {
        const namespace = this.deps.applications.namespaceOf(project);
        const deployment = poolDeploymentName(runtime);
        const pods = this.deps.kube.podInformer(
          namespace,
          `${WARM_POOL_LABEL}=${runtime},${POOL_STATE_LABEL}`,
          {
            log: (msg, fields) =>
              this.deps.log(msg, { ...fields, pool: `${namespace}/${deployment}` }),
          },
        );
        const secret = poolSecret(this.settings.key, namespace, deployment);
        this.pools.set(keyOf(project, runtime), {
          project,
          runtime,
          namespace,
          deployment,
          secret,
          pods,
        });
        // An informer stopped before its first list (the API stopping) has nothing to report.
        void this.ensure(project, runtime, size)
          .then(() => pods.start())
          .catch(() => undefined);
      }
    }
    this.timer = setInterval(() => {
      for (const [project, size] of this.settings.sizes) {
        for (const runtime of this.settings.runtimes) void this.ensure(project, runtime, size);
      }
    }, ENSURE_MS);
    this.timer.unref();
  }

  /**
   * Stops watching. The Deployments stay: other replicas use them too, and they hold no
   * execution (a claimed pod is deleted by whoever claimed it, or once expired).
   */
  public async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.allSettled([...this.pools.values()].map((p) => p.pods.stop()));
  }

  public async serve(
    project: string,
    request: ExecuteRequest,
    respond: (result: ExecutionResult) => void,
    progress: ExecuteProgress | undefined,
    started: number,
  ): Promise<boolean> {
    const pool = this.pools.get(keyOf(project, request.runtime));
    if (!pool) return false;
    // A pod runs with the platform's variables only: an execute with its own goes the usual way.
    if (Object.keys(request.env ?? {}).length > 0) {
      this.served.inc({ project, runtime: request.runtime, result: 'miss' });
      return false;
    }
    const timings: PhaseTimings = {};
    // Checked before a pod is claimed: bad input consumes none.
    await this.deps.operations.checkDefinition(project, newName('exec'), request, timings);
    const pod = await this.claim(pool, (request.timeoutSeconds ?? 30) + this.deps.graceSeconds);
    if (!pod) {
      this.served.inc({ project, runtime: request.runtime, result: 'miss' });
      return false;
    }
    const served = await this.run(pool, pod, request, respond, progress, started, timings);
    this.served.inc({ project, runtime: request.runtime, result: served ? 'hit' : 'miss' });
    return served;
  }

  /** Pool pods are not temporary functions: they hold no slot under the cap. */
  public yieldSlot(): Promise<boolean> {
    return Promise.resolve(false);
  }

  /**
   * Takes an idle, ready pod of the pool: its state label goes from `idle` to `claimed` (with
   * an expiry) in one patch that first tests it is still `idle`.
   * @returns the claimed pod, or undefined when none is idle and ready
   */
  private async claim(pool: Pool, holdSeconds: number): Promise<PoolPod | undefined> {
    const candidates = pool.pods.list(pool.namespace).filter((pod) => this.claimable(pool, pod));
    // Replicas start from different pods, so that they seldom race for the same one.
    for (let i = candidates.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
    }
    for (const pod of candidates) {
      const name = pod.metadata?.name ?? '';
      this.claimed.add(name);
      const expiresAt = Math.ceil(Date.now() / 1000 + holdSeconds + INSTANCE_TIMEOUT_SECONDS);
      const taken = await this.deps.kube
        .patchPod(pool.namespace, name, [
          { op: 'test', path: labelPath(POOL_STATE_LABEL), value: 'idle' },
          { op: 'replace', path: labelPath(POOL_STATE_LABEL), value: 'claimed' },
          { op: 'add', path: labelPath(EXPIRES_LABEL), value: String(expiresAt) },
        ])
        .catch((error: unknown) => {
          // Another replica took it first: try the next.
          if (error instanceof Problem && error.status === 422) return undefined;
          throw error;
        });
      const ip = taken?.status?.podIP;
      if (taken && ip) {
        return { name, target: { url: new URL(`http://${hostOf(ip)}:${POOL_PORT}`) } };
      }
      this.claimed.delete(name);
    }
    return undefined;
  }

  /** An idle pod of this pool's Deployment (its current secret), ready, not being deleted. */
  private claimable(pool: Pool, pod: RawPod): boolean {
    const { metadata, status } = pod;
    const labels = metadata?.labels ?? {};
    const owner = metadata?.ownerReferences?.find((o) => o.controller);
    return (
      labels[POOL_STATE_LABEL] === 'idle' &&
      labels[POOL_KEY_LABEL] === pool.secret.digest &&
      // Made by the pool's own ReplicaSet (its name is the Deployment's and the template hash).
      owner?.kind === 'ReplicaSet' &&
      owner.name === `${pool.deployment}-${labels['pod-template-hash'] ?? ''}` &&
      !metadata?.deletionTimestamp &&
      !this.claimed.has(metadata?.name ?? '') &&
      status?.podIP !== undefined &&
      status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
    );
  }

  /**
   * One execution on a claimed pod, which is deleted after it whatever happens.
   * @returns false when the pod had run an execution already (someone else reached it: it
   *   refuses with 409 `InstanceUsed` and ran nothing), not answered: the caller deploys
   */
  private async run(
    pool: Pool,
    pod: PoolPod,
    request: ExecuteRequest,
    respond: (result: ExecutionResult) => void,
    progress: ExecuteProgress | undefined,
    started: number,
    timings: PhaseTimings,
  ): Promise<boolean> {
    const { operations } = this.deps;
    let status = 'error';
    let deletion: Promise<void> | undefined;
    // Not abandoned with the request: a client that goes is the moment to stop its code.
    const remove = () => (deletion ??= outsideRequest(() => this.remove(pool, pod.name)));
    try {
      progress?.phase('ready', { ...timings });
      const streamTo = progress && {
        output: cappedOutput(progress.output, this.deps.outputLimitBytes),
        running: () => progress.phase('running', { ...timings }),
      };
      const outcome = await operations.invokeOnce(
        pool.project,
        pod.name,
        request.input,
        this.serviceView(pool, pod.name, request.timeoutSeconds ?? 30),
        timings,
        {
          inputFiles: request.inputFiles ?? {},
          session: {
            secret: pool.secret.value,
            envelope: {
              code: request.code,
              handler: request.handler ?? DEFAULT_HANDLERS[pool.runtime],
              timeoutSeconds: request.timeoutSeconds ?? 30,
            },
          },
          pod,
        },
        streamTo,
      );
      if (outcome.status === 'failed' && outcome.error?.type === 'InstanceUsed') {
        this.deps.log('a claimed warm pool pod had run an execution already; it is deleted', {
          pod: `${pool.namespace}/${pod.name}`,
        });
        status = 'used';
        return false;
      }
      status = outcome.status;
      const stopped =
        outcome.status === 'timeout' || outcome.status === 'killed'
          ? await this.stopped(pool, pod.name, remove)
          : undefined;
      respond({
        id: pod.name,
        ...operations.capped(outcome),
        ...(stopped === undefined || outcome.status !== 'timeout' ? {} : { stopped }),
        pool: true,
        durationMs: elapsed(started),
        timings: { ...timings },
      });
      return true;
    } finally {
      const cleanupStarted = performance.now();
      await remove();
      timings.cleanup = elapsed(cleanupStarted);
      // A used pod's execute is counted by the deploy it falls back to.
      if (status !== 'used') this.deps.metrics.executed(status, timings);
    }
  }

  /** Deletes the pod at once and waits until it is gone (its containers stopped). */
  private async stopped(pool: Pool, name: string, remove: () => Promise<void>): Promise<boolean> {
    await remove();
    const deadline = Date.now() + STOP_WAIT_MS;
    for (;;) {
      const pod = await this.deps.kube.getPod(pool.namespace, name).catch(() => null);
      if (pod === undefined) return true;
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async remove(pool: Pool, name: string): Promise<void> {
    try {
      await this.deps.kube.deletePod(pool.namespace, name, 0);
    } catch (error) {
      this.deps.log('could not delete a claimed warm pool pod; it is removed once expired', {
        pod: `${pool.namespace}/${name}`,
        err: error instanceof Problem ? error.detail : error,
      });
    } finally {
      this.claimed.delete(name);
    }
  }

  /**
   * Applies the pool's objects (the function's, checked and synthesized as any temporary
   * function's, with its Knative Service made a Deployment) and creates its Secret, then
   * deletes claimed pods past their expiry (their replica stopped before it could).
   */
  private async ensure(project: string, runtime: SourceRuntimeName, size: number): Promise<void> {
    const pool = this.pools.get(keyOf(project, runtime));
    if (!pool) return;
    const { operations, applications, kube } = this.deps;
    try {
      // Checked and synthesized as a temporary function of a random name, renamed after.
      const definition = await operations.checkDefinition(
        project,
        newName('pool'),
        { runtime, code: PLACEHOLDER_CODE[runtime], timeoutSeconds: INSTANCE_TIMEOUT_SECONDS },
        {},
        1,
      );
      let secret: Parameters<Kube['createSecret']>[0] | undefined;
      await applications.applyUnstored(
        definition,
        { [EPHEMERAL_LABEL]: 'true' },
        (o) => withPlatformEnv(o, { env: { HKS_RUNTIME_MODE: 'session' } }),
        (own) => {
          const built = poolObjects({
            synthesized: own,
            name: pool.deployment,
            runtime,
            replicas: size,
            secret: pool.secret,
            apiNamespace: this.deps.apiNamespace,
          });
          secret = built.secret;
          return built.objects;
        },
      );
      if (secret) {
        // Its name carries its value's digest: one that exists holds this very secret.
        await kube.createSecret(secret).catch((error: unknown) => {
          if (!(error instanceof Problem && error.status === 409)) throw error;
        });
      }
      await this.removeExpired(pool);
    } catch (error) {
      this.deps.log('a warm pool could not be applied; it is tried again in a minute', {
        pool: `${pool.namespace}/${pool.deployment}`,
        err: error instanceof Problem ? error.detail : error,
      });
    }
  }

  private async removeExpired(pool: Pool): Promise<void> {
    const now = Date.now() / 1000;
    const expired = pool.pods.list(pool.namespace).filter((pod) => {
      const labels = pod.metadata?.labels ?? {};
      return (
        labels[POOL_STATE_LABEL] === 'claimed' &&
        Number(labels[EXPIRES_LABEL] ?? Infinity) < now &&
        !this.claimed.has(pod.metadata?.name ?? '')
      );
    });
    await Promise.all(expired.map((pod) => this.remove(pool, pod.metadata?.name ?? '')));
  }

  /**
   * The claimed pod as the function the invocation path records: a temporary function of the
   * project, with the execute's time limit (the API stops waiting a little after it, should
   * code that blocks the runtime keep it from answering) and its container's requests.
   */
  private serviceView(pool: Pool, name: string, timeoutSeconds: number): KnativeService {
    const template = pool.pods.list(pool.namespace).find((p) => p.metadata?.name === name)?.spec;
    return {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {
        name,
        namespace: pool.namespace,
        labels: { [EPHEMERAL_LABEL]: 'true', [WARM_POOL_LABEL]: pool.runtime },
      },
      spec: {
        template: {
          spec: {
            timeoutSeconds,
            containers: template?.containers ?? [],
          },
        },
      },
    } as unknown as KnativeService;
  }

  /** Idle and ready pods, and those starting, of every pool, as the gauge reports them. */
  private observe(set: Parameters<PoolCounts>[0]): void {
    for (const pool of this.pools.values()) {
      const pods = pool.pods.list(pool.namespace);
      const idle = pods.filter((p) => p.metadata?.labels?.[POOL_STATE_LABEL] === 'idle');
      const ready = idle.filter((p) => this.claimable(pool, p)).length;
      const labels = { project: pool.project, runtime: pool.runtime };
      set({ ...labels, state: 'ready' }, ready);
      set({ ...labels, state: 'starting' }, idle.length - ready);
    }
  }
}

function keyOf(project: string, runtime: SourceRuntimeName): string {
  return `${project}/${runtime}`;
}

function newName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** A JSON pointer to a label (`/` in its name escaped as `~1`). */
function labelPath(label: string): string {
  return `/metadata/labels/${label.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/** An IP as a URL's host: an IPv6 address in brackets. */
function hostOf(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}
