import type { Store } from '../store/store';
import { parseRequest } from '../validate-request';
import {
  DEFAULT_EXECUTION_PAGE,
  ProjectExecutionQuery,
  projectExecutionsQuery,
  withCursorChecked,
} from './execution-query';
import { executionPage, toExecutionPage } from './execution-views';
import { Route } from './route';

/** `GET /projects/{project}/executions`: every CronJob's executions in one history. */
export function projectExecutionRoutes(store: Store): Route[] {
  return [
    {
      method: 'get',
      path: '/projects/:project/executions',
      summary:
        "The executions of every CronJob of the project, newest first, with cursor paging (?limit=&cursor=&status=&since=&until=&cronjob=); since and until bound the start time; deleted CronJobs' kept history included",
      query: projectExecutionsQuery,
      responses: { 200: executionPage },
      handle: async (req, res) => {
        const query: ProjectExecutionQuery = parseRequest(
          projectExecutionsQuery,
          req.query,
          'query',
        );
        const page = await withCursorChecked(() =>
          store.listProjectExecutions(String(req.params.project), {
            limit: query.limit ?? DEFAULT_EXECUTION_PAGE,
            cursor: query.cursor,
            cronjob: query.cronjob,
            status: query.status,
            since: query.since,
            until: query.until,
          }),
        );
        res.json(toExecutionPage(page));
      },
    },
  ];
}
