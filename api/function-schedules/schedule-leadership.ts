import type { FunctionSchedules } from './function-schedules';
import type { ScheduleSettings } from './schedule-config';
import { FunctionScheduler } from './scheduler';

type Log = (msg: string, fields?: Record<string, unknown>) => void;

/**
 * The scheduler's place in the process: the route tables hand it their
 * {@link FunctionSchedules}, and the leader election starts and stops one
 * {@link FunctionScheduler} per term of leadership.
 */
export class ScheduleLeadership {
  private schedules?: FunctionSchedules;
  private scheduler?: FunctionScheduler;

  constructor(
    public readonly settings: ScheduleSettings,
    private readonly log: Log,
  ) {}

  /** Takes the schedules the routes use (once the server is built). */
  public attach(schedules: FunctionSchedules): void {
    this.schedules = schedules;
  }

  /** Starts scheduling as the leader `identity`. */
  public started(identity: string): void {
    if (!this.settings.enabled || !this.schedules) return;
    this.scheduler = new FunctionScheduler(
      this.schedules,
      identity,
      this.settings.tickMs,
      this.log,
    );
    this.scheduler.start();
    this.log('function scheduler started', { identity });
  }

  /** Stops scheduling (leadership lost or the process stopping). */
  public async stopped(): Promise<void> {
    const scheduler = this.scheduler;
    this.scheduler = undefined;
    await scheduler?.stop();
  }
}
