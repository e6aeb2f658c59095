import { randomBytes } from 'node:crypto';
import { API_VERSION, LABELS, MANAGER, ResourcesSpec, SourceRuntimeName } from '../constructs';
import {
  type BootstrapRecord,
  invocationRecord,
  LOG_RESULT_HEADER,
  LOG_STREAMS_HEADER,
  LOG_TAIL_HEADER,
  parseStreamRuns,
  splitLogTail,
  splitStreams,
  userLines,
} from '../runtimes/log-records';
import { Applications } from './applications';
import { Caller, requireProject } from './auth';
import { CapSlot, EphemeralCap } from './ephemeral-cap';
import {
  checkInputFiles,
  DEFAULT_FILE_LIMITS,
  ExecutionFiles,
  FileContent,
  FileLimits,
  FILES_HEADER,
  filesRequestBody,
  OmittedFile,
  openFilesAnswer,
} from './execution-files';
import {
  DEFAULT_EPHEMERAL_LIMITS,
  EphemeralLimits,
  ephemeralResources,
} from './ephemeral-resources';
import { EPHEMERAL_LABEL, EXPIRES_LABEL, Functions, Invocation, viewOf } from './functions';
import { hasFailed, KnativeApi, KnativeService, readyCondition } from './knative';
import { Kube, KubeObject } from './kube';
import { type InvocationTarget, TOO_LARGE_TITLE } from './function-proxy';
import { cappedOutput, ExecuteProgress, invokeStreamed } from './execute-stream';
import { FunctionMetrics } from './metrics';
import { FieldError, Problem } from './problem';
import { outsideRequest } from './request-signal';
import { PlatformEnv, SESSION_SECRET_HEADER, SessionCall, withPlatformEnv } from './session-secret';
import type { ExecutePool } from './warm-pool';

/** Source of a temporary function. */
export interface EphemeralSource {
  /** @default - the one project the token grants */
  readonly project?: string;
  readonly runtime: SourceRuntimeName;
  /** Inline code; or `files`. */
  readonly code?: string;
  /** Source files by relative path; or `code`. */
  readonly files?: Readonly<Record<string, string>>;
  /** @default "main.handler" (python3.12), "index.handler" (nodejs20) */
  readonly handler?: string;
  /** @default - none */
  readonly env?: Readonly<Record<string, string>>;
  /** 1 to 600. @default 30 */
  readonly timeoutSeconds?: number;
  /** Temporary functions are always cluster-local; `public` is refused. @default "cluster-local" */
  readonly visibility?: 'cluster-local';
}

/** `POST /internal/v1/operations/execute`: deploy, invoke once, clean up. */
export interface ExecuteRequest extends Omit<EphemeralSource, 'code' | 'files'> {
  /** Source of the handler module. */
  readonly code: string;
  /** The event passed to the handler. @default null */
  readonly input?: unknown;
  /**
   * Small files placed in the invocation's working directory under `input/` (`HKS_INPUT_DIR`).
   * @default - none
   */
  readonly inputFiles?: ExecutionFiles;
}

/** `POST /internal/v1/operations/deploy-function`: a temporary function. */
export interface DeployFunctionRequest extends EphemeralSource {
  /** Lifetime in seconds, 60 to 86400; then the janitor removes it. @default 3600 */
  readonly ttlSeconds?: number;
}

/**
 * How an execution ended: `succeeded` (a result), `failed` (the handler raised, or the function
 * did not start), `timeout` (stopped at its time limit), `killed` (its process ended before it
 * answered: out of memory, a signal, an exit call).
 */
export type ExecutionStatus = 'succeeded' | 'failed' | 'timeout' | 'killed';

/** Which of the output was cut at the cap. */
export interface OutputTruncation {
  readonly stdout: boolean;
  readonly stderr: boolean;
  /** The combined view. */
  readonly output: boolean;
  /** The cap of each (`HKS_EXECUTE_OUTPUT_LIMIT_BYTES`). */
  readonly limitBytes: number;
}

