import express, { Express, NextFunction, Request, Response, Router } from 'express';
import { Applications } from './applications';
import { authenticate, authorizeProject, TokenFamily, TokenVerifier } from './auth';
import { SourceChecker } from './check-source';
import { Functions } from './functions';
import { InvocationRouting } from './invocation-target';
import { KnativeApi } from './knative';
import { Kube } from './kube';
import { NamespaceAccess } from './namespace-access';
import { ApiMetrics, metricsEndpoint } from './metrics';
import { openApiDocument, RouteGroup } from './openapi';
import { EphemeralSafety, Operations } from './operations';
import { validatePathParams } from './path-params';
import { Problem, problemHandler } from './problem';
import { applicationRoutes } from './routes/applications';
import { cronJobRoutes } from './routes/cronjobs';
import { functionRoutes } from './routes/functions';
import { operationRoutes } from './routes/operations';
import { Route } from './routes/route';
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
}

/** Largest request body: a function's source (900 KiB) as JSON, with room for escaping. */
const BODY_LIMIT = '2mb';

/** Every route, by base path: registration and OpenAPI come from these tables. */
export function routeGroups(deps: ServerDependencies): RouteGroup[] {
  const applications = new Applications(
    deps.store,
    deps.kube,
    deps.namespacePrefix,
    new SourceChecker(deps.python),
    deps.namespaceAccess,
  );
  const functions = new Functions(applications, deps.knative, deps.kube, deps.metrics, {
    ...deps.functionAddresses,
    gateway: deps.functionGateway,
  });
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
  return [
    {
      base: '/api/v1',
      security: 'bearer',
      routes: [
        ...applicationRoutes(applications, deps.metrics),
        ...cronJobRoutes(applications, deps.kube),
        ...functionRoutes(functions),
      ],
    },
    {
      base: '/internal/v1',
      security: 'internalBearer',
      routes: operationRoutes(operations),
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
  app.use(deps.metrics.middleware());
  const groups = routeGroups(deps);
  const openapi = openApiDocument(groups, deps.version);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks = await Promise.allSettled([deps.kube.ping(), deps.store.ping()]);
    const [cluster, store] = checks.map((c) =>
      c.status === 'fulfilled' ? 'ok' : String((c.reason as Error)?.message ?? c.reason),
    );
    res.status(cluster === 'ok' && store === 'ok' ? 200 : 503).json({ cluster, store });
  });
  app.get('/metrics', metricsEndpoint(deps.metrics.registry, deps.metricsToken));
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  for (const group of groups) {
    const family: TokenFamily =
      group.security === 'bearer'
        ? { kind: 'user', audience: deps.userAudience }
        : { kind: 'internal' };
    app.use(group.base, router(deps.verify, family, group.routes));
  }
  app.use((req, _res, next) => next(Problem.notFound(`No route ${req.method} ${req.path}`)));
  app.use(problemHandler);
  return app;
}

function router(verify: TokenVerifier, family: TokenFamily, routes: readonly Route[]): Router {
  const api = express.Router();
  api.use(authenticate(verify, family));
  // Agents send any JSON value as input, not only objects.
  const json = express.json({ limit: BODY_LIMIT, strict: family.kind === 'user' });
  const raw = express.raw({ type: () => true, limit: BODY_LIMIT });
  for (const route of routes) {
    // Path parameters are checked before anything uses them, the project grant included.
    const handlers = [
      validatePathParams(route.path),
      ...(route.path.includes(':project') ? [authorizeProject] : []),
      route.rawBody ? raw : json,
      (req: Request, res: Response, next: NextFunction) => {
        route.handle(req, res).catch(next);
      },
    ];
    api[route.method](route.path, ...handlers);
  }
  api.use((req, _res, next) =>
    next(Problem.notFound(`No route ${req.method} ${req.baseUrl}${req.path}`)),
  );
  return api;
}
