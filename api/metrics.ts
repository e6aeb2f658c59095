import { createHash, timingSafeEqual } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AsyncMetrics } from './async-invocations/worker';
import type { KubeCall } from './kube-request-counts';
import type { Request, RequestHandler, Response } from 'express';
import type { RecorderMetrics, FinishedExecution } from './recorder';
import type { RetentionMetrics } from './retention';
import type { FunctionInvocation } from './store/invocation-store';

/** How an invocation ended. */
export type InvocationOutcome = 'success' | 'error' | 'timeout' | 'unreachable';

/** Metrics of function invocations and execute-once operations. */
export interface FunctionMetrics {
  /**
   * Starts timing one invocation; call the result with its outcome.
   * @param temporary an execute-once or deployed temporary function, counted under
   *   {@link TEMPORARY_FUNCTIONS} @default false
   */
  timeInvocation(
    project: string,
    name: string,
    temporary?: boolean,
  ): (outcome: InvocationOutcome) => void;
  /** Counts one execute-once operation and its phases (milliseconds). */
  executed(status: string, timings: Readonly<Record<string, number>>): void;
  /** Counts ephemeral functions the janitor removed. */
  expired(count: number): void;
}

/** Counts of the invocation history's records, by the OpenTelemetry FaaS conventions. */
export interface InvocationMetrics {
  /** One invocation ended, as recorded. */
  invoked(invocation: FunctionInvocation, details: InvokedDetails): void;
}

/** What the metrics know of an invocation beyond its record. */
export interface InvokedDetails {
  /** An execute-once or deployed temporary function, counted as {@link TEMPORARY_FUNCTIONS}. */
  readonly temporary: boolean;
  /** The runtime's own time in the handler, from its record. @default - the API's duration */
  readonly handlerMs?: number;
}

/** The function label of every temporary function (execute-once, deployed with a TTL). */
export const TEMPORARY_FUNCTIONS = '(temporary)';
/** The function label of functions past {@link ApiMetricsOptions.maxFunctions}. */
export const OTHER_FUNCTIONS = '(other)';

/**
 * `faas.invoke_duration`'s buckets in the OpenTelemetry FaaS metrics conventions
 * (ExplicitBucketBoundaries), seconds.
 */
export const FAAS_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** How the metrics bound their label sets. */
export interface ApiMetricsOptions {
  /**
   * Functions (project and name) that get their own series; the ones seen after them are
   * counted as {@link OTHER_FUNCTIONS} of their project, until the API restarts.
   * @default 500
   */
  readonly maxFunctions?: number;
}

/** Gives a function its label, within {@link ApiMetricsOptions.maxFunctions}. */
class FunctionLabels {
  private readonly admitted = new Set<string>();

  constructor(private readonly max: number) {}

  public of(project: string, name: string, temporary: boolean): string {
    if (temporary) return TEMPORARY_FUNCTIONS;
    const key = `${project}/${name}`;
    if (this.admitted.has(key)) return name;
    if (this.admitted.size >= this.max) return OTHER_FUNCTIONS;
    this.admitted.add(key);
    return name;
  }
}

const FAAS_LABELS = ['project', 'faas_name', 'faas_trigger'] as const;