/** An error the function raised (or its failure to start), as data. */
export interface ExecutionError {
  readonly type: string;
  readonly message: string;
  readonly stack?: string;
}

/**
 * Milliseconds spent in each phase of an operation (those that ran). Execute-once deletes the
 * function after answering; the deletion is in the metrics (`hks_execute_phase_duration_seconds`).
 */
export interface OperationTimings {
  /** Validation and syntax check. */
  readonly check?: number;
  readonly deploy?: number;
  readonly ready?: number;
  readonly invoke?: number;
  /** Collecting the invocation's logs. */
  readonly logs?: number;
}

/** The outcome of running code once: result or error, the function's logs and where time went. */
export interface ExecutionResult {
  readonly id: string;
  readonly status: ExecutionStatus;
  /** The handler's return value (`succeeded`). */
  readonly result?: unknown;
  /** Why it failed (`failed`, `timeout`, `killed`). */
  readonly error?: ExecutionError;
  /** What the code wrote to stdout. */
  readonly stdout: string;
  /** What the code wrote to stderr. */
  readonly stderr: string;
  /** Both, in the order written. */
  readonly output: string;
  /** The same as `output`, kept for the clients that read it. */
  readonly logs: string;
  /** Present when some output was cut at the cap. */
  readonly truncated?: OutputTruncation;
  /**
   * `timeout`: whether the function was deleted and its process gone before this answer (false:
   * it did not end within the wait; its deletion goes on).
   */
  readonly stopped?: boolean;
  /**
   * Execute-once: the files the code left under `output/` (`HKS_OUTPUT_DIR`), within the caps;
   * absent when the runtime did not answer (a timeout, a start failure).
   */
  readonly outputFiles?: Readonly<Record<string, FileContent>>;
  /** Output files left out (over a cap, a symlink, not a regular file); absent when none. */
  readonly omittedFiles?: readonly OmittedFile[];
  /** Present (true) when a warm pool instance ran it: nothing was deployed during the call. */
  readonly pool?: true;
  readonly durationMs: number;
  readonly timings: OperationTimings;
}

/** A temporary function that was deployed. */
export interface DeployedFunction {
  readonly id: string;
  readonly project: string;
  readonly name: string;
  readonly url?: string;
  readonly ready: boolean;
  /** Why it is not ready (Knative's condition reason); absent when it is. */
  readonly reason?: string;
  /** Knative's condition message; absent when it is ready. */
  readonly message?: string;
  readonly expiresAt: string;
  readonly timings: OperationTimings;
}

/** Milliseconds per phase, as they are measured: the response's phases and the deletion. */
export type PhaseTimings = { -readonly [P in keyof OperationTimings]: OperationTimings[P] } & {
  cleanup?: number;
};

/** What one invocation (or failed start) gave, output not yet capped. */
export type Outcome = Pick<
  ExecutionResult,
  'status' | 'result' | 'error' | 'outputFiles' | 'omittedFiles'
> &
  Output;

/** The code's output; without stream runs (older runtimes) all of it counts as stdout. */
interface Output {
  readonly output: string;
  readonly stdout: string;
  readonly stderr: string;
}

/** What keeps temporary functions from crowding a shared cluster. */
export interface EphemeralSafety {
  /** Limits of their containers. @default - {@link DEFAULT_EPHEMERAL_LIMITS} */
  readonly limits?: EphemeralLimits;
  /** Most temporary functions of one project at once; beyond it, a 429. @default 10 */
  readonly maxPerProject?: number;
  /** Bytes of stdout, of stderr and of the combined output a result carries at most. @default 65536 */
  readonly outputLimitBytes?: number;
  /** Caps on an execution's input files and, apart, its output files. @default - {@link DEFAULT_FILE_LIMITS} */
  readonly fileLimits?: FileLimits;
}

/** Default of {@link EphemeralSafety.outputLimitBytes}. */
export const DEFAULT_EXECUTE_OUTPUT_LIMIT_BYTES = 64 * 1024;

/** Default of {@link EphemeralSafety.maxPerProject}. */
export const DEFAULT_EPHEMERAL_MAX_PER_PROJECT = 10;

