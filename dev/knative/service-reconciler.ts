import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ActionLog } from './action-log';
import { errorMessage } from './error-message';
import { RevisionPods } from './revision-pods';
import type { ConfigMapCache } from './config-map-cache';
import { type KubeAccess, isStatus } from './kube-access';
import { type LocalRuntimePlan, type NotRunnable, planLocalRuntime } from './local-runtime';
import type { ProcessIsolation } from './process-isolation';
import type { RealPods } from './real-pod';
import type { RevisionInstance } from './revision-instance';
import {
  TEMPLATE_HASH_ANNOTATION,
  buildRevision,
  revisionGeneration,
  templateHash,
} from './revision-manifest';
import { RevisionProcess } from './revision-process';
import { ServiceRouter, type Upstream } from './router';
import { serviceStatus, withTransitionTimes } from './service-status';
import { resolveTraffic } from './traffic';
import type { KnativeCondition, KnativeRevision, KnativeService } from './types';

/** What every Service's reconciler shares. */
export interface ReconcilerContext {
  readonly kube: KubeAccess;
  /** The Functions' ConfigMaps, kept by a watch. */
  readonly configMaps: ConfigMapCache;
  readonly log: ActionLog;
  readonly stateDir: string;
  /** Who the processes run as and where their files go. */
  readonly isolation: ProcessIsolation;
  readonly readyTimeoutMs: number;
  readonly healthPollMs: number;
  /** Node labels of the pods standing for revision processes; undefined: no pods. */
  readonly podNodeSelector: Readonly<Record<string, string>> | undefined;
  /** Whether kwok serves per-pod logs from Logs objects. */
  readonly kwokLogs: boolean;
  /** Idle time after which a revision with min-scale 0 is stopped; undefined: never. */
  readonly scaleToZeroAfterMs: number | undefined;
  /** How long a revision no longer routed is kept before it is deleted; undefined: until its Service goes. */
  readonly retainNonActiveMs: number | undefined;
  /**
   * Runs revisions as pods on the test cluster's real node instead of local processes (no
   * placeholder pods then).
   * @default - local processes
   */
  readonly realPods?: RealPods;
}

/** One revision as the stand-in tracks it. */
interface RevisionState {
  object: KnativeRevision;
  readonly name: string;
  readonly generation: number;
  readonly hash: string | undefined;
  /** Resolves with the Revision as stored (with its uid) once created. */
  created: Promise<KnativeRevision | undefined>;
  /** Lets the Revision be created (after the process is spawned: spawning comes first). */
  persist: () => void;
  ready: KnativeCondition;
  /** Its local process or real pod, once started. */
  process?: RevisionInstance;
  starting: boolean;
  /** The pods standing for the process; undefined when the stand-in makes none. */
  readonly pods: RevisionPods | undefined;
  /** Stopped for idleness (Knative's scale to zero); the next request starts it again. */
  scaledToZero: boolean;
  /** The start under way, if any. */
  run?: Promise<void>;
  /** A start asked for by a request (cold start), if under way. */
  activating?: Promise<Upstream | undefined>;
  /** A scale-down under way, if any. */
  stopping?: Promise<void>;
  /** Requests being served. */
  inFlight: number;
  /** When it last served a request or became healthy (epoch ms). */
  lastActiveAt: number;
  /** When it was last routed to: the latest revision or named in the traffic (epoch ms). */
  lastRoutedAt: number;
}

/** Fields of a revision the stand-in tracks from its start, for a new or a stored one. */
function freshState(now: number) {
  return { scaledToZero: false, inFlight: 0, lastActiveAt: now, lastRoutedAt: now };
}

/** How often idle and no longer routed revisions are looked for. */
const SWEEP_INTERVAL_MS = 250;

/** Knative's annotation of the fewest pods a revision keeps. */
const MIN_SCALE_ANNOTATION = 'autoscaling.knative.dev/min-scale';

/** Longest pause between reads of a missing ConfigMap or Secret; a ConfigMap event ends it. */
const CONFIG_RETRY_MS = 200;

