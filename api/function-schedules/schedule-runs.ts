/**
 * The runs of functions' schedules (migration 011_function_schedules), on SQLite and
 * PostgreSQL alike. A run's row is inserted before the function is called and its key is the
 * scheduled time: the insert is the claim, so one slot is called at most once whichever
 * replicas see it due.
 */
import type { Knex } from 'knex';

/**
 * How a run ended: `running` (claimed, the call under way), `succeeded`/`failed` (the function
 * answered below 400 / 400 and above, or could not be called), `skipped` (Forbid: the previous
 * run still ran), `missed` (not started within its deadline: no replica led), `lost` (the
 * replica that called it died before it knew the answer, and the history has no record of it).
 */
export const SCHEDULE_RUN_STATUSES = [
  'running',
  'succeeded',
  'failed',
  'skipped',
  'missed',
  'lost',
] as const;
export type ScheduleRunStatus = (typeof SCHEDULE_RUN_STATUSES)[number];

/** `timer` a scheduled time, `manual` a run asked for through the trigger route. */
export type ScheduleRunTrigger = 'timer' | 'manual';

/** Which schedule a run belongs to. */
export interface ScheduleKey {
  readonly project: string;
  readonly function: string;
  readonly schedule: string;
}

/** One run of a schedule. */
export interface ScheduleRun extends ScheduleKey {
  /** When it was due (ISO 8601): `faas.time`; for a manual run, when it was asked for. */
  readonly scheduledTime: string;
  readonly trigger: ScheduleRunTrigger;
  readonly status: ScheduleRunStatus;
  /** `faas.cron`: the schedule's cron expression at the time of the run. */
  readonly cron: string;
  readonly timeZone: string;
  /** Its invocation in the function's history. @default - none: the function was not called */
  readonly invocationId?: string;
  /** The replica that claimed it (its Lease identity). @default - none */
  readonly claimedBy?: string;
  readonly claimedAt: string;
  /** When an unfinished run counts as lost. @default - none: it was never running */
  readonly deadlineAt?: string;
  readonly endedAt?: string;
  /** The status the function answered. @default - none: no answer */
  readonly httpStatus?: number;
  /** Why it was skipped, missed, lost or could not call the function. @default - none */
  readonly reason?: string;
  /** The function's answer as text (UTF-8), at most {@link MAX_RUN_OUTPUT_BYTES}. @default - none */
  readonly output?: string;
  /** The answer was longer than the output kept, or not UTF-8 text. @default - none */
  readonly outputTruncated?: boolean;
}

/** Largest answer of a run kept with it. */
export const MAX_RUN_OUTPUT_BYTES = 64 * 1024;

type Row = Record<string, unknown>;
const TABLE = 'function_schedule_runs';

/** Reads and writes of schedule runs. */
export class ScheduleRunStore {
  constructor(private readonly db: Knex) {}

  /** Inserts a run unless its slot has one; whether this insert made it (the claim). */
  public async claim(run: ScheduleRun): Promise<boolean> {
    const inserted = (await this.db(TABLE)
      .insert(toRow(run))
      .onConflict(['project', 'function', 'schedule', 'scheduled_time'])
      .ignore()
      .returning(['schedule'])) as unknown[];
    return inserted.length > 0;
  }

  /** Ends a run still `running` with what became of it; false when it had already ended. */
  public async finish(
    key: ScheduleKey & { readonly scheduledTime: string },
    end: Pick<ScheduleRun, 'status'> &
      Partial<Pick<ScheduleRun, 'httpStatus' | 'reason' | 'output' | 'outputTruncated'>>,
  ): Promise<boolean> {
    const updated = await this.db(TABLE)
      .where(keyWhere(key))
      .andWhere({ status: 'running' })
      .update({
        status: end.status,
        ended_at: new Date().toISOString(),
        http_status: end.httpStatus ?? null,
        reason: end.reason ?? null,
        output: end.output ?? null,
        output_truncated: end.outputTruncated ?? null,
      });
    return updated > 0;
  }

