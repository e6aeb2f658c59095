import express, { Express, NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { PlatformSettings } from '../constructs';
import { MCP_PATH, mcpRouter } from '../mcp/http-mount';
import { agentRoutes } from './agent-routes';
import type { AsyncInvocations } from './async-invocations';
import { Applications } from './applications';
import { AgentAudit } from './agent-audit';
import { authenticate, authorizeProject, authorizeRoles, TokenFamily, TokenVerifier } from './auth';
import { bodyParser, BodyRule } from './body-parsing';
import { definitionRunner } from './definition-worker-pool';
import { SourceChecker } from './check-source';
import { Functions } from './functions';
import type { EventTriggers } from './event-triggers';
import { FunctionSchedules } from './function-schedules/function-schedules';
import type { ScheduleLeadership } from './function-schedules/schedule-leadership';
import { InvocationRecorder } from './invocation-recorder';
import { InvocationRouting } from './invocation-target';
import { KnativeApi } from './knative';
import { Kube } from './kube';
import { NamespaceAccess } from './namespace-access';
import { DEFAULT_LIMITS, ApiLimits } from './limits';
import { processLog } from './logger';
import { ApiMetrics, labelRoute, metricsEndpoint } from './metrics';
import { requestLogging } from './request-log';
import { openApiDocument, RouteGroup } from './openapi';
import { DEFAULT_EXECUTE_OUTPUT_LIMIT_BYTES, EphemeralSafety, Operations } from './operations';
import { validatePathParams } from './path-params';
import { Problem, problemHandler, sendProblem } from './problem';
import { clientGoneSignal, withRequestSignal } from './request-signal';
import { agentExecutionRoutes } from './routes/agent-executions';
import { asyncInvocationRoutes } from './routes/async-invocations';
import { applicationRoutes } from './routes/applications';
import { consoleRouter } from './routes/console';
import { cronJobRoutes } from './routes/cronjobs';
import { functionInvocationRoutes } from './routes/function-invocations';
import { functionRoutes } from './routes/functions';
import { functionScheduleRoutes } from './routes/function-schedules';
import { operationRoutes } from './routes/operations';
import { sessionRoutes } from './routes/sessions';
import { AgentSessions, DEFAULT_SESSION_MAX_IDLE_SECONDS } from './agent-sessions';
import { WarmPool, WarmPoolHandle } from './warm-pool';
import { DeploymentPool } from './warm-pool-deployment';
import { DEFAULT_FILE_LIMITS } from './execution-files';
import { scheduleRoutes } from './routes/schedules';
import { Route } from './routes/route';
import { usageRoutes } from './routes/usage';
import { DEFAULT_PRICE_TABLE, PriceTable } from './usage/price-table';
import { InvocationStore } from './store/invocation-store';
import { Store } from './store/store';

/** What the HTTP server needs. */
export interface ServerDependencies {
  readonly store: Store;
  readonly kube: Kube;
  readonly knative: KnativeApi;
  readonly verify: TokenVerifier;
  readonly metrics: ApiMetrics;
  readonly namespacePrefix: string;
  readonly version: string;
  /** `aud` user tokens must carry. @default - not checked */
  readonly userAudience?: string;
  /** Gateway for function invocations. @default - each function's cluster-local address */
  readonly functionGateway?: URL;
  /** Cluster domain and stand-in hosts accepted in functions' status. @default - cluster.local only */
  readonly functionAddresses?: Omit<InvocationRouting, 'gateway'>;
  /** Bearer token `/metrics` requires. @default - `/metrics` is not served */
  readonly metricsToken?: string;
  /** How long execute-once waits for Ready. */
  readonly readyTimeoutMs: number;
  /** Seconds an execute-once function outlives its limits before the janitor removes it. */
  readonly ephemeralGraceSeconds: number;
  /** Limits and per-project cap of temporary functions. @default - their defaults */
  readonly ephemeralSafety?: EphemeralSafety;
  /** Where the API's own log lines go. */
  readonly log: (msg: string, fields?: Record<string, unknown>) => void;
  /** The Python that syntax-checks python sources. */
  readonly python: string;
  /** Gives the API its rights in each project namespace. @default - no RoleBinding created */
  readonly namespaceAccess?: NamespaceAccess;
  /** Body and response sizes. @default DEFAULT_LIMITS */
  readonly limits?: ApiLimits;
  /** Longest idle timeout of an agent session (`HKS_SESSION_MAX_IDLE_SECONDS`). @default 3600 */
  readonly sessionMaxIdleSeconds?: number;
  /**
   * Seconds between this replica's sweeps of idle agent sessions (`HKS_SESSION_SWEEP_SECONDS`).
   * @default 0 - no sweep: an idle session ends at its next call or by the janitor
   */
  readonly sessionSweepSeconds?: number;
  /** Where the leader's scheduler finds the functions' schedules. @default - schedules are not run */
  readonly schedules?: ScheduleLeadership;
  /** The queue of asynchronous invocations. @default - the invoke route answers synchronously only */
  readonly asyncInvocations?: AsyncInvocations;
  /** Runs functions' NATS triggers and checks them at apply. @default - definitions with triggers are applied unchecked and nothing runs them */
  readonly eventTriggers?: EventTriggers;
  /** Warm pools for execute-once (`HKS_WARM_POOL_*`). @default - none: every execute deploys */
  readonly warmPool?: WarmPoolHandle;
  /** The prices of usage (`HKS_PRICE_TABLE`). @default DEFAULT_PRICE_TABLE: usage costs nothing */
  readonly priceTable?: PriceTable;
  /** The operator's tenancy and runtime images (`HKS_PLATFORM_SETTINGS`). @default - the defaults */
  readonly platformSettings?: PlatformSettings;
}

/** How long `/readyz` waits for each dependency before it answers 503. */
export const READY_CHECK_TIMEOUT_MS = 1500;

/** Every route, by base path: registration and OpenAPI come from these tables. */
export function routeGroups(deps: ServerDependencies): RouteGroup[] {
  const applications = new Applications(
    deps.store,
    deps.kube,
    deps.namespacePrefix,
    new SourceChecker(deps.python),
    deps.namespaceAccess,
    undefined,
    definitionRunner({ workers: (deps.limits ?? DEFAULT_LIMITS).definitionWorkers }),
    deps.platformSettings,
  );
  const invocations = new InvocationStore(deps.store.knex);
  const functions = new Functions(
    applications,
    deps.knative,
    deps.kube,
    deps.metrics,
    { ...deps.functionAddresses, gateway: deps.functionGateway },
    (deps.limits ?? DEFAULT_LIMITS).functionResponseLimitBytes,
    new InvocationRecorder(invocations, deps.log, deps.metrics),
  );
  const operations = new Operations(
    applications,
    functions,
    deps.knative,
    deps.kube,
    deps.metrics,
    deps.readyTimeoutMs,
    deps.ephemeralGraceSeconds,
    deps.log,
    deps.ephemeralSafety,
  );
  if (deps.warmPool && deps.warmPool.settings.sizes.size > 0) {
    const { settings } = deps.warmPool;
    const common = {
      operations,
      kube: deps.kube,
      metrics: deps.metrics,
      registry: deps.metrics.registry,
      graceSeconds: deps.ephemeralGraceSeconds,
      outputLimitBytes:
        deps.ephemeralSafety?.outputLimitBytes ?? DEFAULT_EXECUTE_OUTPUT_LIMIT_BYTES,
      log: deps.log,
    };
    const pool =
      settings.mode === 'deployment' && settings.key !== undefined
        ? new DeploymentPool(
            { ...settings, key: settings.key },
            {
              ...common,
              applications,
              apiNamespace: deps.namespaceAccess?.identity?.namespace,
            },
          )
        : new WarmPool(settings, {
            ...common,
            namespaceOf: (project) => applications.namespaceOf(project),
            readyTimeoutMs: deps.readyTimeoutMs,
          });
    operations.usePool(pool);
    deps.warmPool.attach(pool);
  }
  const schedules = new FunctionSchedules(
    deps.store.knex,
    functions,
    applications,
    deps.metrics.registry,
    deps.schedules?.settings.clock,
  );
  deps.schedules?.attach(schedules);
  const sessionMaxIdleSeconds = deps.sessionMaxIdleSeconds ?? DEFAULT_SESSION_MAX_IDLE_SECONDS;
  const sessions = new AgentSessions(
    operations,
    applications,
    deps.kube,
    deps.knative,
    deps.store.knex,
    deps.readyTimeoutMs,
    deps.ephemeralGraceSeconds,
    deps.log,
    {
      maxIdleSeconds: sessionMaxIdleSeconds,
      fileLimits: deps.ephemeralSafety?.fileLimits ?? DEFAULT_FILE_LIMITS,
    },
  );
  sessions.startSweeping(deps.sessionSweepSeconds ?? 0);
  const cronJobs = cronJobRoutes(applications, deps.kube);
  deps.asyncInvocations?.useFunctions(functions);
  if (deps.eventTriggers) {
    const triggers = deps.eventTriggers;
    triggers.useFunctions(functions);
    applications.addCheck((definition) => triggers.check(definition));
  }
  const functionsRoutes = functionRoutes(functions, deps.asyncInvocations);
  return [
    {
      base: '/api/v1',
      security: 'bearer',
      routes: [
        ...applicationRoutes(applications, deps.metrics),
        ...cronJobs,
        ...functionsRoutes,
        ...functionInvocationRoutes(functions, invocations),
        ...functionScheduleRoutes(schedules),
        ...scheduleRoutes(),
        ...agentExecutionRoutes(deps.store.knex),
        ...(deps.asyncInvocations ? asyncInvocationRoutes(deps.asyncInvocations) : []),
        ...usageRoutes(deps.store.knex, deps.priceTable ?? DEFAULT_PRICE_TABLE),
      ],
    },
    {
      base: '/internal/v1',
      security: 'internalBearer',
      // The operations, and the project routes agents read and trigger (the MCP tools').
      routes: [
        ...operationRoutes(operations, new AgentAudit(deps.store.knex, deps.log)),
        ...sessionRoutes(
          sessions,
          new AgentAudit(deps.store.knex, deps.log),
          sessionMaxIdleSeconds,
        ),
        ...agentRoutes([...cronJobs, ...functionsRoutes]),
      ],
      // Deploying temporary functions: the per-project cap, the source checker, readiness.
      errors: [409, 422, 429, 503, 504],
    },
  ];
}

/** The express app: probes, metrics, OpenAPI, `/api/v1` (user tokens) and `/internal/v1`. */
export function createServer(deps: ServerDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // First: every response, an error or a 404 too, carries the request id.
  app.use(requestLogging(processLog('http')));
  app.use(deps.metrics.middleware());
  const groups = routeGroups(deps);
  const openapi = openApiDocument(groups, deps.version);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (req, res) => {
    const checks = await Promise.allSettled([
      deps.kube.ping(READY_CHECK_TIMEOUT_MS),
      within(READY_CHECK_TIMEOUT_MS, 'the store', deps.store.ping()),
    ]);
    const [cluster, store] = checks.map((c) =>
      c.status === 'fulfilled' ? 'ok' : String((c.reason as Error)?.message ?? c.reason),
    );
    if (cluster === 'ok' && store === 'ok') {
      res.json({ cluster, store });
      return;
    }
    const failing = Object.entries({ cluster, store }).filter(([, state]) => state !== 'ok');
    sendProblem(
      res,
      new Problem(
        503,
        'Not ready',
        failing.map(([name, state]) => `${name}: ${state}`).join('; '),
        [],
        { 'retry-after': '5' },
        { cluster, store },
      ),
      req.originalUrl,
    );
  });
  app.get('/metrics', metricsEndpoint(deps.metrics.registry, deps.metricsToken));
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json'])
    app.all(path, methodNotAllowed(['get']));

  const limits = deps.limits ?? DEFAULT_LIMITS;
  for (const group of groups) {
    const family: TokenFamily =
      group.security === 'bearer'
        ? { kind: 'user', audience: deps.userAudience }
        : { kind: 'internal' };
    app.use(group.base, router(deps.verify, family, group.base, group.routes, limits));
  }
  app.use(
    MCP_PATH,
    mcpRouter({
      verify: deps.verify,
      bodyLimitBytes: limits.bodyLimitBytes,
      version: deps.version,
    }),
  );
  app.all(MCP_PATH, methodNotAllowed(['post']));
  app.use('/console', consoleRouter());
  app.use((req, _res, next) => next(Problem.notFound(`No route ${req.method} ${req.path}`)));
  app.use(problemHandler);
  return app;
}