/** Default lifetime of a function from deploy-function. */
export const DEFAULT_TTL_SECONDS = 3600;
/** How long logs are awaited after an invocation for its final log line. */
const LOG_WAIT_MS = 5000;
/** How long execute-once waits at a timeout for the function's pods (and processes) to be gone. */
const STOP_WAIT_MS = 15_000;

/**
 * Execute-once and temporary functions for agents. A temporary function is a `kind: Function`
 * definition (validated and synthesized like any other) that is not stored, labelled
 * ephemeral with an expiry; it is deleted after use, or by the janitor once expired. It is
 * always cluster-local, has CPU and memory limits, is kept apart from the project's other pods
 * by the project's network policies, and counts against a per-project cap.
 */
export class Operations {
  private readonly resources: ResourcesSpec;
  private readonly cap: EphemeralCap;
  private readonly outputLimitBytes: number;
  private readonly fileLimits: FileLimits;
  private pool?: ExecutePool;

  constructor(
    private readonly applications: Applications,
    private readonly functions: Functions,
    private readonly knative: KnativeApi,
    private readonly kube: Kube,
    private readonly metrics: FunctionMetrics,
    private readonly readyTimeoutMs: number,
    /** How long an execute-once function outlives its limits before it counts as leaked. */
    private readonly graceSeconds: number,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void,
    safety: EphemeralSafety = {},
  ) {
    this.resources = ephemeralResources(safety.limits ?? DEFAULT_EPHEMERAL_LIMITS);
    this.outputLimitBytes = safety.outputLimitBytes ?? DEFAULT_EXECUTE_OUTPUT_LIMIT_BYTES;
    this.fileLimits = safety.fileLimits ?? DEFAULT_FILE_LIMITS;
    this.cap = new EphemeralCap(
      safety.maxPerProject ?? DEFAULT_EPHEMERAL_MAX_PER_PROJECT,
      async (project) =>
        (
          await this.knative.listServices(
            this.applications.namespaceOf(project),
            `${LABELS.managedBy}=${MANAGER},${EPHEMERAL_LABEL}=true`,
          )
        ).map((s) => ({
          name: s.metadata.name,
          expiresAt: Number(s.metadata.labels?.[EXPIRES_LABEL]) || Date.now() / 1000,
        })),
    );
  }

  /** Serves executes from warm instances first (an empty pool: deployed as before). */
  public usePool(pool: ExecutePool): void {
    this.pool = pool;
  }