/** How long a starting revision's Unknown status waits for its Ready one. */
const INTERMEDIATE_STATUS_DELAY_MS = 250;

const unknown = (reason: string, message: string): KnativeCondition => ({
  type: 'Ready',
  status: 'Unknown',
  reason,
  message,
});

/**
 * Plays Knative's controllers for one Service: a Revision per template change, a local
 * process per routed revision (with a pod and kwok Logs object standing for it), a router
 * on 127.0.0.1 splitting requests by the traffic targets, and the Service's status.
 * Every change is applied in order; status writes are coalesced to the latest state.
 */
export class ServiceReconciler {
  private service: KnativeService;
  private revisions: RevisionState[] = [];
  private router: ServiceRouter | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private conditions: readonly KnativeCondition[] | undefined;
  private lastWritten = '';
  private statusDirty = false;
  private statusWriting: Promise<void> | undefined;
  private deferredStatus: NodeJS.Timeout | undefined;
  private readonly sweepTimer: NodeJS.Timeout | undefined;
  /** When the watch event that created the newest revision arrived (for latency figures). */
  private timing:
    | { eventAt: number; spawnedAt?: number; healthyAt?: number; runtimeStartMs?: number }
    | undefined;

  /**
   * @param ctx what every reconciler shares
   * @param service the Service as first seen
   * @param existing its Revisions already stored (from an earlier run of the stand-in)
   */
  constructor(
    private readonly ctx: ReconcilerContext,
    service: KnativeService,
    existing: readonly KnativeRevision[],
  ) {
    this.service = service;
    this.revisions = existing
      .filter((object) =>
        object.metadata.ownerReferences?.some((o) => o.uid === service.metadata.uid),
      )
      .map((object) => ({
        object,
        name: object.metadata.name,
        generation: revisionGeneration(object),
        hash: object.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION],
        created: Promise.resolve(object),
        persist: () => undefined,
        ready: unknown('Restarting', 'The stand-in has not started this revision yet.'),
        starting: false,
        pods: this.newPods(),
        ...freshState(Date.now()),
      }))
      .sort((a, b) => a.generation - b.generation);
    if (ctx.scaleToZeroAfterMs !== undefined || ctx.retainNonActiveMs !== undefined) {
      this.sweepTimer = setInterval(() => void this.enqueue(() => this.sweep()), SWEEP_INTERVAL_MS);
    }
  }

  private newPods(): RevisionPods | undefined {
    const { kube, log, podNodeSelector, kwokLogs, realPods } = this.ctx;
    return podNodeSelector === undefined || realPods !== undefined
      ? undefined
      : new RevisionPods({ kube, log, service: this.key, nodeSelector: podNodeSelector, kwokLogs });
  }

  /** The Service's uid (a Service deleted and created again is a new reconciler). */
  public get uid(): string | undefined {
    return this.service.metadata.uid;
  }

  private get key(): string {
    return `${this.service.metadata.namespace}/${this.service.metadata.name}`;
  }

  /** Takes a new version of the Service (seen at `receivedAt`, epoch ms) and reconciles it. */
  public update(service: KnativeService, receivedAt: number): Promise<void> {
    this.service = service;
    return this.enqueue(() => this.reconcile(receivedAt)).then((ok) => {
      // A failed step (e.g. the API server briefly unavailable) is tried again.
      if (!ok && !this.closed) setTimeout(() => void this.update(this.service, receivedAt), 1_000);
    });
  }

  /**
   * Closes the router, then stops every process and deletes the pods and Logs objects.
   * @param removeState also delete the Service's local folder (the Service was deleted)
   */
  public async shutdown(removeState: boolean): Promise<void> {
    await this.enqueue(async () => {
      if (this.closed) return;
      this.closed = true;
      clearTimeout(this.deferredStatus);
      clearInterval(this.sweepTimer);
      const { namespace, name } = this.service.metadata;
      // Stop taking requests before the processes behind the router go away.
      await this.router?.close();
      await Promise.all(
        this.revisions.map(async (state) => {
          const exit = await state.process?.stop();
          if (exit !== undefined) {
            this.ctx.log(`${state.process?.kind} stopped`, {
              service: this.key,
              revision: state.name,
              code: exit.code ?? undefined,
              signal: exit.signal ?? undefined,
            });
          }
          await state.pods?.deleteAll(namespace);
        }),
      );
      if (removeState) {
        rmSync(join(this.ctx.stateDir, namespace, name), { recursive: true, force: true });
        this.ctx.isolation.removeService(namespace, name);
      }
      this.ctx.log(removeState ? 'service removed' : 'service released', { service: this.key });
    });
  }

  /** Runs a step after the ones before it; resolves false when it failed (and was logged). */
  private enqueue(step: () => Promise<void>): Promise<boolean> {
    const next = this.queue.then(step).then(
      () => true,
      (error: unknown) => {
        this.ctx.log('error', { service: this.key, message: errorMessage(error) });
        return false;
      },
    );
    this.queue = next.then(() => undefined);
    return next;
  }

  private async reconcile(receivedAt: number): Promise<void> {
    if (this.closed) return;
    if (this.router === undefined) {
      this.router = await ServiceRouter.open({
        acquire: (revision) => this.acquire(revision),
        release: (revision) => this.release(revision),
      });
      this.ctx.log('service tracked', {
        service: this.key,
        url: this.router.url,
        revisions: this.revisions.length,
      });
    }

    const hash = templateHash(this.service.spec.template);
    if (this.revisions.at(-1)?.hash !== hash) this.createRevision(hash, receivedAt);

    const routed = this.routedRevisions();
    const now = Date.now();
    for (const state of this.revisions) {
      if (!routed.has(state.name)) continue;
      state.lastRoutedAt = now;
      if (state.process === undefined && !state.starting && !state.scaledToZero) {
        void this.startRevision(state);
      }
    }
    // While the newest revision starts, its Unknown status waits a little: a quick start
    // then writes Ready at once, and the API server is not busy with a write nobody awaits.
    const starting = this.revisions.at(-1)?.ready.status === 'Unknown';
    this.scheduleStatus(starting ? INTERMEDIATE_STATUS_DELAY_MS : 0);
  }

  private createRevision(hash: string, receivedAt: number): void {
    const generation = Math.max(0, ...this.revisions.map((r) => r.generation)) + 1;
    const object = buildRevision(this.service, generation);
    const state: RevisionState = {
      object,
      name: object.metadata.name,
      generation,
      hash,
      created: Promise.resolve(undefined),
      persist: () => undefined,
      ready: unknown('Deploying', 'The revision is starting.'),
      starting: false,
      pods: this.newPods(),
      ...freshState(receivedAt),
    };
    // The process is spawned first, then the Revision created: the API calls of both would
    // otherwise compete, and the spawn is on the path to Ready.
    const gate = new Promise<void>((resolve) => (state.persist = resolve));
    state.created = gate
      .then(() => this.storeRevision(object))
      .then(
        (stored) => {
          state.object = stored;
          this.ctx.log('revision created', { service: this.key, revision: state.name });
          return stored;
        },
        (error: unknown) => {
          this.ctx.log('error', {
            service: this.key,
            revision: state.name,
            message: `create Revision: ${errorMessage(error)}`,
          });
          return undefined;
        },
      );
    this.revisions.push(state);
    this.timing = { eventAt: receivedAt };
  }

  /**
   * Creates the Revision; one of the same name left by a deleted Service of the same name
   * (not yet garbage-collected) is deleted first.
   */
  private async storeRevision(object: KnativeRevision): Promise<KnativeRevision> {
    try {
      return await this.ctx.kube.createRevision(object);
    } catch (error) {
      if (!isStatus(error, 409)) throw error;
      const { namespace, name } = object.metadata;
      await this.ctx.kube.deleteRevision(namespace, name);
      return this.ctx.kube.createRevision(object);
    }
  }

  /** The revision's folder in the state folder (its log). */
  private revisionDir(state: RevisionState): string {
    const { namespace, name } = this.service.metadata;
    return join(this.ctx.stateDir, namespace, name, state.name);
  }

  /** Names of the revisions routed to: the latest and those named in the traffic. */
  private routedRevisions(): Set<string | undefined> {
    const routed = new Set([this.revisions.at(-1)?.name]);
    for (const target of this.service.spec.traffic ?? []) routed.add(target.revisionName);
    return routed;
  }

  /** The router's way in: where a revision's requests go, started first if scaled to zero. */
  private async acquire(revisionName: string): Promise<Upstream | undefined> {
    const state = this.revisions.find((r) => r.name === revisionName);
    if (state === undefined || this.closed) return undefined;
    // Counted from now: a revision that is starting for this request is not idle.
    state.inFlight++;
    state.lastActiveAt = Date.now();
    const upstream =
      state.process !== undefined && state.stopping === undefined
        ? state.process.upstream
        : await this.activate(state);
    if (upstream === undefined) this.release(revisionName);
    return upstream;
  }

  private release(revisionName: string): void {
    const state = this.revisions.find((r) => r.name === revisionName);
    if (state === undefined) return;
    state.inFlight = Math.max(0, state.inFlight - 1);
    state.lastActiveAt = Date.now();
  }

  /** Starts a revision scaled to zero again (once for all the requests waiting on it). */
  private activate(state: RevisionState): Promise<Upstream | undefined> {
    state.activating ??= (async () => {
      await state.stopping;
      if (state.process === undefined && !this.closed) {
        const coldStart = state.scaledToZero;
        state.scaledToZero = false;
        const begin = Date.now();
        await (state.run ?? this.startRevision(state));
        if (coldStart) {
          this.ctx.log('revision cold start', {
            service: this.key,
            revision: state.name,
            ready: state.ready.status,
            // From the request to a healthy process (reading the ConfigMap included).
            startMs: Date.now() - begin,
          });
        }
      }
      return state.ready.status === 'True' ? state.process?.upstream : undefined;
    })().finally(() => (state.activating = undefined));
    return state.activating;
  }

  /**
   * Stops revisions idle for {@link ReconcilerContext.scaleToZeroAfterMs} (min-scale 0 only) and
   * deletes those not routed for {@link ReconcilerContext.retainNonActiveMs} (never the latest).
   */
  private async sweep(): Promise<void> {
    if (this.closed) return;
    const now = Date.now();
    const routed = this.routedRevisions();
    const { scaleToZeroAfterMs, retainNonActiveMs } = this.ctx;
    for (const state of [...this.revisions]) {
      if (routed.has(state.name)) state.lastRoutedAt = now;
      const idle =
        scaleToZeroAfterMs !== undefined &&
        state.process !== undefined &&
        state.run === undefined &&
        state.activating === undefined &&
        state.inFlight === 0 &&
        state.ready.status === 'True' &&
        Number(state.object.metadata.annotations?.[MIN_SCALE_ANNOTATION] ?? 0) === 0 &&
        now - state.lastActiveAt >= scaleToZeroAfterMs;
      if (idle) await this.scaleToZero(state, now - state.lastActiveAt);
      const collectable =
        retainNonActiveMs !== undefined &&
        !routed.has(state.name) &&
        state.inFlight === 0 &&
        now - state.lastRoutedAt >= retainNonActiveMs;
      if (collectable) await this.collect(state);
    }
  }

  /** Stops an idle revision's process and deletes its pod; it stays Ready (and routed). */
  private async scaleToZero(state: RevisionState, idleMs: number): Promise<void> {
    const process = state.process;
    if (process === undefined) return;
    state.scaledToZero = true;
    state.process = undefined;
    state.stopping = (async () => {
      await process.stop();
      await state.pods?.deleteRunning(this.service.metadata.namespace);
      this.ctx.log('revision scaled to zero', {
        service: this.key,
        revision: state.name,
        idleMs,
      });
    })().finally(() => (state.stopping = undefined));
    await state.stopping;
  }

  /** Deletes a revision no longer routed, as Knative's revision GC does, with its process. */
  private async collect(state: RevisionState): Promise<void> {
    this.revisions = this.revisions.filter((r) => r !== state);
    const process = state.process;
    state.process = undefined;
    await process?.stop();
    const { namespace } = this.service.metadata;
    await state.pods?.deleteAll(namespace);
    await state.created;
    await this.ctx.kube.deleteRevision(namespace, state.name);
    rmSync(this.revisionDir(state), { recursive: true, force: true });
    this.ctx.log('revision deleted', {
      service: this.key,
      revision: state.name,
      reason: 'NotRouted',
    });
    this.scheduleStatus();
  }

  private startRevision(state: RevisionState): Promise<void> {
    state.starting = true;
    state.run = this.runRevision(state)
      .catch((error: unknown) => {
        state.persist();
        this.setReady(state, {
          type: 'Ready',
          status: 'False',
          reason: 'InternalError',
          message: errorMessage(error),
        });
      })
      .finally(() => {
        state.starting = false;
        state.run = undefined;
      });
    return state.run;
  }

  private async runRevision(state: RevisionState): Promise<void> {
    if (this.ctx.realPods !== undefined) return this.runPod(state, this.ctx.realPods);
    const { namespace, name } = this.service.metadata;
    const dir = this.revisionDir(state);
    rmSync(dir, { recursive: true, force: true });
    // The function's files: in the same folder unless its user cannot reach the state folder.
    const filesDir = this.ctx.isolation.freshRevisionDir(namespace, name, state.name);
    mkdirSync(dir, { recursive: true });
    const planStart = Date.now();
    const lookup = {
      configMap: (n: string) => this.ctx.configMaps.get(namespace, n),
      secret: (n: string) => this.ctx.kube.secret(namespace, n),
    };
    let plan: LocalRuntimePlan | NotRunnable = await planLocalRuntime(
      state.object.spec,
      filesDir,
      lookup,
    );
    // Like kubelet, wait for a ConfigMap or Secret that is not there yet (applied after the
    // Service), up to the start timeout.
    while (
      !plan.runnable &&
      plan.reason === 'CreateContainerConfigError' &&
      !this.closed &&
      Date.now() - planStart < this.ctx.readyTimeoutMs
    ) {
      state.persist();
      // A ConfigMap applied beside the Service usually arrives within milliseconds.
      await this.ctx.configMaps.nextChange(CONFIG_RETRY_MS);
      plan = await planLocalRuntime(state.object.spec, filesDir, lookup);
    }
    const location = plan.runnable ? await this.ctx.isolation.program(plan.program) : undefined;
    if (location?.found === false) {
      plan = { runnable: false, reason: 'CreateContainerError', message: location.message };
    }
    if (!plan.runnable) {
      state.persist();
      this.setReady(state, {
        type: 'Ready',
        status: 'False',
        reason: plan.reason,
        message: plan.message,
      });
      return;
    }
    if (this.closed) return;
    const spawnStart = Date.now();
    const process = await RevisionProcess.start({
      plan,
      program: location?.found === true ? location.path : plan.program,
      user: this.ctx.isolation.user,
      path: this.ctx.isolation.path,
      modes: this.ctx.isolation.modes,
      logFile: join(dir, 'container.log'),
      extraEnv: { K_SERVICE: name, K_CONFIGURATION: name, K_REVISION: state.name },
      readyTimeoutMs: this.ctx.readyTimeoutMs,
      pollIntervalMs: this.ctx.healthPollMs,
    });
    if (this.closed) {
      // The Service went away while its files were being read: nothing may outlive it.
      await process.stop();
      return;
    }
    this.ctx.log('process started', {
      service: this.key,
      revision: state.name,
      pid: process.pid,
      port: process.port,
      program: plan.program,
      uid: this.ctx.isolation.user?.uid,
      // Reading the ConfigMap(s) and Secrets, then writing the files and spawning.
      planMs: spawnStart - planStart,
      spawnMs: Date.now() - spawnStart,
    });
    await this.serve(state, process);
  }

  /**
   * Runs a revision as a pod on the real node: created once the Revision is stored (its uid
   * owns the pod), then served as a local process is.
   */
  private async runPod(state: RevisionState, realPods: RealPods): Promise<void> {
    state.persist();
    const stored = await state.created;
    if (stored === undefined) throw new Error(`the Revision ${state.name} could not be created`);
    if (this.closed) return;
    const pod = await realPods.start(stored, {
      readyTimeoutMs: this.ctx.readyTimeoutMs,
      pollIntervalMs: this.ctx.healthPollMs,
      service: this.key,
    });
    if (this.closed) {
      await pod.stop();
      return;
    }
    await this.serve(state, pod);
  }

  /** Routes to a started process or pod once healthy; its exit fails the revision. */
  private async serve(state: RevisionState, process: RevisionInstance): Promise<void> {
    const { namespace } = this.service.metadata;
    state.process = process;
    state.persist();
    // A process stopped for scale to zero has not failed.
    const stillRuns = () => state.process === process;
    void process.exited.then((exit) =>
      stillRuns() ? state.pods?.exited(namespace, exit.code ?? 137) : undefined,
    );
    if (this.timing !== undefined && state === this.revisions.at(-1)) {
      this.timing.spawnedAt = Date.now();
    }
    // The pod is made while the process starts, and Ready waits for it: as with Knative, a
    // Ready revision has its pod, so whoever deletes the Service and waits for its pods to go
    // (a timed-out execute) waits for the process too.
    const podCreated = state.created
      .then((stored) =>
        stored === undefined || this.closed
          ? undefined
          : state.pods?.create(stored, join(this.revisionDir(state), 'container.log')),
      )
      .catch(() => undefined); // a Revision that could not be stored is reported where it is made
    const outcome = await process.started;
    if (this.closed) return;
    if (outcome.ready) {
      await podCreated;
      if (this.closed) return;
      this.ctx.log(`${process.kind} healthy`, {
        service: this.key,
        revision: state.name,
        startMs: outcome.startMs,
      });
      state.lastActiveAt = Date.now();
      this.setReady(state, { type: 'Ready', status: 'True' }, outcome.startMs);
      void process.exited.then((exit) => {
        if (this.closed || !stillRuns()) return;
        this.setReady(state, {
          type: 'Ready',
          status: 'False',
          reason: 'ExitCode',
          message: `Container failed with ${exit.code === null ? `signal ${exit.signal}` : `exit code ${exit.code}`}: ${process.logTail() || '(no output)'}`,
        });
      });
    } else {
      this.setReady(state, {
        type: 'Ready',
        status: 'False',
        reason: outcome.reason,
        message: outcome.message,
      });
    }
  }

  private setReady(state: RevisionState, ready: KnativeCondition, startMs?: number): void {
    state.ready = ready;
    if (startMs !== undefined && this.timing !== undefined && state === this.revisions.at(-1)) {
      this.timing.healthyAt = Date.now();
      this.timing.runtimeStartMs = startMs;
    }
    if (ready.status === 'False') {
      this.ctx.log('revision failed', {
        service: this.key,
        revision: state.name,
        reason: ready.reason,
        message: ready.message,
      });
    }
    this.scheduleStatus();
    void Promise.all([state.created, this.afterStatus()]).then(async ([stored]) => {
      if (stored === undefined || this.closed) return;
      const conditions = withTransitionTimes(
        [ready, { ...ready, type: 'ContainerHealthy' }],
        stored.status?.conditions,
        new Date(),
      );
      await this.ctx.kube
        .writeRevisionStatus(stored, {
          observedGeneration: stored.metadata.generation ?? 1,
          conditions,
        })
        .catch((error: unknown) => {
          if (!isStatus(error, 404)) {
            this.ctx.log('error', {
              service: this.key,
              revision: state.name,
              message: `write Revision status: ${errorMessage(error)}`,
            });
          }
        });
    });
  }

  /** Resolves when the status writes under way are done. */
  private afterStatus(): Promise<void> {
    return this.statusWriting ?? Promise.resolve();
  }

  /** Marks the status out of date and writes it (coalescing writes already under way). */
  private scheduleStatus(deferMs = 0): void {
    if (deferMs > 0) {
      this.deferredStatus ??= setTimeout(() => {
        this.deferredStatus = undefined;
        this.scheduleStatus();
      }, deferMs);
      return;
    }
    clearTimeout(this.deferredStatus);
    this.deferredStatus = undefined;
    this.statusDirty = true;
    this.statusWriting ??= this.drainStatus().finally(() => (this.statusWriting = undefined));
  }

  private async drainStatus(): Promise<void> {
    while (this.statusDirty && !this.closed) {
      this.statusDirty = false;
      await this.writeStatus().catch((error: unknown) => {
        if (!isStatus(error, 404))
          this.ctx.log('error', {
            service: this.key,
            message: `write status: ${errorMessage(error)}`,
          });
      });
    }
  }

  private async writeStatus(): Promise<void> {
    const router = this.router;
    if (router === undefined) return;
    const { name, namespace, generation } = this.service.metadata;
    // A revision scaled to zero (or starting again for a request) is still routed to.
    const live = new Set(
      this.revisions
        .filter(
          (r) =>
            r.ready.status === 'True' &&
            (r.process !== undefined || r.scaledToZero || r.activating !== undefined),
        )
        .map((r) => r.name),
    );
    const latestReady = [...this.revisions].reverse().find((r) => live.has(r.name))?.name;
    const traffic = resolveTraffic(name, this.service.spec.traffic, latestReady, (r) =>
      live.has(r),
    );
    router.route(traffic.ok ? traffic.targets : []);
    const latest = this.revisions.at(-1);
    const status = serviceStatus({
      serviceName: name,
      generation: generation ?? 1,
      url: router.url,
      latestCreated: latest === undefined ? undefined : { name: latest.name, ready: latest.ready },
      latestReadyRevisionName: latestReady,
      traffic,
      previous: this.conditions,
    });
    const text = JSON.stringify(status);
    if (text === this.lastWritten) return;
    // Never name a revision in the status before it exists.
    await Promise.all(this.revisions.map((r) => r.created));
    const patchStart = Date.now();
    const connectionsBefore = this.ctx.kube.newConnections;
    await this.ctx.kube.writeServiceStatus(namespace, name, status);
    const patchMs = Date.now() - patchStart;
    this.lastWritten = text;
    this.conditions = status.conditions;
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    const timing = this.timing;
    if (ready?.status !== 'Unknown') this.timing = undefined;
    const now = Date.now();
    const since = (at: number | undefined, from: number | undefined) =>
      at === undefined || from === undefined ? undefined : at - from;
    this.ctx.log('service status', {
      service: this.key,
      ready: ready?.status,
      reason: ready?.reason,
      latestReady,
      traffic: status.traffic
        ?.map((t) => `${t.revisionName}=${t.percent}${t.tag ? `(${t.tag})` : ''}`)
        .join(','),
      // Latency of this reaction: event -> spawn, the runtime's own start, healthy -> status.
      sinceEventMs: since(now, timing?.eventAt),
      spawnMs: since(timing?.spawnedAt, timing?.eventAt),
      runtimeStartMs: timing?.runtimeStartMs,
      statusMs: since(now, timing?.healthyAt),
      patchMs,
      patchNewConnection: this.ctx.kube.newConnections > connectionsBefore,
      overheadMs:
        timing?.runtimeStartMs === undefined
          ? undefined
          : now - timing.eventAt - timing.runtimeStartMs,
    });
  }
}
