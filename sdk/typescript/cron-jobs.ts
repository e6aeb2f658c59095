import { Http, projectPath, segment } from './http';
import type {
  CronJobChange,
  CronJobSummary,
  CronJobView,
  ExecutionPage,
  ExecutionQuery,
  ExecutionView,
  FollowOptions,
  ItemList,
  ScheduleChange,
  TriggerResult,
} from './types';

/** `/api/v1/projects/{project}/cronjobs`: schedules, manual runs and execution history. */
export class CronJobsApi {
  constructor(private readonly http: Http) {}

  /** The CronJobs of a project. */
  public async list(project: string): Promise<CronJobSummary[]> {
    const list = await this.http.json<ItemList<CronJobSummary>>({
      method: 'GET',
      path: `${projectPath(project)}/cronjobs`,
    });
    return list.items;
  }

  /** A CronJob: definition, live status and the next 5 run times in its time zone. */
  public get(project: string, name: string): Promise<CronJobView> {
    return this.http.json({ method: 'GET', path: this.path(project, name) });
  }

  /** Changes the schedule and/or the time zone (`timeZone: null` removes it). */
  public setSchedule(
    project: string,
    name: string,
    change: ScheduleChange,
  ): Promise<CronJobChange> {
    return this.http.json({
      method: 'PATCH',
      path: `${this.path(project, name)}/schedule`,
      json: change,
    });
  }

  /** Stops scheduling new runs (running ones go on). */
  public suspend(project: string, name: string): Promise<CronJobChange> {
    return this.http.json({ method: 'POST', path: `${this.path(project, name)}/suspend` });
  }

  /** Resumes scheduling. */
  public resume(project: string, name: string): Promise<CronJobChange> {
    return this.http.json({ method: 'POST', path: `${this.path(project, name)}/resume` });
  }

  /** Runs the job now: a Job from the CronJob's template. Its `id` is the execution id. */
  public trigger(project: string, name: string): Promise<TriggerResult> {
    return this.http.json({ method: 'POST', path: `${this.path(project, name)}/trigger` });
  }

  /** One page of the execution history, newest first. */
  public executions(
    project: string,
    name: string,
    query: ExecutionQuery = {},
  ): Promise<ExecutionPage> {
    return this.http.json({
      method: 'GET',
      path: `${this.path(project, name)}/executions`,
      query: {
        limit: query.limit,
        cursor: query.cursor,
        status: query.status,
        since: query.since,
        until: query.until,
      },
    });
  }

  /**
   * Every execution, newest first, fetching page after page as the iteration goes.
   * @param query.limit the page size. @default 20
   */
  public async *allExecutions(
    project: string,
    name: string,
    query: Omit<ExecutionQuery, 'cursor'> = {},
  ): AsyncGenerator<ExecutionView, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.executions(project, name, { ...query, cursor });
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor);
  }

  /** One execution. */
  public execution(project: string, name: string, id: string): Promise<ExecutionView> {
    return this.http.json({
      method: 'GET',
      path: `${this.path(project, name)}/executions/${segment(id)}`,
    });
  }

  /** The logs of an execution as they are now. */
  public logs(project: string, name: string, id: string): Promise<string> {
    return this.http.text({
      method: 'GET',
      path: `${this.path(project, name)}/executions/${segment(id)}/logs`,
    });
  }

  /** The logs of an execution line by line, following them while the job runs. */
  public followLogs(
    project: string,
    name: string,
    id: string,
    options: FollowOptions = {},
  ): AsyncIterable<string> {
    return this.http.lines({
      method: 'GET',
      path: `${this.path(project, name)}/executions/${segment(id)}/logs`,
      query: { follow: true },
      signal: options.signal,
    });
  }

  private path(project: string, name: string): string {
    return `${projectPath(project)}/cronjobs/${segment(name)}`;
  }
}
