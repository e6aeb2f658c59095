import express, { Express, NextFunction, Request, Response } from 'express';
import { Applications } from './applications';
import { authenticate, authorizeProject, TokenVerifier } from './auth';
import { Kube } from './kube';
import { ApiMetrics } from './metrics';
import { openApiDocument } from './openapi';
import { Problem, problemHandler } from './problem';
import { applicationRoutes } from './routes/applications';
import { cronJobRoutes } from './routes/cronjobs';
import { Route } from './routes/route';
import { Store } from './store/store';

/** What the HTTP server needs. */
export interface ServerDependencies {
  readonly store: Store;
  readonly kube: Kube;
  readonly verify: TokenVerifier;
  readonly metrics: ApiMetrics;
  readonly namespacePrefix: string;
  readonly version: string;
}

/** Every `/api/v1` route, in one table (registration and OpenAPI come from it). */
export function apiRoutes(deps: ServerDependencies): Route[] {
  const applications = new Applications(deps.store, deps.kube, deps.namespacePrefix);
  return [
    ...applicationRoutes(applications, deps.metrics),
    ...cronJobRoutes(applications, deps.kube),
  ];
}

/** The express app: probes, metrics, OpenAPI, and the authenticated `/api/v1` routes. */
export function createServer(deps: ServerDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(deps.metrics.middleware());
  const routes = apiRoutes(deps);
  const openapi = openApiDocument(routes, deps.version);

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
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  const api = express.Router();
  api.use(authenticate(deps.verify));
  api.use(express.json({ limit: '1mb' }));
  for (const route of routes) {
    api[route.method](
      route.path,
      authorizeProject,
      (req: Request, res: Response, next: NextFunction) => {
        route.handle(req, res).catch(next);
      },
    );
  }
  api.use((req, _res, next) =>
    next(Problem.notFound(`No route ${req.method} ${req.baseUrl}${req.path}`)),
  );
  app.use('/api/v1', api);
  app.use((req, _res, next) => next(Problem.notFound(`No route ${req.method} ${req.path}`)));
  app.use(problemHandler);
  return app;
}
