import { randomBytes } from 'node:crypto';
import { Counter, Registry } from 'prom-client';
import { DEFAULT_HANDLERS, SourceRuntimeName } from '../constructs';
import { PLACEHOLDER_CODE } from './agent-sessions';
import { cappedOutput, ExecuteProgress } from './execute-stream';
import { KnativeService, hasFailed } from './knative';
import { Kube, KubeObject } from './kube';
import { FunctionMetrics } from './metrics';
import {
  elapsed,
  ExecuteRequest,
  ExecutionResult,
  Operations,
  PhaseTimings,
  removeObjects,
} from './operations';
import { Problem } from './problem';
import { outsideRequest } from './request-signal';
import {
  newSessionSecret,
  PlatformEnv,
  sessionPlatformEnv,
  sessionSecretObject,
} from './session-secret';
import { WarmPoolSettings } from './warm-pool-config';
import { type PoolCounts, warmPoolMetrics } from './warm-pool-metrics';
import { WARM_POOL_LABEL } from './warm-pool-objects';

/** What {@link Operations.execute} asks of a warm pool. */
export interface ExecutePool {
  /**
   * Runs the execute on a warm instance of its project and runtime, if one is ready: checks
   * the code, answers through `respond` and deletes the instance.
   * @returns false when no instance could take it (the caller deploys as before)
   * @throws Problem 400 naming a bad field (no instance is consumed)
   */
  serve(
    project: string,
    request: ExecuteRequest,
    respond: (result: ExecutionResult) => void,
    progress: ExecuteProgress | undefined,
    started: number,
  ): Promise<boolean>;
  /**
   * Deletes one idle instance of `project`, giving its slot under the cap to an execute.
   * @returns whether there was one
   */
  yieldSlot(project: string): Promise<boolean>;
}

/** Time limit a pool instance is deployed with: the most an execute may ask for. */
const INSTANCE_TIMEOUT_SECONDS = 600;
/** An idle instance is replaced after this long, well before its expiry label. */
const IDLE_LIFETIME_SECONDS = 1800;
/** How often short pools are refilled (after a full cap or a failed start) and old instances replaced. */
const TICK_MS = 5000;

/** A ready instance, with the secret only this API process knows. */
interface Instance {
  readonly name: string;
  readonly project: string;
  readonly namespace: string;
  readonly runtime: SourceRuntimeName;
  readonly secret: string;
  readonly service: KnativeService;
  readonly readyAt: number;
}

/** How the pool reaches the rest of the API. */
export interface WarmPoolDependencies {
  readonly operations: Operations;
  readonly kube: Kube;
  readonly metrics: FunctionMetrics;
  readonly registry: Registry;
  readonly namespaceOf: (project: string) => string;
  readonly readyTimeoutMs: number;
  readonly graceSeconds: number;
  readonly outputLimitBytes: number;
  readonly log: (msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * Warm pools for execute-once: per configured project and runtime, a few temporary functions
 * in session mode (their runtime loads the code each request brings, with their own secret)
 * started ahead and waiting. An execute takes one, sends its code and input, answers and
 * deletes it: an instance runs one execution and is never reused, so nothing one execution
 * leaves (files, globals) reaches another. The pool refills in the background.
 *
 * Each API replica keeps its own pool, the secrets in its memory only (the API may create
 * Secrets, never read them), so an instance can only ever be taken by the replica that
 * started it, and taking one is a synchronous step of this process: no two executes get the
 * same. Instances are labelled ephemeral with an expiry (the janitor removes those a crashed
 * replica left), count under the project's cap of temporary functions, and are deleted when
 * the API stops.
 */
export class WarmPool implements ExecutePool {
  private readonly ready = new Map<string, Instance[]>();
  private readonly starting = new Map<string, number>();
  private readonly served: Counter<'project' | 'runtime' | 'result'>;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly settings: WarmPoolSettings,
    private readonly deps: WarmPoolDependencies,
  ) {
    this.served = warmPoolMetrics(deps.registry, (set) => this.observe(set));
  }

  /** Fills every pool now, and again every few seconds where one is short. */
  public start(): void {
    if (this.settings.sizes.size === 0) return;
    const tick = () => {
      this.retireOld();
      for (const [project, size] of this.settings.sizes) {
        for (const runtime of this.settings.runtimes) this.refill(project, runtime, size);
      }
    };
    tick();
    this.timer = setInterval(tick, TICK_MS);
    this.timer.unref();
  }

  /** Stops refilling and deletes every instance of this replica (the API is stopping). */
  public async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    // Starts in flight delete what they made once they see the pool stopped.
    await Promise.allSettled([...this.inFlight]);
    const all = [...this.ready.values()].flat();
    this.ready.clear();
    await Promise.allSettled(all.map((i) => this.remove(i)));
  }

