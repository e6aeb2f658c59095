import type { ScheduleView } from '../../api/function-schedules/function-schedules';
import type { ScheduleRun } from '../../api/function-schedules/schedule-runs';
import { Http, LONG_REQUEST_TIMEOUT_MS, projectPath, segment } from './http';

export type { ScheduleView as FunctionScheduleView } from '../../api/function-schedules/function-schedules';
export type {
  ScheduleRun as FunctionScheduleRun,
  ScheduleRunStatus as FunctionScheduleRunStatus,
} from '../../api/function-schedules/schedule-runs';

/** `/api/v1/projects/{project}/functions/{name}/schedules`: runs of Functions on cron schedules. */
export class FunctionSchedulesApi {
  constructor(private readonly http: Http) {}

  /** A Function's schedules with their next runs and last run. */
  public async list(project: string, name: string): Promise<ScheduleView[]> {
    const { items } = await this.http.json<{ items: ScheduleView[] }>({
      method: 'GET',
      path: this.path(project, name),
    });
    return items;
  }

  /** A schedule's runs, newest first (timer and manual). @param limit 1 to 100 @default 20 */
  public async runs(
    project: string,
    name: string,
    schedule: string,
    limit?: number,
  ): Promise<ScheduleRun[]> {
    const { items } = await this.http.json<{ items: ScheduleRun[] }>({
      method: 'GET',
      path: `${this.path(project, name)}/${segment(schedule)}/runs`,
      query: { limit },
    });
    return items;
  }

  /** Runs a schedule now with its input; resolves when the function has answered. */
  public trigger(project: string, name: string, schedule: string): Promise<ScheduleRun> {
    return this.http.json({
      method: 'POST',
      path: `${this.path(project, name)}/${segment(schedule)}/trigger`,
      timeoutMs: LONG_REQUEST_TIMEOUT_MS,
    });
  }

  /** Stops new runs of a schedule (applies the definition with `suspend: true`). */
  public suspend(project: string, name: string, schedule: string): Promise<ScheduleView> {
    return this.setSuspended(project, name, schedule, true);
  }

  /** Runs a suspended schedule again from now on; times missed meanwhile are not run. */
  public resume(project: string, name: string, schedule: string): Promise<ScheduleView> {
    return this.setSuspended(project, name, schedule, false);
  }

  private setSuspended(
    project: string,
    name: string,
    schedule: string,
    suspend: boolean,
  ): Promise<ScheduleView> {
    return this.http.json({
      method: 'PATCH',
      path: `${this.path(project, name)}/${segment(schedule)}`,
      json: { suspend },
      timeoutMs: LONG_REQUEST_TIMEOUT_MS,
    });
  }

  private path(project: string, name: string): string {
    return `${projectPath(project)}/functions/${segment(name)}/schedules`;
  }
}
