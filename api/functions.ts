import { randomUUID } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import {
  FunctionDefinition,
  FunctionRuntimeName,
  LABELS,
  MANAGER,
  SourceRuntimeName,
} from '../constructs';
import { Applications } from './applications';
import { STREAM_HEADER } from './execute-stream';
import {
  forward,
  ForwardedRequest,
  forwardIncremental,
  forwardStreaming,
  IncrementalFunctionResponse,
  FunctionResponse,
  InvocationTarget,
  StreamedFunctionResponse,
  TOO_LARGE_TITLE,
} from './function-proxy';
import { InvocationRecorder, RecordingInvocation } from './invocation-recorder';
import { invocationTarget, InvocationRouting } from './invocation-target';
import { requestHeadersForFunction } from './invoke-headers';
import {
  KnativeApi,
  KnativeRevision,
  KnativeService,
  KnativeTrafficTarget,
  readyCondition,
  SERVICE_LABEL,
} from './knative';
import { Kube, LogLimits } from './kube';
import { DEFAULT_LIMITS } from './limits';
import { FunctionMetrics, InvocationOutcome } from './metrics';
import { Problem } from './problem';
import type { InvocationTrigger } from './store/invocation-store';
import { tracedTransport } from './tracing-invoke';
import { requestedResources } from './usage/requested-resources';
import { LOG_TAIL_HEADER } from '../runtimes/log-records';

/** Label of ephemeral (execute-once, deploy-function) functions. */
export const EPHEMERAL_LABEL = 'hks.hexabase.io/ephemeral';
/** Label holding when an ephemeral function expires, in seconds since the epoch. */
export const EXPIRES_LABEL = 'hks.hexabase.io/expires-at';

/** The container of a function's pods that runs the user's code. */
const FUNCTION_CONTAINER = 'function';

/** One traffic target of a Function. */
export interface TrafficView {
  readonly revision?: string;
  readonly latestRevision: boolean;
  readonly tag?: string;
  readonly percent: number;
  readonly url?: string;
}

/** A Function as Knative serves it: its Knative Service's status in the platform's words. */
export interface FunctionView {
  readonly name: string;
  readonly project: string;
  readonly runtime: FunctionRuntimeName;
  readonly ready: boolean;
  /** Its current version failed to start (Ready False): waiting longer will not help. */
  readonly failed: boolean;
  /** Why it is not ready (Knative's condition reason). */
  readonly reason?: string;
  readonly message?: string;
  readonly url?: string;
  readonly address?: string;
  readonly latestCreatedRevision?: string;
  readonly latestReadyRevision?: string;
  readonly traffic: TrafficView[];
  readonly timeoutSeconds: number;
  /** A temporary function of the internal API (`deploy-function`). */
  readonly ephemeral: boolean;
  readonly expiresAt?: string;
  /** When its Knative Service was created. */
  readonly createdAt?: string;
}

/** One revision of a Function. */
export interface RevisionView {
  readonly name: string;
  /** The Service generation it was created for. */
  readonly generation?: number;
  readonly ready: boolean;
  readonly reason?: string;
  readonly message?: string;
  readonly createdAt?: string;
  /** Share of the traffic it gets. */
  readonly percent: number;
  readonly tags: string[];
}

/** One traffic target to set. The percentages of all targets add up to 100. */
export interface TrafficRequest {
  /** A revision name; or `latestRevision: true`. @default - none */
  readonly revision?: string;
  /** Follow the latest ready revision. @default false */
  readonly latestRevision?: boolean;
  /** Tag for addressing the target directly (`Knative-Serving-Tag` header). @default - none */
  readonly tag?: string;
  /** 0 to 100. */
  readonly percent: number;
}

/** The result of one invocation. */
export interface Invocation<R = FunctionResponse> {
  /** The invocation's id in the history: the `X-Request-Id` the function was sent. */
  readonly requestId: string;
  readonly response: R;
  readonly durationMs: number;
}