  public async serve(
    project: string,
    request: ExecuteRequest,
    respond: (result: ExecutionResult) => void,
    progress: ExecuteProgress | undefined,
    started: number,
  ): Promise<boolean> {
    const size = this.settings.sizes.get(project);
    if (size === undefined || !this.settings.runtimes.includes(request.runtime)) return false;
    const key = keyOf(project, request.runtime);
    // An instance runs with the platform's variables only: an execute with its own goes the usual way.
    if (Object.keys(request.env ?? {}).length > 0 || !this.ready.get(key)?.length) {
      this.served.inc({ project, runtime: request.runtime, result: 'miss' });
      return false;
    }
    const timings: PhaseTimings = {};
    // Checked before an instance is taken: bad input consumes none.
    await this.deps.operations.checkDefinition(project, newName('exec'), request, timings);
    const instance = this.ready.get(key)?.shift();
    if (!instance) {
      this.served.inc({ project, runtime: request.runtime, result: 'miss' });
      return false;
    }
    this.served.inc({ project, runtime: request.runtime, result: 'hit' });
    this.refill(project, request.runtime, size);
    await this.run(instance, request, respond, progress, started, timings);
    return true;
  }

  public async yieldSlot(project: string): Promise<boolean> {
    const idle = [...this.ready.values()].find((list) => list[0]?.project === project);
    const instance = idle?.shift();
    if (!instance) return false;
    await this.remove(instance);
    return true;
  }

  /** One execution on a taken instance, which is deleted after it whatever happens. */
  private async run(
    instance: Instance,
    request: ExecuteRequest,
    respond: (result: ExecutionResult) => void,
    progress: ExecuteProgress | undefined,
    started: number,
    timings: PhaseTimings,
  ): Promise<void> {
    const { operations } = this.deps;
    const { project, name } = instance;
    let status = 'error';
    let deletion: Promise<void> | undefined;
    // Not abandoned with the request: a client that goes is the moment to stop its code.
    const remove = () => (deletion ??= outsideRequest(() => this.remove(instance)));
    try {
      progress?.phase('ready', { ...timings });
      const streamTo = progress && {
        output: cappedOutput(progress.output, this.deps.outputLimitBytes),
        running: () => progress.phase('running', { ...timings }),
      };
      const outcome = await operations.invokeOnce(
        project,
        name,
        request.input,
        instance.service,
        timings,
        {
          inputFiles: request.inputFiles ?? {},
          session: {
            secret: instance.secret,
            envelope: {
              code: request.code,
              handler: request.handler ?? DEFAULT_HANDLERS[instance.runtime],
              timeoutSeconds: request.timeoutSeconds ?? 30,
            },
          },
        },
        streamTo,
      );
      status = outcome.status;
      const stopped =
        outcome.status === 'timeout' || outcome.status === 'killed'
          ? await operations.stopNow(project, name, remove)
          : undefined;
      respond({
        id: name,
        ...operations.capped(outcome),
        ...(stopped === undefined || outcome.status !== 'timeout' ? {} : { stopped }),
        pool: true,
        durationMs: elapsed(started),
        timings: { ...timings },
      });
    } finally {
      const cleanupStarted = performance.now();
      await remove();
      timings.cleanup = elapsed(cleanupStarted);
      this.deps.metrics.executed(status, timings);
    }
  }

  /** Starts instances until the pool has `size` ready or starting. */
  private refill(project: string, runtime: SourceRuntimeName, size: number): void {
    const key = keyOf(project, runtime);
    const have = (this.ready.get(key)?.length ?? 0) + (this.starting.get(key) ?? 0);
    for (let i = have; i < size && !this.stopped; i++) {
      this.starting.set(key, (this.starting.get(key) ?? 0) + 1);
      const start = this.startOne(project, runtime)
        .then(
          (instance) => {
            if (!instance) return;
            if (this.stopped) return this.remove(instance);
            this.ready.set(key, [...(this.ready.get(key) ?? []), instance]);
          },
          (error: unknown) =>
            this.deps.log('a warm pool instance did not start; the pool retries', {
              project,
              runtime,
              err: error instanceof Problem ? error.detail : error,
            }),
        )
        .finally(() => {
          this.starting.set(key, (this.starting.get(key) ?? 1) - 1);
          this.inFlight.delete(start);
        });
      this.inFlight.add(start);
    }
  }

