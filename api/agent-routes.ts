import { Route } from './routes/route';

/**
 * The project routes an agent's internal token may call besides the operations, as
 * `<method> <path>`: reading CronJobs, running one now and reading its executions and their
 * logs, reading a function's logs and revisions. What the MCP server's tools do and no more;
 * defining, changing and deleting applications stays with user tokens.
 */
export const AGENT_ROUTES = [
  'get /projects/:project/cronjobs',
  'post /projects/:project/cronjobs/:name/trigger',
  'get /projects/:project/cronjobs/:name/executions',
  'get /projects/:project/cronjobs/:name/executions/:id',
  'get /projects/:project/cronjobs/:name/executions/:id/logs',
  'get /projects/:project/functions/:name/logs',
  'get /projects/:project/functions/:name/revisions',
] as const;

/**
 * The routes of {@link AGENT_ROUTES} out of the user routes: the same objects (schemas,
 * handlers, project check), mounted a second time under `/internal/v1`.
 * @throws Error naming a listed route the table no longer has, so a renamed route fails the
 *   API's start instead of silently leaving the agents' list
 */
export function agentRoutes(userRoutes: readonly Route[]): Route[] {
  const byKey = new Map(userRoutes.map((route) => [`${route.method} ${route.path}`, route]));
  return AGENT_ROUTES.map((key) => {
    const route = byKey.get(key);
    if (!route)
      throw new Error(`Agent route ${key} is not a user route: update api/agent-routes.ts`);
    return route;
  });
}
