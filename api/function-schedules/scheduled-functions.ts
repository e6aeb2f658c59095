import type { Knex } from 'knex';
import {
  DEFAULT_SCHEDULE_STARTING_DEADLINE_SECONDS,
  FUNCTION_DEFAULTS,
  FunctionDefinition,
  FunctionScheduleSpec,
} from '../../constructs';

/** A schedule with its defaults filled in. */
export interface EffectiveSchedule {
  readonly name: string;
  readonly cron: string;
  readonly timeZone: string;
  readonly input: unknown;
  readonly concurrencyPolicy: 'Allow' | 'Forbid';
  readonly suspend: boolean;
  readonly startingDeadlineSeconds: number;
}

/** An applied function that has schedules. */
export interface ScheduledFunction {
  readonly project: string;
  readonly name: string;
  /** When its definition was last applied: no run is owed for a time before it. */
  readonly appliedAt: string;
  readonly timeoutSeconds: number;
  readonly schedules: readonly EffectiveSchedule[];
  readonly definition: FunctionDefinition;
}

/** A schedule's defaults (docs/function-schedules.md), in one place. */
export function effectiveSchedule(spec: FunctionScheduleSpec): EffectiveSchedule {
  return {
    name: spec.name,
    cron: spec.cron,
    timeZone: spec.timeZone ?? 'UTC',
    input: spec.input ?? {},
    // Forbid, as a CronJob of the platform: overlapping runs of a job are seldom wanted.
    concurrencyPolicy: spec.concurrencyPolicy === 'Allow' ? 'Allow' : 'Forbid',
    suspend: spec.suspend ?? false,
    startingDeadlineSeconds:
      spec.startingDeadlineSeconds ?? DEFAULT_SCHEDULE_STARTING_DEADLINE_SECONDS,
  };
}

/** The scheduled function of a stored definition; undefined when it has no schedules. */
export function scheduledFunction(
  definition: FunctionDefinition,
  appliedAt: string,
): ScheduledFunction | undefined {
  const schedules = definition.spec.schedules ?? [];
  if (schedules.length === 0) return undefined;
  return {
    project: definition.metadata.project,
    name: definition.metadata.name,
    appliedAt,
    timeoutSeconds: definition.spec.timeoutSeconds ?? FUNCTION_DEFAULTS.timeoutSeconds,
    schedules: schedules.map(effectiveSchedule),
    definition,
  };
}

/**
 * Every applied function with schedules, of every project: the store's definitions are what
 * the API applied, so a schedule runs exactly while its definition is applied.
 */
export async function scheduledFunctions(db: Knex): Promise<ScheduledFunction[]> {
  const rows = (await db('applications')
    .select('definition', 'updated_at')
    .where({ kind: 'Function' })
    .andWhere('version', '>', 0)
    // Most functions have none: only those whose stored JSON names schedules are parsed.
    .andWhere('definition', 'like', '%"schedules":[%')) as {
    definition: string;
    updated_at: string;
  }[];
  return rows.flatMap((row) => {
    const found = scheduledFunction(
      JSON.parse(row.definition) as FunctionDefinition,
      row.updated_at,
    );
    return found ? [found] : [];
  });
}