  /**
   * Deploys one instance in session mode (a pod kept while idle), creates its Secret and waits
   * until Ready. At the project's cap it throws the cap's 429: the pool stays short.
   */
  private async startOne(
    project: string,
    runtime: SourceRuntimeName,
  ): Promise<Instance | undefined> {
    const { operations, kube } = this.deps;
    const name = newName('pool');
    const namespace = this.deps.namespaceOf(project);
    const expiresAt =
      Date.now() / 1000 +
      this.deps.readyTimeoutMs / 1000 +
      IDLE_LIFETIME_SECONDS +
      INSTANCE_TIMEOUT_SECONDS +
      this.deps.graceSeconds;
    const { objects, slot } = await operations.deploy(
      project,
      name,
      { runtime, code: PLACEHOLDER_CODE[runtime], timeoutSeconds: INSTANCE_TIMEOUT_SECONDS },
      expiresAt,
      {},
      instanceEnv(name),
      1,
    );
    const secret = newSessionSecret();
    try {
      const applied = objects.find((o) => o.apiVersion === 'serving.knative.dev/v1');
      // After the Service, which owns it; its pod waits for it as for any missing Secret.
      await kube.createSecret(sessionSecretObject(applied as unknown as KnativeService, secret));
      const service = await operations.awaitReady(project, name, objects, {});
      if (hasFailed(service)) throw new Error(`warm pool instance ${namespace}/${name} failed`);
      await kube.apply(poolLabel(namespace, name, runtime), false, 'hks-api-warm-pool');
      return { name, project, namespace, runtime, secret, service, readyAt: Date.now() };
    } catch (error) {
      await removeObjects(kube, namespace, name).catch(() => undefined);
      throw error;
    } finally {
      slot.release();
    }
  }

  /** Replaces instances idle for {@link IDLE_LIFETIME_SECONDS}: their expiry label nears. */
  private retireOld(): void {
    const oldest = Date.now() - IDLE_LIFETIME_SECONDS * 1000;
    for (const [key, list] of this.ready) {
      const old = list.filter((i) => i.readyAt < oldest);
      if (old.length === 0) continue;
      this.ready.set(
        key,
        list.filter((i) => i.readyAt >= oldest),
      );
      for (const instance of old) void this.remove(instance);
    }
  }

  private async remove(instance: Instance): Promise<void> {
    try {
      await removeObjects(this.deps.kube, instance.namespace, instance.name);
    } catch (error) {
      this.deps.log('could not delete a warm pool instance; the janitor removes it once expired', {
        function: `${instance.namespace}/${instance.name}`,
        err: error,
      });
    }
  }

  /** The pool sizes of every configured project and runtime, as the gauge reports them. */
  private observe(set: Parameters<PoolCounts>[0]): void {
    for (const project of this.settings.sizes.keys()) {
      for (const runtime of this.settings.runtimes) {
        const key = keyOf(project, runtime);
        set({ project, runtime, state: 'ready' }, this.ready.get(key)?.length ?? 0);
        set({ project, runtime, state: 'starting' }, this.starting.get(key) ?? 0);
      }
    }
  }
}

/**
 * Session mode with a folder of the instance's own: where processes share a `/tmp` (the
 * Knative stand-in runs them on one machine) the default folder would be every instance's.
 */
function instanceEnv(name: string): PlatformEnv {
  const session = sessionPlatformEnv(name);
  return { ...session, env: { ...session.env, HKS_SESSION_DIR: `/tmp/hks-session-${name}` } };
}

function keyOf(project: string, runtime: SourceRuntimeName): string {
  return `${project}/${runtime}`;
}

function newName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** The instance's Knative Service labelled as a pool's, under the pool's own field manager. */
function poolLabel(namespace: string, name: string, runtime: SourceRuntimeName): KubeObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { [WARM_POOL_LABEL]: runtime } },
  };
}

/**
 * Where the API's process finds the pool that its routes' operations use: made with the
 * settings before the server, given its pool when the routes are built, stopped at shutdown.
 */
export class WarmPoolHandle {
  private pool?: Pick<WarmPool, 'start' | 'stop'>;

  constructor(public readonly settings: WarmPoolSettings) {}

  /** Starts `pool` (filling it) as this process's. */
  public attach(pool: Pick<WarmPool, 'start' | 'stop'>): void {
    this.pool = pool;
    pool.start();
  }

  /** Deletes the pool's instances (services), or stops watching its pods (deployment). */
  public async stop(): Promise<void> {
    await this.pool?.stop();
  }
}
