import type { UsageReport } from '../../api/routes/usage';
import { Http, projectPath } from './http';

export type { UsageReport } from '../../api/routes/usage';

/** How usage is grouped: one group per function, per CronJob or per UTC day. */
export type UsageGroupBy = UsageReport['groupBy'];

/** Which usage a report covers. */
export interface UsageQuery {
  /** Calls and runs started at or after (ISO 8601). @default - 30 days before `to` */
  readonly from?: string;
  /** Calls and runs started before (ISO 8601). @default - now */
  readonly to?: string;
  /** @default "function" */
  readonly groupBy?: UsageGroupBy;
  /** Only this function's invocations. @default - every function and CronJob */
  readonly function?: string;
  /** Only this CronJob's runs. @default - every function and CronJob */
  readonly cronjob?: string;
  /** Groups per page, 1 to 500. @default 100 */
  readonly limit?: number;
  /** `nextCursor` of the previous report. @default - the first page */
  readonly cursor?: string;
}

/** `/api/v1/projects/{project}/usage`: what functions and CronJobs used and cost. */
export class UsageApi {
  constructor(private readonly http: Http) {}

  /** A project's usage and cost by function, CronJob or day, with the prices applied. */
  public report(project: string, query: UsageQuery = {}): Promise<UsageReport> {
    return this.http.json({
      method: 'GET',
      path: `${projectPath(project)}/usage`,
      query: { ...query },
    });
  }
}
