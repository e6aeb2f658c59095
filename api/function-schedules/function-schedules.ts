import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { Counter, Histogram, Registry } from 'prom-client';
import { FunctionDefinition, Schedule } from '../../constructs';
import type { Applications } from '../applications';
import type { Functions } from '../functions';
import { Problem } from '../problem';
import { ScheduleClock } from './schedule-clock';
import {
  MAX_RUN_OUTPUT_BYTES,
  ScheduleKey,
  ScheduleRun,
  ScheduleRunStatus,
  ScheduleRunStore,
  ScheduleRunTrigger,
} from './schedule-runs';
import { EffectiveSchedule, ScheduledFunction, scheduledFunction } from './scheduled-functions';

/**
 * Seconds past a function's own timeout after which a run still marked running counts as lost:
 * the invoke's network margin (5 s) and the history's write after the answer.
 */
export const LOST_MARGIN_SECONDS = 15;

/** Runs shown with a schedule. */
const NEXT_RUNS_SHOWN = 3;

/** One schedule of a function as the routes show it. */
export interface ScheduleView extends EffectiveSchedule {
  /** The next scheduled times (ISO 8601); none while suspended. */
  readonly nextRuns: string[];
  /** The latest run, timer or manual, in any status. @default - none yet */
  readonly lastRun?: ScheduleRun;
}

/** What the scheduler and the routes share: the runs, the function calls and the metrics. */
export class FunctionSchedules {
  public readonly runs: ScheduleRunStore;
  private readonly lag: Histogram;
  private readonly outcomes: Counter<'status'>;

  constructor(
    public readonly db: Knex,
    private readonly functions: Functions,
    private readonly applications: Applications,
    registry: Registry,
    public readonly clock: ScheduleClock = ScheduleClock.REAL,
  ) {
    this.runs = new ScheduleRunStore(db);
    // One set per registry, however many route tables are built on it.
    this.lag =
      (registry.getSingleMetric('hks_function_schedule_lag_seconds') as Histogram | undefined) ??
      new Histogram({
        name: 'hks_function_schedule_lag_seconds',
        help: "Functions' scheduled runs: the call's start after its scheduled time",
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
        registers: [registry],
      });
    this.outcomes =
      (registry.getSingleMetric('hks_function_schedule_runs_total') as
        Counter<'status'> | undefined) ??
      new Counter({
        name: 'hks_function_schedule_runs_total',
        help: "Functions' schedule runs recorded, by how they ended (succeeded, failed, skipped, missed, lost)",
        labelNames: ['status'],
        registers: [registry],
      });
  }

  /** Counts a run's end in the metrics. */
  public counted(status: ScheduleRunStatus): void {
    this.outcomes.inc({ status });
  }