function router(
  verify: TokenVerifier,
  family: TokenFamily,
  base: string,
  routes: readonly Route[],
  limits: ApiLimits,
): Router {
  const api = express.Router();
  const methodsByPath = new Map<string, Route['method'][]>();
  for (const route of routes)
    methodsByPath.set(route.path, [...(methodsByPath.get(route.path) ?? []), route.method]);
  // The metrics label is the route's pattern, set before anything can fail (a 401 included).
  for (const path of methodsByPath.keys()) api.all(path, labelRoute(`${base}${path}`));
  api.use(authenticate(verify, family));
  const rules: Record<'definition' | 'json' | 'raw', BodyRule> = {
    definition: {
      kind: 'json',
      limitBytes: limits.definitionLimitBytes,
      limitVariable: 'HKS_DEFINITION_LIMIT_BYTES',
    },
    // Agents send any JSON value as input, not only objects.
    json: {
      kind: 'json',
      limitBytes: limits.bodyLimitBytes,
      limitVariable: 'HKS_BODY_LIMIT_BYTES',
      strict: family.kind === 'user',
    },
    raw: { kind: 'raw', limitBytes: limits.bodyLimitBytes, limitVariable: 'HKS_BODY_LIMIT_BYTES' },
  };
  const parsers = Object.fromEntries(
    Object.entries(rules).map(([kind, rule]) => [kind, bodyParser(rule)]),
  ) as Record<keyof typeof rules, RequestHandler>;
  for (const route of routes) {
    // Path parameters are checked before anything uses them, the project grant included.
    const handlers = [
      validatePathParams(route.path),
      ...(route.path.includes(':project') ? [authorizeProject] : []),
      ...(route.roles ? [authorizeRoles(route.roles)] : []),
      parsers[route.rawBody ? 'raw' : route.body === 'definition' ? 'definition' : 'json'],
      (req: Request, res: Response, next: NextFunction) => {
        // Kubernetes calls made for this request are abandoned once its client has gone.
        withRequestSignal(clientGoneSignal(req, res), () => route.handle(req, res)).catch(next);
      },
    ];
    api[route.method](route.path, ...handlers);
  }
  for (const [path, methods] of methodsByPath) api.all(path, methodNotAllowed(methods));
  api.use((req, _res, next) =>
    next(Problem.notFound(`No route ${req.method} ${req.baseUrl}${req.path}`)),
  );
  return api;
}

/**
 * Answers a method the path does not declare: 405 with `Allow` (HEAD comes with GET), or for
 * OPTIONS 204 with `Allow` and no body.
 */
export function methodNotAllowed(methods: readonly Route['method'][]): RequestHandler {
  const allowed = [
    ...new Set(methods.flatMap((m) => (m === 'get' ? ['GET', 'HEAD'] : [m.toUpperCase()]))),
  ];
  const allow = [...allowed, 'OPTIONS'].join(', ');
  return (req, res, next) => {
    res.setHeader('allow', allow);
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next(
      new Problem(
        405,
        'Method not allowed',
        `${req.method} ${req.baseUrl}${req.path}: given method ${req.method}, expected one of ${allow}`,
      ),
    );
  };
}

/** Rejects after `timeoutMs` unless `work` settles first. */
function within<T>(timeoutMs: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not answer within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