  /** The latest scheduled time of a schedule's timer runs, recorded in any status. */
  public async lastScheduledTime(key: ScheduleKey): Promise<string | undefined> {
    const row = (await this.db(TABLE)
      .where(keyWhere(key))
      .andWhere({ trigger: 'timer' })
      .max({ last: 'scheduled_time' })
      .first()) as { last?: string | null } | undefined;
    return row?.last ?? undefined;
  }

  /** Runs of a schedule still running. */
  public async runningCount(key: ScheduleKey): Promise<number> {
    const row = (await this.db(TABLE)
      .where(keyWhere(key))
      .andWhere({ status: 'running' })
      .count({ n: '*' })
      .first()) as { n?: number | string } | undefined;
    return Number(row?.n ?? 0);
  }

  /** Running runs whose deadline has passed (their replica is gone or stuck). */
  public async overdue(nowIso: string, limit = 100): Promise<ScheduleRun[]> {
    const rows = (await this.db(TABLE)
      .where({ status: 'running' })
      .andWhere('deadline_at', '<', nowIso)
      .orderBy('deadline_at')
      .limit(limit)) as Row[];
    return rows.map(toRun);
  }

  /** A schedule's runs, newest first. */
  public async recent(key: ScheduleKey, limit: number): Promise<ScheduleRun[]> {
    const rows = (await this.db(TABLE)
      .where(keyWhere(key))
      .orderBy('scheduled_time', 'desc')
      .limit(limit)) as Row[];
    return rows.map(toRun);
  }

  /** One run. */
  public async get(
    key: ScheduleKey & { readonly scheduledTime: string },
  ): Promise<ScheduleRun | undefined> {
    const row = (await this.db(TABLE).where(keyWhere(key)).first()) as Row | undefined;
    return row ? toRun(row) : undefined;
  }
}

function keyWhere(key: ScheduleKey & { readonly scheduledTime?: string }): Row {
  return {
    project: key.project,
    function: key.function,
    schedule: key.schedule,
    ...(key.scheduledTime === undefined ? {} : { scheduled_time: key.scheduledTime }),
  };
}

function toRow(run: ScheduleRun): Row {
  return {
    project: run.project,
    function: run.function,
    schedule: run.schedule,
    scheduled_time: run.scheduledTime,
    trigger: run.trigger,
    status: run.status,
    cron: run.cron,
    time_zone: run.timeZone,
    invocation_id: run.invocationId ?? null,
    claimed_by: run.claimedBy ?? null,
    claimed_at: run.claimedAt,
    deadline_at: run.deadlineAt ?? null,
    ended_at: run.endedAt ?? null,
    http_status: run.httpStatus ?? null,
    reason: run.reason ?? null,
    output: run.output ?? null,
    output_truncated: run.outputTruncated ?? null,
  };
}

function toRun(row: Row): ScheduleRun {
  const text = (value: unknown) =>
    value === null || value === undefined ? undefined : String(value);
  return {
    project: String(row.project),
    function: String(row.function),
    schedule: String(row.schedule),
    scheduledTime: String(row.scheduled_time),
    trigger: String(row.trigger) as ScheduleRunTrigger,
    status: String(row.status) as ScheduleRunStatus,
    cron: String(row.cron),
    timeZone: String(row.time_zone),
    invocationId: text(row.invocation_id),
    claimedBy: text(row.claimed_by),
    claimedAt: String(row.claimed_at),
    deadlineAt: text(row.deadline_at),
    endedAt: text(row.ended_at),
    httpStatus:
      row.http_status === null || row.http_status === undefined
        ? undefined
        : Number(row.http_status),
    reason: text(row.reason),
    output: text(row.output),
    outputTruncated:
      row.output_truncated === null || row.output_truncated === undefined
        ? undefined
        : Boolean(row.output_truncated),
  };
}