  /**
   * Deploys a temporary function, waits until Ready, invokes it with `input`, hands the result
   * to `respond`, and deletes the function again, whatever happens. The caller gets the
   * result without waiting for the deletion, except at a timeout: then the code may still be
   * running, so the function is deleted first and its pods awaited (the result's `stopped`).
   * Should the API die before the deletion, the function's expiry leaves it to the janitor.
   * With `progress` (a streamed execute) the phases are told as they are reached and the
   * code's output as it is written, up to the output cap.
   * @returns once the function is deleted
   */
  public async execute(
    caller: Caller,
    request: ExecuteRequest,
    respond: (result: ExecutionResult) => void,
    progress?: ExecuteProgress,
  ): Promise<void> {
    const started = performance.now();
    checkInputDepth(request.input, 'input');
    checkInputFiles(request.inputFiles ?? {}, this.fileLimits);
    const project = projectOf(caller, request.project);
    if (await this.pool?.serve(project, request, respond, progress, started)) return;
    const name = newName('exec');
    const timeoutSeconds = request.timeoutSeconds ?? 30;
    const expiresAt =
      Date.now() / 1000 + this.readyTimeoutMs / 1000 + timeoutSeconds + this.graceSeconds;
    const timings: PhaseTimings = {};
    let status = 'error';
    const deployNow = () => this.deploy(project, name, request, expiresAt, timings);
    // At the cap, an idle warm instance of the project gives its slot up: executes come first.
    const { objects, slot } = await deployNow().catch(async (error: unknown) => {
      const full = error instanceof Problem && error.status === 429;
      if (full && (await this.pool?.yieldSlot(project))) return deployNow();
      throw error;
    });
    let deletion: Promise<PromiseSettledResult<void>[]> | undefined;
    // Not abandoned with the request: a client that goes is the moment to stop its code.
    const remove = () =>
      (deletion ??= outsideRequest(() =>
        Promise.allSettled(objects.map((o) => this.kube.delete(o))),
      ));
    try {
      progress?.phase('deploying', { ...timings });
      const service = await this.awaitReady(project, name, objects, timings);
      progress?.phase('ready', { ...timings });
      const streamTo = progress && {
        output: cappedOutput(progress.output, this.outputLimitBytes),
        running: () => progress.phase('running', { ...timings }),
      };
      const outcome = hasFailed(service)
        ? await this.startFailure(project, name, service)
        : await this.invokeOnce(
            project,
            name,
            request.input,
            service,
            timings,
            { inputFiles: request.inputFiles ?? {} },
            streamTo,
          );
      status = outcome.status;
      const stopped =
        outcome.status === 'timeout' ? await this.stopNow(project, name, remove) : undefined;
      respond({
        id: name,
        ...this.capped(outcome),
        ...(stopped === undefined ? {} : { stopped }),
        durationMs: elapsed(started),
        timings: { ...timings },
      });
    } finally {
      const cleanupStarted = performance.now();
      const deletes = await remove();
      timings.cleanup = elapsed(cleanupStarted);
      slot.release();
      this.metrics.executed(status, timings);
      const failed = deletes.flatMap((d) => (d.status === 'rejected' ? [String(d.reason)] : []));
      if (failed.length > 0) {
        this.log('could not delete a temporary function; the janitor removes it once expired', {
          function: `${this.applications.namespaceOf(project)}/${name}`,
          errors: failed,
        });
      }
    }
  }

  /** Deploys a temporary function for repeated calls and waits until it is Ready (or failed). */
  public async deployFunction(
    caller: Caller,
    request: DeployFunctionRequest,
  ): Promise<DeployedFunction> {
    const project = projectOf(caller, request.project);
    const name = newName('fn');
    const expiresAt = Date.now() / 1000 + (request.ttlSeconds ?? DEFAULT_TTL_SECONDS);
    const timings: PhaseTimings = {};
    const { objects, slot } = await this.deploy(project, name, request, expiresAt, timings);
    let service: KnativeService;
    try {
      service = await this.awaitReady(project, name, objects, timings);
    } catch (error) {
      await Promise.all(objects.map((o) => this.kube.delete(o)));
      throw error;
    } finally {
      // Live now (or deleted): from here on the cluster counts it.
      slot.release();
    }
    const view = viewOf(project, service);
    return {
      id: name,
      project,
      name,
      url: view.url,
      ready: view.ready,
      reason: view.ready ? undefined : view.reason,
      message: view.ready ? undefined : view.message,
      expiresAt: new Date(Math.floor(expiresAt) * 1000).toISOString(),
      timings,
    };
  }

  /** Invokes a temporary function by id. @throws Problem 404 for an unknown id */
  public async invokeFunction(
    caller: Caller,
    id: string,
    input: unknown,
  ): Promise<ExecutionResult> {
    const started = performance.now();
    checkInputDepth(input, 'body');
    const { project, service } = await this.findEphemeral(caller, id);
    const timings: PhaseTimings = {};
    const outcome = hasFailed(service)
      ? await this.startFailure(project, id, service)
      : await this.invokeOnce(project, id, input, service, timings);
    return { id, ...this.capped(outcome), durationMs: elapsed(started), timings };
  }