/** What is sent to a function by {@link Functions.invoke}. */
export interface InvokeRequest {
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
  /** A traffic tag. @default - the function's traffic split */
  readonly tag?: string;
  /** What made the call, as the invocation history records it. @default "http" */
  readonly trigger?: InvocationTrigger;
  /** The invocation's id (an asynchronous invocation's attempt). @default - a new UUID */
  readonly requestId?: string;
  /**
   * A timer's `faas.cron` and `faas.time`: recorded in the history and sent to the function as
   * {@link TIMER_HEADERS}. @default - none: not a timer
   */
  readonly timer?: { readonly cron: string; readonly scheduledTime: string };
  /**
   * Headers of the platform's own protocol with the runtime (`x-hks-stream`, `x-hks-files`,
   * `x-hks-session-secret`), added after `headers` are filtered: a caller's request never
   * carries them through. @default - none
   */
  readonly platformHeaders?: Readonly<Record<string, string>>;
  /**
   * Where the request goes instead of the function's Knative address: a warm pool's pod, whose
   * IP the API read from the pod it claimed (never from a request). @default - the function's
   */
  readonly target?: InvocationTarget;
}

/** Request headers that carry a timer invocation's OpenTelemetry FaaS attributes to the function. */
export const TIMER_HEADERS = {
  trigger: 'x-hks-faas-trigger',
  cron: 'x-hks-faas-cron',
  time: 'x-hks-faas-time',
} as const;

/** A streamed invocation, whose caller says how passing its answer on ended. */
export interface StreamedInvocation extends Invocation<StreamedFunctionResponse> {
  /** Records the invocation once its answer was passed on, or failed to be. */
  readonly ended: RecordingInvocation['end'];
}

/** Longest client `X-Request-Id` kept in the history; a longer one is not kept. */
export const MAX_CLIENT_REQUEST_ID_LENGTH = 200;

// Commands of the source runtimes' containers, for functions that have no stored definition.
const RUNTIME_OF_PROGRAM: Readonly<Record<string, SourceRuntimeName>> = {
  python3: 'python3.12',
  node: 'nodejs20',
};

/**
 * Functions of a project: their Knative Services, revisions, traffic, logs and invocation.
 * Deploying is applying a `kind: Function` definition ({@link Applications}).
 */
export class Functions {
  constructor(
    private readonly applications: Applications,
    private readonly knative: KnativeApi,
    private readonly kube: Kube,
    private readonly metrics: FunctionMetrics,
    /** Where invocations go and which status addresses are accepted. @default - cluster-local */
    private readonly routing: InvocationRouting = {},
    /** Largest function response taken (`HKS_FUNCTION_RESPONSE_LIMIT_BYTES`). @default 6291456 */
    private readonly responseLimitBytes = DEFAULT_LIMITS.functionResponseLimitBytes,
    /** Where invocations are recorded. @default - not recorded */
    private readonly recorder?: InvocationRecorder,
  ) {}