/** The API's Prometheus metrics. */
export class ApiMetrics
  implements RecorderMetrics, FunctionMetrics, RetentionMetrics, InvocationMetrics, AsyncMetrics
{
  public readonly registry = new Registry();
  private readonly functionLabels: FunctionLabels;
  private readonly requests = new Histogram({
    name: 'hks_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  private readonly applies = new Histogram({
    name: 'hks_apply_duration_seconds',
    help: 'Time to validate, synthesize, dry-run and apply one definition',
    labelNames: ['kind', 'outcome'],
    registers: [this.registry],
  });
  private readonly kubeRequests = new Counter({
    name: 'hks_kube_requests_total',
    help: 'Requests the API made to the Kubernetes API server, by verb and resource',
    labelNames: ['verb', 'resource'],
    registers: [this.registry],
  });
  private readonly executions = new Counter({
    name: 'hks_executions_recorded_total',
    help: 'Finished CronJob executions recorded with their logs',
    labelNames: ['status'],
    registers: [this.registry],
  });
  private readonly executionsPurged = new Counter({
    name: 'hks_executions_purged_total',
    help: 'Executions removed by retention, by reason (age, count)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly executionLogsDropped = new Counter({
    name: 'hks_execution_logs_dropped_total',
    help: "Executions whose logs retention removed for the project's log budget",
    registers: [this.registry],
  });
  private readonly scheduleLag = new Histogram({
    name: 'hks_schedule_lag_seconds',
    help: "Scheduled CronJob runs: the Job's start after its scheduled time",
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  private readonly recorderLag = new Histogram({
    name: 'hks_recorder_lag_seconds',
    help: "Finished executions: from the Job's completion until its record and logs were written",
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  private readonly watchRestarts = new Counter({
    name: 'hks_job_watch_restarts_total',
    help: 'Restarts of the Job watch (410 Gone, errors, closed connections)',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  private readonly faasInvocations = new Counter({
    name: 'faas_invocations_total',
    help: 'faas.invocations: invocations the function answered below 400',
    labelNames: FAAS_LABELS,
    registers: [this.registry],
  });
  private readonly faasErrors = new Counter({
    name: 'faas_errors_total',
    help: 'faas.errors: invocations that failed (error_type: failed, too-large, unreachable, client-gone)',
    labelNames: [...FAAS_LABELS, 'error_type'],
    registers: [this.registry],
  });
  private readonly faasTimeouts = new Counter({
    name: 'faas_timeouts_total',
    help: 'faas.timeouts: invocations that did not answer within their timeout',
    labelNames: FAAS_LABELS,
    registers: [this.registry],
  });
  private readonly faasColdstarts = new Counter({
    name: 'faas_coldstarts_total',
    help: "faas.coldstarts: invocations answered by a new instance (its runtime told the handler's load time)",
    labelNames: FAAS_LABELS,
    registers: [this.registry],
  });
  private readonly faasDuration = new Histogram({
    name: 'faas_invoke_duration_seconds',
    help: "faas.invoke_duration: the runtime's time in the handler, else the API's time to the answer",
    labelNames: FAAS_LABELS,
    buckets: FAAS_DURATION_BUCKETS,
    registers: [this.registry],
  });

  /** @deprecated by faas_invocations_total, faas_errors_total and faas_timeouts_total */
  private readonly invocations = new Counter({
    name: 'hks_function_invocations_total',
    help: 'Function invocations through the API by outcome (success, error, timeout, unreachable)',
    labelNames: ['project', 'function', 'outcome'],
    registers: [this.registry],
  });
  /** @deprecated by faas_invoke_duration_seconds */
  private readonly invocationSeconds = new Histogram({
    name: 'hks_function_invocation_duration_seconds',
    help: 'Latency of function invocations through the API, including the function',
    labelNames: ['project', 'function'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly operations = new Counter({
    name: 'hks_execute_operations_total',
    help: 'Execute-once operations by status (succeeded, failed, timeout, error)',
    labelNames: ['status'],
    registers: [this.registry],
  });
  private readonly operationPhases = new Histogram({
    name: 'hks_execute_phase_duration_seconds',
    help: 'Duration of execute-once phases (deploy, ready, invoke, cleanup)',
    labelNames: ['phase'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly expiredFunctions = new Counter({
    name: 'hks_ephemeral_functions_expired_total',
    help: 'Ephemeral functions removed by the janitor after their expiry',
    registers: [this.registry],
  });
  private readonly asyncDepth = new Gauge({
    name: 'hks_async_queue_depth',
    help: 'Asynchronous invocations queued, running or waiting for a retry, by state (all replicas, refreshed every 5 s)',
    labelNames: ['state'],
    registers: [this.registry],
  });
  private readonly asyncAttempts = new Counter({
    name: 'hks_async_attempts_total',
    help: 'Attempts of asynchronous invocations this replica ended, by outcome (succeeded, retrying, dead, lost: its lease was taken over)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  constructor(options: ApiMetricsOptions = {}) {
    const maxFunctions = options.maxFunctions ?? 500;
    if (!Number.isInteger(maxFunctions) || maxFunctions < 0)
      throw new Error(
        `maxFunctions: given ${maxFunctions}, expected a whole number of functions, 0 or more`,
      );
    this.functionLabels = new FunctionLabels(maxFunctions);
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Express middleware timing every request by its route pattern ({@link labelRoute}, else the
   * app-level route's path), `unmatched` for paths no route declares: never the raw path.
   */
  public middleware(): RequestHandler {
    return (req, res, next) => {
      const end = this.requests.startTimer({ method: req.method });
      res.on('finish', () => {
        const labelled = (res.locals as { [ROUTE_LABEL]?: string })[ROUTE_LABEL];
        const route =
          labelled ??
          (req.route?.path && req.baseUrl === '' ? String(req.route.path) : 'unmatched');
        end({ route, status: String(res.statusCode) });
      });
      next();
    };
  }

  public timeApply(kind: string): (outcome: 'ok' | 'error') => void {
    const end = this.applies.startTimer({ kind });
    return (outcome) => end({ outcome });
  }

  /** Counts one request to the API server (its resources are the code's, a bounded set). */
  public kubeRequested(call: KubeCall): void {
    this.kubeRequests.inc({ verb: call.verb, resource: call.resource });
  }

  public recorded(status: string): void {
    this.executions.inc({ status });
  }

  public finished(execution: FinishedExecution, now = Date.now()): void {
    const started = Date.parse(execution.startedAt);
    const scheduled = Date.parse(execution.scheduledAt ?? '');
    if (execution.trigger === 'scheduled' && Number.isFinite(scheduled))
      this.scheduleLag.observe(Math.max(0, (started - scheduled) / 1000));
    const completed = Date.parse(execution.completedAt ?? '');
    if (Number.isFinite(completed)) this.recorderLag.observe(Math.max(0, (now - completed) / 1000));
  }

  public purged(reason: 'age' | 'count', count: number): void {
    this.executionsPurged.inc({ reason }, count);
  }

  public logsDropped(count: number): void {
    this.executionLogsDropped.inc(count);
  }

  public watchRestarted(reason: string): void {
    this.watchRestarts.inc({ reason });
  }

  public timeInvocation(
    project: string,
    name: string,
    temporary = false,
  ): (outcome: InvocationOutcome) => void {
    const started = performance.now();
    const label = this.functionLabels.of(project, name, temporary);
    return (outcome) => {
      this.invocations.inc({ project, function: label, outcome });
      this.invocationSeconds.observe(
        { project, function: label },
        (performance.now() - started) / 1000,
      );
    };
  }

  public invoked(invocation: FunctionInvocation, details: InvokedDetails): void {
    const labels = {
      project: invocation.project,
      faas_name: this.functionLabels.of(invocation.project, invocation.function, details.temporary),
      faas_trigger: invocation.trigger,
    };
    const { status } = invocation;
    if (status === 'succeeded') this.faasInvocations.inc(labels);
    else if (status === 'timeout') this.faasTimeouts.inc(labels);
    else this.faasErrors.inc({ ...labels, error_type: status });
    this.faasDuration.observe(labels, (details.handlerMs ?? invocation.durationMs) / 1000);
    if (invocation.initMs !== undefined) this.faasColdstarts.inc(labels);
  }

  public executed(status: string, timings: Readonly<Record<string, number>>): void {
    this.operations.inc({ status });
    for (const [phase, ms] of Object.entries(timings))
      this.operationPhases.observe({ phase }, ms / 1000);
  }

  public expired(count: number): void {
    this.expiredFunctions.inc(count);
  }

  public asyncAttempt(outcome: 'succeeded' | 'retrying' | 'dead' | 'lost'): void {
    this.asyncAttempts.inc({ outcome });
  }

  public asyncQueueDepth(counts: Readonly<Record<string, number>>): void {
    for (const state of ['queued', 'running', 'failed-retrying'])
      this.asyncDepth.set({ state }, counts[state] ?? 0);
  }
}

/** Where a request's route label is kept (`res.locals`). */
const ROUTE_LABEL = 'hksRoute';

/**
 * Middleware naming the route a request matched, e.g. `/api/v1/projects/:project/functions`,
 * as the `route` label of its metrics; set when the path matches, before authentication or
 * validation can fail, so that every outcome of a route has the same label.
 */
export function labelRoute(pattern: string): RequestHandler {
  return (_req, res, next) => {
    (res.locals as { [ROUTE_LABEL]?: string })[ROUTE_LABEL] = pattern;
    next();
  };
}

/**
 * The route template of a finished request as the metrics label it ({@link labelRoute}, else
 * the app-level route's path), `unmatched` for paths no route declares: never the raw path.
 */
export function routeTemplateOf(req: Request, res: Response): string {
  const labelled = (res.locals as { [ROUTE_LABEL]?: string })[ROUTE_LABEL];
  return labelled ?? (req.route?.path && req.baseUrl === '' ? String(req.route.path) : 'unmatched');
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * `GET /metrics`: the registry in Prometheus text format, for `Authorization: Bearer <token>`
 * only. Its labels name every project's functions, so it is for the operator's scraper, not
 * for every pod that can reach the API: without a token it is not served (404), a missing or
 * wrong bearer is a 401.
 * @param token `HKS_METRICS_TOKEN` @default - not served
 */
export function metricsEndpoint(registry: Registry, token?: string): RequestHandler {
  const expected = token === undefined ? undefined : digest(token);
  return async (req, res) => {
    const problem = (status: number, title: string, detail: string) =>
      res
        .status(status)
        .type('application/problem+json')
        .json({
          type: `https://hks.hexabase.io/problems/${status === 401 ? 'unauthorized' : 'not-found'}`,
          title,
          status,
          detail,
        });
    if (expected === undefined) {
      problem(404, 'Not found', 'Metrics are not served: HKS_METRICS_TOKEN is not set');
      return;
    }
    const given = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
    // Digests of equal length: the comparison takes the same time whatever was sent.
    if (!timingSafeEqual(digest(given), expected)) {
      res.setHeader('www-authenticate', 'Bearer realm="metrics"');
      problem(401, 'Unauthorized', 'GET /metrics needs Authorization: Bearer <HKS_METRICS_TOKEN>');
      return;
    }
    res.type(registry.contentType).send(await registry.metrics());
  };
}
