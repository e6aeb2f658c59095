import { Schedule } from '../../constructs';
import type { InvocationStatus } from '../store/invocation-store';
import { planRuns } from './catch-up';
import type { FunctionSchedules } from './function-schedules';
import { ScheduleRunStatus } from './schedule-runs';
import { EffectiveSchedule, ScheduledFunction, scheduledFunctions } from './scheduled-functions';

type Log = (msg: string, fields?: Record<string, unknown>) => void;

/**
 * Runs functions' schedules on the replica that holds the Lease: every tick it reads the
 * applied schedules, closes runs whose replica died (lost, or what the history says of them),
 * records missed slots and calls the function for the slot that is due. A slot is claimed by
 * inserting its row first, so a replica that still believes it leads cannot call it twice.
 */
export class FunctionScheduler {
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private stopped = false;
  /** Calls under way on this replica, by run key. */
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly schedules: FunctionSchedules,
    /** This replica's Lease identity, kept with each run it claims. */
    private readonly identity: string,
    private readonly tickMs: number,
    private readonly log: Log,
  ) {}

  /** Starts ticking (one term of leadership; a stopped scheduler does not start again). */
  public start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.ticking = this.tick()
        .catch((error: unknown) => this.log('schedule tick failed', { err: error }))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.tickMs);
        });
    };
    loop();
  }

  /** Stops ticking; calls under way end by themselves and record their answers. */
  public async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
  }

  private async tick(): Promise<void> {
    await this.closeOverdue();
    const now = this.schedules.clock.now();
    for (const fn of await scheduledFunctions(this.schedules.db)) {
      for (const schedule of fn.schedules) {
        if (this.stopped) return;
        if (!schedule.suspend) await this.due(fn, schedule, now);
      }
    }
  }

  /** Records the missed slots of one schedule and starts the one that is due, if any. */
  private async due(
    fn: ScheduledFunction,
    schedule: EffectiveSchedule,
    now: number,
  ): Promise<void> {
    const key = this.schedules.keyOf(fn, schedule);
    const last = await this.schedules.runs.lastScheduledTime(key);
    // No run is owed for a time before the definition was applied (a resume is an apply).
    const after = Math.max(
      last === undefined ? -Infinity : Date.parse(last),
      this.schedules.clock.fromReal(Date.parse(fn.appliedAt)),
    );
    const plan = planRuns(
      Schedule.cron(schedule.cron),
      schedule.timeZone,
      after,
      now,
      schedule.startingDeadlineSeconds,
    );
    const where = { function: `${fn.project}/${fn.name}`, schedule: schedule.name };
    for (const missed of plan.missed)
      await this.schedules.record(
        fn,
        schedule,
        missed,
        'missed',
        `not started within startingDeadlineSeconds (${schedule.startingDeadlineSeconds} s): no API replica ran schedules then`,
      );
    if (plan.missed.length + plan.uncountedMissed > 0)
      this.log('missed schedule runs recorded', {
        ...where,
        recorded: plan.missed.length,
        notRecorded: plan.uncountedMissed,
      });
    if (plan.run === undefined) return;
    if (
      schedule.concurrencyPolicy === 'Forbid' &&
      (await this.schedules.runs.runningCount(key)) > 0
    ) {
      await this.schedules.record(
        fn,
        schedule,
        plan.run,
        'skipped',
        'concurrencyPolicy Forbid: the previous run was still running',
      );
      return;
    }
    const runKey = `${key.project}/${key.function}/${key.schedule}@${plan.run}`;
    const call = this.schedules
      .run(fn, schedule, plan.run, 'timer', this.identity)
      .catch((error: unknown) => this.log('schedule run failed', { ...where, err: error }))
      .finally(() => this.inFlight.delete(runKey));
    this.inFlight.set(runKey, call);
    // The claim is made before the next schedule is looked at; the call goes on by itself.
    await Promise.race([call, new Promise((resolve) => setImmediate(resolve))]);
  }

  /**
   * Closes runs still marked running past their deadline whose call is not under way here:
   * their replica died. Never called again (that could run it twice): what the invocation
   * history recorded of the call decides, else the run is lost.
   */
  private async closeOverdue(): Promise<void> {
    for (const run of await this.schedules.runs.overdue(new Date().toISOString())) {
      const runKey = `${run.project}/${run.function}/${run.schedule}@${Date.parse(run.scheduledTime)}`;
      if (run.claimedBy === this.identity && this.inFlight.has(runKey)) continue;
      const recorded = run.invocationId
        ? ((await this.schedules
            .db('function_invocations')
            .select('status', 'http_status')
            .where({ id: run.invocationId })
            .first()) as { status: InvocationStatus; http_status: number | null } | undefined)
        : undefined;
      const status: ScheduleRunStatus = recorded
        ? recorded.status === 'succeeded'
          ? 'succeeded'
          : 'failed'
        : 'lost';
      const closed = await this.schedules.runs.finish(run, {
        status,
        httpStatus: recorded?.http_status ?? undefined,
        reason: recorded
          ? `its replica (${run.claimedBy ?? 'unknown'}) stopped before recording the answer; the invocation history has it`
          : `its replica (${run.claimedBy ?? 'unknown'}) stopped before the answer was known; not run again (at most once)`,
      });
      if (closed) {
        this.schedules.counted(status);
        this.log('closed a run whose replica stopped', {
          function: `${run.project}/${run.function}`,
          schedule: run.schedule,
          scheduledTime: run.scheduledTime,
          status,
        });
      }
    }
  }
}