  /** Every function of a project, stored or ephemeral. */
  public async list(project: string): Promise<FunctionView[]> {
    const [services, stored] = await Promise.all([
      this.knative.listServices(
        this.applications.namespaceOf(project),
        `${LABELS.managedBy}=${MANAGER},${LABELS.kind}=Function`,
      ),
      this.applications.store.listApplications(project),
    ]);
    const definitions = new Map(
      stored
        .filter((a) => a.definition.kind === 'Function')
        .map((a) => [a.name, a.definition as FunctionDefinition]),
    );
    return services
      .map((s) => viewOf(project, s, definitions.get(s.metadata.name)))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One function. @throws Problem 404 when the project has no such function */
  public async get(project: string, name: string): Promise<FunctionView> {
    const { service, definition } = await this.find(project, name);
    return viewOf(project, service, definition);
  }

  /** The function's Knative Service and stored definition (none for ephemeral functions). */
  public async find(
    project: string,
    name: string,
  ): Promise<{ service: KnativeService; definition?: FunctionDefinition }> {
    const [service, stored] = await Promise.all([
      this.knative.getService(this.applications.namespaceOf(project), name),
      this.applications.store.getApplication(project, name),
    ]);
    const isFunction = service?.metadata.labels?.[LABELS.kind] === 'Function';
    if (!service || !isFunction) {
      throw Problem.notFound(
        stored && stored.definition.kind !== 'Function'
          ? `Application ${JSON.stringify(name)} in project ${JSON.stringify(project)} is a ${stored.definition.kind}, not a Function`
          : `No function ${JSON.stringify(name)} in project ${JSON.stringify(project)}${stored ? ' (its definition is stored but its Knative Service is missing: is Knative installed?)' : ''}`,
      );
    }
    return {
      service,
      definition:
        stored?.definition.kind === 'Function'
          ? (stored.definition as FunctionDefinition)
          : undefined,
    };
  }

  /**
   * POSTs a request to a function through the gateway (or its cluster-local address). Only
   * {@link requestHeadersForFunction} of `headers` are sent; `knative-serving-tag` only for `tag`.
   * @throws Problem 503 when it is not ready, 404 for an unknown tag, 504 past its timeout, 502
   *   when its status names an address other than its own ({@link invocationTarget}) or its
   *   response is larger than `HKS_FUNCTION_RESPONSE_LIMIT_BYTES`
   */
  public async invoke(
    project: string,
    name: string,
    request: InvokeRequest,
    service?: KnativeService,
  ): Promise<Invocation> {
    const { ended, ...invocation } = await this.send(project, name, request, service, forward);
    ended({ responseBytes: invocation.response.body.length });
    return invocation;
  }

  /**
   * Like {@link invoke}, with the response's body streamed: held in memory only when the
   * function does not declare its length, and then at most the response limit.
   * @throws Problem as {@link invoke} does, and 502 for a response above the limit
   */
  public async invokeStreaming(
    project: string,
    name: string,
    request: InvokeRequest,
  ): Promise<StreamedInvocation> {
    return this.send(project, name, request, undefined, forwardStreaming);
  }

  /**
   * Like {@link invoke}, with the response's body passed on chunk by chunk as it arrives (a
   * runtime's streamed output); the caller says how passing it on ended.
   * @throws Problem as {@link invoke} does; the body errors with one past its limit or timeout
   */
  public async invokeIncremental(
    project: string,
    name: string,
    request: InvokeRequest,
    service?: KnativeService,
  ): Promise<Invocation<IncrementalFunctionResponse> & Pick<StreamedInvocation, 'ended'>> {
    return this.send(project, name, request, service, forwardIncremental);
  }

  private async send<R extends { status: number; headers: Readonly<Record<string, string>> }>(
    project: string,
    name: string,
    request: InvokeRequest,
    service: KnativeService | undefined,
    transport: (target: InvocationTarget, forwarded: ForwardedRequest) => Promise<R>,
  ): Promise<Invocation<R> & { ended: RecordingInvocation['end'] }> {
    const found = service ?? (await this.find(project, name)).service;
    const target = request.target ?? this.targetOf(project, found);
    const timeoutSeconds = found.spec?.template?.spec?.timeoutSeconds ?? 30;
    if (request.tag !== undefined && !found.status?.traffic?.some((t) => t.tag === request.tag)) {
      throw Problem.notFound(
        `Function ${JSON.stringify(name)} has no traffic target tagged ${JSON.stringify(request.tag)} (tags: ${JSON.stringify((found.status?.traffic ?? []).flatMap((t) => (t.tag ? [t.tag] : [])))})`,
      );
    }
    // The API's own id, unique whatever the client sends; the client's is kept beside it.
    const requestId = request.requestId ?? randomUUID();
    const clientRequestId = request.headers['x-request-id'];
    const temporary = found.metadata.labels?.[EPHEMERAL_LABEL] === 'true';
    const recording = this.recorder?.start({
      id: requestId,
      project,
      function: name,
      trigger: request.trigger ?? 'http',
      tag: request.tag,
      clientRequestId:
        clientRequestId && clientRequestId.length <= MAX_CLIENT_REQUEST_ID_LENGTH
          ? clientRequestId
          : undefined,
      revision: servingRevision(found, request.tag),
      requestBytes: request.body?.length ?? 0,
      temporary,
      cron: request.timer?.cron,
      scheduledTime: request.timer?.scheduledTime,
      // Usage counts what the pods requested at the time of the call.
      ...requestedResources(found.spec?.template?.spec),
    });
    const askedForLogs = request.headers[LOG_TAIL_HEADER]?.toLowerCase() === 'tail';
    const started = performance.now();
    const done = this.metrics.timeInvocation(project, name, temporary);
    try {
      const traced = tracedTransport(
        {
          project,
          name,
          invocationId: requestId,
          trigger: request.trigger ?? 'http',
          timer: request.timer,
        },
        transport,
      );
      const answer = await traced(target, {
        method: 'POST',
        path: '/',
        headers: {
          ...requestHeadersForFunction(request.headers),
          ...request.platformHeaders,
          'x-request-id': requestId,
          ...timerHeaders(request.timer),
          // The history keeps every invocation's own output: the runtime returns it.
          ...(recording ? { [LOG_TAIL_HEADER]: 'tail' } : {}),
          ...(request.tag === undefined ? {} : { 'knative-serving-tag': request.tag }),
        },
        body: request.body,
        // The function answers 504 itself at its timeout; the margin covers the network.
        timeoutMs: (timeoutSeconds + 5) * 1000,
        limitBytes: this.responseLimitBytes,
      });
      // A runtime's streamed answer (NDJSON) has its status in its last record, which its
      // reader passes to `ended`: counted then.
      const streamed = answer.headers[STREAM_HEADER] === 'ndjson';
      if (!streamed) done(statusOutcome(answer.status));
      recording?.answered(answer.status, answer.headers);
      // The log tail's headers (x-hks-log-result and its companions) only for a caller who asked.
      const response = askedForLogs
        ? answer
        : { ...answer, headers: withoutLogTail(answer.headers) };
      return {
        requestId,
        response,
        durationMs: performance.now() - started,
        ended: (end = {}) => {
          if (streamed) {
            const status = end.answer?.status ?? answer.status;
            done(end.error === undefined ? statusOutcome(status) : failureOutcome(end.error));
          }
          recording?.end(end);
        },
      };
    } catch (error) {
      done(failureOutcome(error));
      recording?.end({ error });
      throw error;
    }
  }

  /** Where requests to a function go. @throws Problem 503 when it is not ready */
  private targetOf(project: string, service: KnativeService): InvocationTarget {
    const ready = readyCondition(service);
    const url = service.status?.url;
    const address = service.status?.address?.url ?? url;
    if (ready?.status !== 'True' || !address || !url) {
      throw new Problem(
        503,
        'Function not ready',
        `Function ${JSON.stringify(service.metadata.name)} in project ${JSON.stringify(project)} is not ready${ready ? ` (Ready ${ready.status}${ready.reason ? `: ${ready.reason}` : ''}${ready.message ? ` — ${ready.message}` : ''})` : ' (no status yet: is the Knative controller running?)'}`,
      );
    }
    return invocationTarget(
      {
        name: service.metadata.name,
        namespace: this.applications.namespaceOf(project),
        url,
        address,
      },
      this.routing,
    );
  }

  /** The logs of a function's pods, oldest pod first. */
  public async logs(project: string, name: string, limits: LogLimits): Promise<string> {
    await this.find(project, name);
    return this.podLogs(project, await this.pods(project, name), limits);
  }

  /** The logs of the given pods of a function, in that order. */
  public async podLogs(
    project: string,
    pods: readonly string[],
    limits: LogLimits,
  ): Promise<string> {
    const namespace = this.applications.namespaceOf(project);
    const logs = await Promise.all(
      pods.map((pod) =>
        this.kube
          .containerLog(namespace, pod, FUNCTION_CONTAINER, limits)
          // A pod that is gone or not started has no log yet.
          .catch((error: unknown) => {
            if (error instanceof Problem && (error.status === 404 || error.status === 422))
              return '';
            throw error;
          }),
      ),
    );
    return logs.join('');
  }

  /** Streams the logs of a function's pods into `out` until they end or `signal` aborts. */
  public async followLogs(
    project: string,
    name: string,
    limits: Omit<LogLimits, 'limitBytes'>,
    out: Writable,
    signal: AbortSignal,
  ): Promise<void> {
    const namespace = this.applications.namespaceOf(project);
    await this.find(project, name);
    const pods = await this.pods(project, name);
    await Promise.all(
      pods.map(async (pod) => {
        const stream = new PassThrough();
        stream.pipe(out, { end: false });
        await this.kube.followLog(namespace, pod, FUNCTION_CONTAINER, stream, limits, signal);
      }),
    );
  }

  /** Names of a function's pods, oldest first. */
  public async pods(project: string, name: string): Promise<string[]> {
    const pods = await this.kube.listPods(
      this.applications.namespaceOf(project),
      `${SERVICE_LABEL}=${name}`,
    );
    const created = (p: (typeof pods)[number]) => p.metadata?.creationTimestamp?.getTime() ?? 0;
    return pods
      .sort((a, b) => created(a) - created(b))
      .flatMap((p) => (p.metadata?.name ? [p.metadata.name] : []));
  }

  /** The revisions of a function, oldest first, with their share of traffic. */
  public async revisions(project: string, name: string): Promise<RevisionView[]> {
    const { service } = await this.find(project, name);
    const revisions = await this.knative.listRevisions(
      this.applications.namespaceOf(project),
      name,
    );
    return revisions.map((r) => revisionView(r, service));
  }

  /**
   * Splits traffic between revisions (blue-green, canary) and waits until the controller has
   * taken it over (at most `waitMs`).
   * @throws Problem 400 when percentages do not sum to 100, a revision is unknown or a tag repeats
   */
  public async setTraffic(
    project: string,
    name: string,
    traffic: readonly TrafficRequest[],
    waitMs: number,
  ): Promise<FunctionView> {
    const { definition } = await this.find(project, name);
    const namespace = this.applications.namespaceOf(project);
    const known = new Set(
      (await this.knative.listRevisions(namespace, name)).map((r) => r.metadata.name),
    );
    const errors = checkTraffic(traffic, known);
    if (errors.length > 0) {
      throw new Problem(
        400,
        'Invalid traffic split',
        errors.map((e) => `${e.path}: ${e.message}`).join('; '),
        errors,
      );
    }
    const applied = await this.knative.applyTraffic(
      namespace,
      name,
      traffic.map((t) => ({
        ...(t.revision === undefined
          ? { latestRevision: true }
          : { revisionName: t.revision, latestRevision: false }),
        ...(t.tag === undefined ? {} : { tag: t.tag }),
        percent: t.percent,
      })),
    );
    let service = applied;
    try {
      service = await this.knative.waitForReadiness(namespace, name, applied, waitMs);
    } catch (error) {
      if (!(error instanceof Problem && error.status === 504)) throw error;
    }
    return viewOf(project, service, definition);
  }
}

/** A timer's FaaS attributes as request headers; none for other triggers. */
function timerHeaders(timer: InvokeRequest['timer']): Record<string, string> {
  if (timer === undefined) return {};
  return {
    [TIMER_HEADERS.trigger]: 'timer',
    [TIMER_HEADERS.cron]: timer.cron,
    [TIMER_HEADERS.time]: timer.scheduledTime,
  };
}

/** Response headers without those of the log tail (`x-hks-log-…`). */
function withoutLogTail(headers: Readonly<Record<string, string>>): Record<string, string> {
  const tailPrefix = `${LOG_TAIL_HEADER}-`;
  return Object.fromEntries(Object.entries(headers).filter(([n]) => !n.startsWith(tailPrefix)));
}

/**
 * The revision an invocation goes to when the traffic leaves one choice: the tag's, or the one
 * revision all traffic goes to. Undefined while the traffic is split.
 */
function servingRevision(service: KnativeService, tag?: string): string | undefined {
  const targets = (service.status?.traffic ?? []).filter((t) =>
    tag === undefined ? (t.percent ?? 0) > 0 : t.tag === tag,
  );
  const revisions = new Set(targets.map((t) => t.revisionName));
  const [only] = revisions;
  return revisions.size === 1 ? only : undefined;
}

/** How an answered invocation counts, by the function's status (504: it timed out itself). */
function statusOutcome(status: number): InvocationOutcome {
  return status < 400 ? 'success' : status === 504 ? 'timeout' : 'error';
}

/** How a failed invocation counts: past its timeout, answered too much, or not reached. */
function failureOutcome(error: unknown): InvocationOutcome {
  if (!(error instanceof Problem)) return 'unreachable';
  if (error.status === 504) return 'timeout';
  return error.title === TOO_LARGE_TITLE ? 'error' : 'unreachable';
}

/** Problems of a traffic split: unknown revisions, repeated tags, a sum other than 100. */
export function checkTraffic(
  traffic: readonly TrafficRequest[],
  revisions: ReadonlySet<string>,
): { path: string; message: string }[] {
  const errors: { path: string; message: string }[] = [];
  const tags = new Set<string>();
  traffic.forEach((t, i) => {
    const hasRevision = t.revision !== undefined;
    if (hasRevision === (t.latestRevision === true)) {
      errors.push({
        path: `traffic[${i}]`,
        message: `given ${hasRevision ? 'both revision and latestRevision: true' : 'neither revision nor latestRevision: true'}, expected exactly one of them`,
      });
    }
    if (t.revision !== undefined && !revisions.has(t.revision)) {
      errors.push({
        path: `traffic[${i}].revision`,
        message: `given ${JSON.stringify(t.revision)}, expected one of the function's revisions: ${JSON.stringify([...revisions])}`,
      });
    }
    if (t.tag !== undefined) {
      if (tags.has(t.tag))
        errors.push({
          path: `traffic[${i}].tag`,
          message: `given ${JSON.stringify(t.tag)} twice, expected each tag once`,
        });
      tags.add(t.tag);
    }
  });
  const sum = traffic.reduce((total, t) => total + t.percent, 0);
  if (sum !== 100)
    errors.push({
      path: 'traffic',
      message: `given percentages summing to ${sum}, expected 100`,
    });
  return errors;
}

function runtimeOf(service: KnativeService, definition?: FunctionDefinition): FunctionRuntimeName {
  if (definition) return definition.spec.runtime;
  const program = service.spec?.template?.spec?.containers?.[0]?.command?.[0];
  return (program === undefined ? undefined : RUNTIME_OF_PROGRAM[program]) ?? 'image';
}

function trafficView(t: KnativeTrafficTarget): TrafficView {
  return {
    revision: t.revisionName,
    latestRevision: t.latestRevision === true,
    tag: t.tag,
    percent: t.percent ?? 0,
    url: t.url,
  };
}

/** The view of a function from its Knative Service (and definition, when stored). */
export function viewOf(
  project: string,
  service: KnativeService,
  definition?: FunctionDefinition,
): FunctionView {
  const ready = readyCondition(service);
  const labels = service.metadata.labels ?? {};
  const expires = Number(labels[EXPIRES_LABEL]);
  const current = service.status?.observedGeneration === service.metadata.generation;
  return {
    name: service.metadata.name,
    project,
    runtime: runtimeOf(service, definition),
    ready: current && ready?.status === 'True',
    failed: current && ready?.status === 'False',
    reason: ready?.reason ?? (ready ? undefined : 'NoStatus'),
    message:
      ready?.message ??
      (ready ? undefined : 'The Knative controller has not reported on this function yet'),
    url: service.status?.url,
    address: service.status?.address?.url,
    latestCreatedRevision: service.status?.latestCreatedRevisionName,
    latestReadyRevision: service.status?.latestReadyRevisionName,
    traffic: (service.status?.traffic ?? []).map(trafficView),
    timeoutSeconds: service.spec?.template?.spec?.timeoutSeconds ?? 30,
    ephemeral: labels[EPHEMERAL_LABEL] === 'true',
    expiresAt: Number.isFinite(expires) ? new Date(expires * 1000).toISOString() : undefined,
    createdAt: service.metadata.creationTimestamp
      ? new Date(service.metadata.creationTimestamp).toISOString()
      : undefined,
  };
}

function revisionView(revision: KnativeRevision, service: KnativeService): RevisionView {
  const name = revision.metadata.name;
  const latestReady = service.status?.latestReadyRevisionName;
  const targets = (service.status?.traffic ?? []).filter(
    (t) => t.revisionName === name || (t.latestRevision && latestReady === name),
  );
  const ready = readyCondition(revision);
  const generation = Number(
    revision.metadata.labels?.['serving.knative.dev/configurationGeneration'],
  );
  return {
    name,
    generation: Number.isFinite(generation) ? generation : undefined,
    ready: ready?.status === 'True',
    reason: ready?.reason,
    message: ready?.message,
    createdAt: revision.metadata.creationTimestamp
      ? new Date(revision.metadata.creationTimestamp).toISOString()
      : undefined,
    percent: targets.reduce((sum, t) => sum + (t.percent ?? 0), 0),
    tags: targets.flatMap((t) => (t.tag ? [t.tag] : [])),
  };
}