  /**
   * Deletes a timed-out function at once and waits (at most {@link STOP_WAIT_MS}) until its pods
   * are gone: a pod is removed once its containers have stopped.
   * @returns whether they went
   */
  public async stopNow(
    project: string,
    name: string,
    remove: () => Promise<unknown>,
  ): Promise<boolean> {
    await remove();
    const deadline = Date.now() + STOP_WAIT_MS;
    for (;;) {
      const pods = await this.functions.pods(project, name).catch(() => undefined);
      if (pods?.length === 0) return true;
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The outcome with stdout, stderr and the combined output cut at the cap, and `logs`. */
  public capped(outcome: Outcome): Omit<ExecutionResult, 'id' | 'durationMs' | 'timings'> {
    const limit = this.outputLimitBytes;
    const [stdout, stderr, output] = [outcome.stdout, outcome.stderr, outcome.output].map((text) =>
      capText(text, limit),
    );
    const cut = stdout.cut || stderr.cut || output.cut;
    return {
      ...outcome,
      stdout: stdout.text,
      stderr: stderr.text,
      output: output.text,
      logs: output.text,
      ...(cut
        ? {
            truncated: {
              stdout: stdout.cut,
              stderr: stderr.cut,
              output: output.cut,
              limitBytes: limit,
            },
          }
        : {}),
    };
  }

  /** Deletes a temporary function by id. @throws Problem 404 for an unknown id */
  public async deleteFunction(caller: Caller, id: string): Promise<void> {
    const { service } = await this.findEphemeral(caller, id);
    await removeFunction(this.kube, service);
  }

  /**
   * Validates, takes a slot under the cap and applies a temporary function. Should an apply
   * fail, whatever was applied of the function is deleted before the error is thrown.
   * @throws Problem 429 when the project has its most temporary functions already
   */
  public async deploy(
    project: string,
    name: string,
    source: EphemeralSource,
    expiresAtSeconds: number,
    timings: PhaseTimings,
    /** Variables the platform sets after the definition's check (`HKS_*`). @default - none */
    platform?: PlatformEnv,
    /** Pods kept while idle: 1 for a warm instance waiting for code. @default 0 */
    minScale: 0 | 1 = 0,
  ): Promise<{ objects: KubeObject[]; slot: CapSlot }> {
    const definition = await this.checkDefinition(project, name, source, timings, minScale);
    const slot = await this.cap.reserve(project, { name, expiresAt: expiresAtSeconds });
    const deployStarted = performance.now();
    try {
      const objects = await this.applications.applyUnstored(
        definition,
        {
          [EPHEMERAL_LABEL]: 'true',
          [EXPIRES_LABEL]: String(Math.ceil(expiresAtSeconds)),
        },
        platform && ((o) => withPlatformEnv(o, platform)),
      );
      timings.deploy = elapsed(deployStarted);
      return { objects, slot };
    } catch (error) {
      const namespace = this.applications.namespaceOf(project);
      const fields = { function: `${namespace}/${name}`, error: String(error) };
      try {
        const removed = await removeObjects(this.kube, namespace, name);
        this.log('deploying a temporary function failed; deleted what was applied', {
          ...fields,
          removed,
        });
      } catch (cleanup) {
        this.log(
          'deploying a temporary function failed and so did deleting it; the janitor removes it',
          {
            ...fields,
            cleanupError: String(cleanup),
          },
        );
      } finally {
        slot.release();
      }
      throw error;
    }
  }

  /**
   * Checks a temporary function's definition as a deploy does (the definition's rules, the
   * source checker), naming the request's fields.
   * @throws Problem 400 naming a bad field
   */
  public async checkDefinition(
    project: string,
    name: string,
    source: EphemeralSource,
    timings: PhaseTimings,
    minScale: 0 | 1 = 0,
  ): Promise<Awaited<ReturnType<Applications['validate']>>> {
    const body = {
      apiVersion: API_VERSION,
      kind: 'Function',
      metadata: { name, project },
      spec: {
        runtime: source.runtime,
        ...(source.handler === undefined ? {} : { handler: source.handler }),
        ...(source.files === undefined ? { code: source.code } : { files: source.files }),
        ...(source.env === undefined ? {} : { env: source.env }),
        timeoutSeconds: source.timeoutSeconds ?? 30,
        scaling: { minScale, maxScale: 1 },
        resources: this.resources,
        // Never through the public gateway: only the API (and the cluster) calls it.
        visibility: 'cluster-local',
      },
    };
    const checkStarted = performance.now();
    const definition = await this.applications.validate(project, body).catch((error: unknown) => {
      throw asRequestProblem(error);
    });
    timings.check = elapsed(checkStarted);
    return definition;
  }

  public async awaitReady(
    project: string,
    name: string,
    objects: KubeObject[],
    timings: PhaseTimings,
  ): Promise<KnativeService> {
    const readyStarted = performance.now();
    const applied = objects.find((o) => o.apiVersion === 'serving.knative.dev/v1');
    const service = await this.knative.waitForReadiness(
      this.applications.namespaceOf(project),
      name,
      applied,
      this.readyTimeoutMs,
    );
    timings.ready = elapsed(readyStarted);
    return service;
  }

  /** The function never became ready: its reason and start-up logs, as data. */
  public async startFailure(
    project: string,
    name: string,
    service: KnativeService,
  ): Promise<Outcome> {
    const condition = readyCondition(service);
    return {
      status: 'failed',
      error: {
        type: condition?.reason ?? 'NotReady',
        message: condition?.message ?? 'The function did not become ready',
      },
      ...unseparated(await this.functions.logs(project, name, {}).catch(() => '')),
    };
  }

  public async invokeOnce(
    project: string,
    name: string,
    input: unknown,
    service: KnativeService,
    timings: PhaseTimings,
    /**
     * Execute-once: files in and out, in the runtime's files envelope; with `pod`, the call goes
     * to that pod (a warm pool's) and its logs are that pod's.
     */
    files?: { inputFiles: ExecutionFiles; session?: SessionCall; pod?: PoolPod },
    /** A streamed execute: where the output goes as it is written. @default - not streamed */
    streamTo?: Parameters<typeof invokeStreamed>[5],
  ): Promise<Outcome> {
    const invokeStarted = performance.now();
    let invocation: Invocation;
    let outputFiles: Pick<Outcome, 'outputFiles' | 'omittedFiles'> = {};
    try {
      const invokeRequest = {
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          [LOG_TAIL_HEADER]: 'tail',
        },
        platformHeaders: {
          ...(files ? { [FILES_HEADER]: 'envelope' } : {}),
          ...(files?.session ? { [SESSION_SECRET_HEADER]: files.session.secret } : {}),
        },
        body: files
          ? filesRequestBody(input, files.inputFiles, this.fileLimits, files.session?.envelope)
          : Buffer.from(JSON.stringify(input ?? null)),
        trigger: 'execute' as const,
        target: files?.pod?.target,
      };
      invocation = streamTo
        ? await invokeStreamed(this.functions, project, name, invokeRequest, service, streamTo)
        : await this.functions.invoke(project, name, invokeRequest, service);
      if (files) {
        const opened = openFilesAnswer(invocation.response, this.fileLimits);
        invocation = { ...invocation, response: opened.response };
        if (opened.output) {
          outputFiles = {
            outputFiles: opened.output.files,
            ...(opened.output.omitted.length > 0 ? { omittedFiles: opened.output.omitted } : {}),
          };
        }
      }
    } catch (error) {
      timings.invoke = elapsed(invokeStarted);
      const killed = error instanceof Problem && error.status === 502 && !isTooLarge(error);
      if (!(error instanceof Problem && error.status === 504) && !killed) throw error;
      return {
        status: killed ? 'killed' : 'timeout',
        error: { type: killed ? 'Killed' : 'Timeout', message: error.detail },
        ...unseparated(
          await (
            files?.pod
              ? this.functions.podLogs(project, [files.pod.name], {})
              : this.functions.logs(project, name, {})
          ).catch(() => ''),
        ),
      };
    }
    timings.invoke = elapsed(invokeStarted);
    const logsStarted = performance.now();
    const { logs, stack } =
      tailOf(invocation) ??
      (await this.logsOf(project, name, invocation.requestId, files?.pod && [files.pod.name]));
    timings.logs = elapsed(logsStarted);
    const outcome = outcomeOf(invocation);
    const runs = parseStreamRuns(invocation.response.headers[LOG_STREAMS_HEADER] ?? '-');
    const streams = runs && splitStreams(logs, runs);
    return {
      ...outcome,
      ...outputFiles,
      ...(outcome.error && stack ? { error: { ...outcome.error, stack } } : {}),
      ...(streams ? { output: logs, ...streams } : unseparated(logs)),
    };
  }

  /**
   * The function's output for one invocation: its pods' logs once the bootstrap's record of
   * that invocation has arrived (log shipping lags the response a little), without the
   * bootstrap's own records. The record's stack trace is returned with a failure.
   */
  private async logsOf(
    project: string,
    name: string,
    requestId: string,
    /** The function's pods, when known (a warm pool's one). @default - listed */
    known?: string[],
  ): Promise<{ logs: string; stack?: string }> {
    const deadline = Date.now() + LOG_WAIT_MS;
    let pods: string[] = known ?? [];
    for (;;) {
      // Pods are listed until there are some; after that only their logs are read.
      if (pods.length === 0) pods = await this.functions.pods(project, name).catch(() => []);
      const raw = await this.functions.podLogs(project, pods, {}).catch(() => '');
      const record = invocationRecord(raw, requestId);
      if (record || Date.now() > deadline) {
        return { logs: userLines(raw), stack: stackOf(record) };
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** A temporary function the caller may use. */
  private async findEphemeral(
    caller: Caller,
    id: string,
  ): Promise<{ project: string; service: KnativeService }> {
    const services = /^[a-z][-a-z0-9]{0,62}$/.test(id)
      ? await this.knative.listServices(
          undefined,
          `${LABELS.managedBy}=${MANAGER},${EPHEMERAL_LABEL}=true,${LABELS.app}=${id}`,
        )
      : [];
    const service = services.find((s) => {
      const project = s.metadata.labels?.[LABELS.project];
      return (
        project !== undefined && s.metadata.namespace === this.applications.namespaceOf(project)
      );
    });
    const project = service?.metadata.labels?.[LABELS.project];
    if (!service || !project) throw Problem.notFound(`No temporary function ${JSON.stringify(id)}`);
    requireProject(caller, project);
    return { project, service };
  }
}

/** A warm pool's pod an execute runs on: its name and where its runtime listens. */
export interface PoolPod {
  readonly name: string;
  readonly target: InvocationTarget;
}

/** Deletes every object of a function (Knative Service, ConfigMaps, ServiceAccount). */
export async function removeFunction(kube: Kube, service: KnativeService): Promise<string[]> {
  return removeObjects(kube, service.metadata.namespace, service.metadata.name);
}

/**
 * Deletes every object of the application `name` in `namespace`, whichever were applied.
 * @returns `Kind/name` of each
 */
export async function removeObjects(
  kube: Kube,
  namespace: string,
  name: string,
): Promise<string[]> {
  const live = await kube.listManaged(
    namespace,
    `${LABELS.managedBy}=${MANAGER},${LABELS.app}=${name}`,
  );
  await Promise.all(live.map((o) => kube.delete(o)));
  return live.map((o) => `${o.kind}/${o.metadata.name}`);
}

export function elapsed(since: number): number {
  return Math.round((performance.now() - since) * 10) / 10;
}

function newName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/**
 * The project of an operation: the one named (which the token must grant), or the token's
 * only project.
 */
export function projectOf(caller: Caller, given: string | undefined): string {
  if (given !== undefined) {
    requireProject(caller, given);
    return given;
  }
  const only = caller.projects.length === 1 && caller.projects[0] !== '*';
  if (only) return caller.projects[0];
  throw new Problem(
    400,
    'Invalid request body',
    'body.project: missing, expected the project to run in (the token grants several projects)',
    [
      {
        path: 'project',
        message: `missing, expected one of ${JSON.stringify(caller.projects)} (required when the token grants more than one project)`,
      },
    ],
  );
}

/** Definition errors name `spec.x`; the operation's body names the same field `x`. */
/** How deeply an input may nest: the Python runtime's JSON parser stops near 1000 levels. */
const MAX_INPUT_DEPTH = 512;

/**
 * Refuses an input nested deeper than {@link MAX_INPUT_DEPTH}, before anything is deployed
 * (serializing it for the function would overflow the stack). Level by level, not recursive.
 * @throws Problem 400 naming `field`
 */
export function checkInputDepth(input: unknown, field: string): void {
  const containers = (values: unknown[]) =>
    values.filter((v): v is object => v !== null && typeof v === 'object');
  let level = containers([input]);
  for (let depth = 1; level.length > 0; depth++) {
    if (depth > MAX_INPUT_DEPTH) {
      const message = `nests deeper than ${MAX_INPUT_DEPTH} levels of arrays and objects; expected at most ${MAX_INPUT_DEPTH}`;
      throw new Problem(400, 'Invalid input', `${field}: ${message}`, [{ path: field, message }]);
    }
    level = containers(level.flatMap((v) => Object.values(v)));
  }
}

export function asRequestProblem(error: unknown): unknown {
  if (!(error instanceof Problem) || error.status !== 400) return error;
  const errors: FieldError[] = error.errors.map((e) => ({
    path: e.path.replace(/^spec\./, ''),
    message: e.message,
  }));
  // What follows the field lines (compiler output, the version that checked) stays.
  const fieldLines = error.errors.map((e) => `${e.path}: ${e.message}`).join('\n');
  const rest = error.detail.startsWith(fieldLines) ? error.detail.slice(fieldLines.length) : '';
  return new Problem(
    400,
    error.title,
    errors.length ? errors.map((e) => `${e.path}: ${e.message}`).join('\n') + rest : error.detail,
    errors,
  );
}

/**
 * The invocation's output as the bootstrap sent it back (`X-Hks-Log: tail`), in the shape
 * {@link Operations.logsOf} reads from the pods; undefined when the response has none (output
 * over the bootstrap's 8 KiB limit, or a runtime without the feature).
 */
function tailOf(invocation: Invocation): { logs: string; stack?: string } | undefined {
  const encoded = invocation.response.headers[LOG_RESULT_HEADER];
  if (encoded === undefined) return undefined;
  const { output, record } = splitLogTail(encoded);
  if (record === undefined || record.requestId !== invocation.requestId) return undefined;
  return { logs: output, stack: stackOf(record) };
}

/** The stack trace of a failed invocation's record. */
function stackOf(record: BootstrapRecord | undefined): string | undefined {
  return typeof record?.error === 'object' ? record.error.stack : undefined;
}

/** Result or error of an invocation's response. */
function outcomeOf(invocation: Invocation): Pick<ExecutionResult, 'status' | 'result' | 'error'> {
  const { status, headers, body } = invocation.response;
  const text = body.toString('utf8');
  const json = /json/.test(headers['content-type'] ?? '') ? parseJson(text) : undefined;
  if (status < 400) return { status: 'succeeded', result: json ?? text };
  const reported = (json as { error?: { type?: unknown; message?: unknown } } | undefined)?.error;
  const error: ExecutionError = {
    type: typeof reported?.type === 'string' ? reported.type : `HTTP${status}`,
    message: typeof reported?.message === 'string' ? reported.message : text,
  };
  // A gateway's 502/503 without the runtime's error: the process ended before it answered.
  const died = (status === 502 || status === 503) && reported === undefined;
  return { status: status === 504 ? 'timeout' : died ? 'killed' : 'failed', error };
}

/** Output whose streams are not known: all of it counts as stdout. */
function unseparated(output: string): Output {
  return { output, stdout: output, stderr: '' };
}

/** The 502 of a response over the limit is the function's answer, not its death. */
function isTooLarge(error: Problem): boolean {
  return error.title === TOO_LARGE_TITLE;
}

/** `text` cut to at most `limitBytes` of UTF-8, at a character boundary. */
function capText(text: string, limitBytes: number): { text: string; cut: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= limitBytes) return { text, cut: false };
  let end = limitBytes;
  // Back off continuation bytes (10xxxxxx) so that no character is split.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return { text: bytes.subarray(0, end).toString('utf8'), cut: true };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