  /**
   * Claims a slot and, when the claim is this caller's, calls the function with the schedule's
   * input and records how it ended. Undefined when the slot was already claimed.
   */
  public async run(
    fn: ScheduledFunction,
    schedule: EffectiveSchedule,
    scheduledMs: number,
    trigger: ScheduleRunTrigger,
    claimedBy: string,
  ): Promise<ScheduleRun | undefined> {
    const key = this.keyOf(fn, schedule, scheduledMs);
    const invocationId = randomUUID();
    const claimedAt = Date.now();
    const claimed = await this.runs.claim({
      ...key,
      trigger,
      status: 'running',
      cron: schedule.cron,
      timeZone: schedule.timeZone,
      invocationId,
      claimedBy,
      claimedAt: new Date(claimedAt).toISOString(),
      deadlineAt: new Date(
        claimedAt + (fn.timeoutSeconds + LOST_MARGIN_SECONDS) * 1000,
      ).toISOString(),
    });
    if (!claimed) return undefined;
    if (trigger === 'timer')
      this.lag.observe(Math.max(0, (this.clock.fromReal(claimedAt) - scheduledMs) / 1000));
    let status: ScheduleRunStatus;
    try {
      const { response } = await this.functions.invoke(fn.project, fn.name, {
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify(schedule.input)),
        trigger: 'timer',
        requestId: invocationId,
        timer: { cron: schedule.cron, scheduledTime: key.scheduledTime },
      });
      status = response.status < 400 ? 'succeeded' : 'failed';
      await this.runs.finish(key, {
        status,
        httpStatus: response.status,
        ...outputOf(response.body),
      });
    } catch (error) {
      status = 'failed';
      const reason = error instanceof Problem ? `${error.title}: ${error.detail}` : String(error);
      await this.runs.finish(key, { status, reason });
    }
    this.counted(status);
    return this.runs.get(key);
  }

  /** Records a slot that does not run (skipped, missed); false when the slot had a row. */
  public async record(
    fn: ScheduledFunction,
    schedule: EffectiveSchedule,
    scheduledMs: number,
    status: 'skipped' | 'missed',
    reason: string,
  ): Promise<boolean> {
    const now = new Date().toISOString();
    const recorded = await this.runs.claim({
      ...this.keyOf(fn, schedule, scheduledMs),
      trigger: 'timer',
      status,
      cron: schedule.cron,
      timeZone: schedule.timeZone,
      claimedAt: now,
      endedAt: now,
      reason,
    });
    if (recorded) this.counted(status);
    return recorded;
  }

  /**
   * The schedules of an applied function with their next and last runs.
   * @throws Problem 404 when the project has no such function stored
   */
  public async list(project: string, name: string): Promise<ScheduleView[]> {
    const fn = await this.find(project, name);
    const now = new Date(this.clock.now());
    return Promise.all(
      (fn?.schedules ?? []).map(async (schedule) => {
        const [lastRun] = await this.runs.recent(this.keyOf(fn as ScheduledFunction, schedule), 1);
        return {
          ...schedule,
          nextRuns: schedule.suspend
            ? []
            : Schedule.cron(schedule.cron)
                .nextRuns(NEXT_RUNS_SHOWN, { timeZone: schedule.timeZone, from: now })
                .map((d) => d.toISOString()),
          ...(lastRun ? { lastRun } : {}),
        };
      }),
    );
  }

  /**
   * A schedule's runs, newest first.
   * @throws Problem 404 (no such function or schedule)
   */
  public async runsOf(
    project: string,
    name: string,
    scheduleName: string,
    limit: number,
  ): Promise<ScheduleRun[]> {
    scheduleOf(await this.find(project, name), project, name, scheduleName);
    return this.runs.recent({ project, function: name, schedule: scheduleName }, limit);
  }

  /**
   * Runs a schedule now, with its input, and answers how the run ended; a Forbid schedule
   * whose previous run still runs is refused.
   * @throws Problem 404 (no such function or schedule), 409 (Forbid and a run still running)
   */
  public async trigger(
    project: string,
    name: string,
    scheduleName: string,
    claimedBy: string,
  ): Promise<ScheduleRun> {
    const fn = await this.find(project, name);
    const schedule = scheduleOf(fn, project, name, scheduleName);
    const key = { project, function: name, schedule: scheduleName };
    if (schedule.concurrencyPolicy === 'Forbid' && (await this.runs.runningCount(key)) > 0)
      throw new Problem(
        409,
        'Run still running',
        `Schedule ${JSON.stringify(scheduleName)} of function ${JSON.stringify(name)} has concurrencyPolicy Forbid and a run still running: wait for it to end`,
      );
    // A manual run is keyed by when it was asked for (schedule time); two in one millisecond
    // take the next.
    for (let at = Math.floor(this.clock.now()); ; at++) {
      const run = await this.run(fn, schedule, at, 'manual', claimedBy);
      if (run) return run;
    }
  }

  /**
   * Suspends or resumes a schedule by applying the function's definition with `suspend` set:
   * the definition stays the one truth, so a later apply of the file decides again.
   * @throws Problem 404 (no such function or schedule), as an apply does otherwise
   */
  public async setSuspended(
    project: string,
    name: string,
    scheduleName: string,
    suspend: boolean,
  ): Promise<ScheduleView> {
    const fn = await this.find(project, name);
    scheduleOf(fn, project, name, scheduleName);
    const definition = fn.definition;
    const schedules = (definition.spec.schedules ?? []).map((s) =>
      s.name === scheduleName ? { ...s, suspend } : s,
    );
    const updated: FunctionDefinition = { ...definition, spec: { ...definition.spec, schedules } };
    await this.applications.apply(updated);
    const views = await this.list(project, name);
    return views.find((v) => v.name === scheduleName) as ScheduleView;
  }

  /** The key of a schedule, or of one of its runs. */
  public keyOf(fn: ScheduledFunction, schedule: EffectiveSchedule): ScheduleKey;
  public keyOf(
    fn: ScheduledFunction,
    schedule: EffectiveSchedule,
    scheduledMs: number,
  ): ScheduleKey & { scheduledTime: string };
  public keyOf(
    fn: ScheduledFunction,
    schedule: EffectiveSchedule,
    scheduledMs?: number,
  ): ScheduleKey & { scheduledTime?: string } {
    return {
      project: fn.project,
      function: fn.name,
      schedule: schedule.name,
      ...(scheduledMs === undefined ? {} : { scheduledTime: new Date(scheduledMs).toISOString() }),
    };
  }

  /** @throws Problem 404 when the project has no such function stored */
  private async find(project: string, name: string): Promise<ScheduledFunction> {
    const stored = await this.applications.store.getApplication(project, name);
    if (!stored || stored.definition.kind !== 'Function')
      throw Problem.notFound(
        stored
          ? `Application ${JSON.stringify(name)} in project ${JSON.stringify(project)} is a ${stored.definition.kind}, not a Function`
          : `No function ${JSON.stringify(name)} in project ${JSON.stringify(project)}`,
      );
    const definition = stored.definition as FunctionDefinition;
    return (
      scheduledFunction(definition, stored.updatedAt) ?? {
        project,
        name,
        appliedAt: stored.updatedAt,
        timeoutSeconds: definition.spec.timeoutSeconds ?? 30,
        schedules: [],
        definition,
      }
    );
  }
}

/** @throws Problem 404 naming the schedules the function has */
function scheduleOf(
  fn: ScheduledFunction,
  project: string,
  name: string,
  scheduleName: string,
): EffectiveSchedule {
  const schedule = fn.schedules.find((s) => s.name === scheduleName);
  if (!schedule)
    throw Problem.notFound(
      `Function ${JSON.stringify(name)} in project ${JSON.stringify(project)} has no schedule ${JSON.stringify(scheduleName)} (schedules: ${JSON.stringify(fn.schedules.map((s) => s.name))})`,
    );
  return schedule;
}

/** The answer kept with a run: UTF-8 text up to the limit. */
function outputOf(body: Buffer): { output?: string; outputTruncated?: boolean } {
  const kept = body.subarray(0, MAX_RUN_OUTPUT_BYTES);
  const text = new TextDecoder('utf-8', { fatal: true });
  try {
    // A cut in the middle of a character is not an error of the answer: decode what is whole.
    const output = text.decode(kept, { stream: body.length > MAX_RUN_OUTPUT_BYTES });
    return { output, outputTruncated: body.length > MAX_RUN_OUTPUT_BYTES };
  } catch {
    return { outputTruncated: true };
  }
}
