import { Schedule } from '../../constructs';

/** Most missed runs recorded at once; older ones are only counted. */
export const MAX_RECORDED_MISSED = 100;

/** How far back missed runs are looked for when the deadline is shorter: one day. */
export const MISSED_LOOKBACK_MS = 86_400_000;

/** What is due of one schedule at one instant. */
export interface RunPlan {
  /** The scheduled time to run now. @default - none due, or too late */
  readonly run?: number;
  /** Scheduled times past that will not run (recorded `missed`), oldest first. */
  readonly missed: readonly number[];
  /** Missed times within the look-back beyond {@link MAX_RECORDED_MISSED}, not recorded. */
  readonly uncountedMissed: number;
  /** The next scheduled time after now. @default - none within five years */
  readonly next?: number;
}

/**
 * The catch-up rule, as the CronJob controller's with `startingDeadlineSeconds`: of the times
 * due after `afterMs` up to `nowMs`, only the most recent runs, and only if it is at most
 * `deadlineSeconds` late; every earlier one, and the most recent when it is later than that,
 * is missed. Times are looked for back to the deadline or one day, whichever is longer.
 */
export function planRuns(
  schedule: Schedule,
  timeZone: string,
  afterMs: number,
  nowMs: number,
  deadlineSeconds: number,
): RunPlan {
  const lookback = Math.max(deadlineSeconds * 1000, MISSED_LOOKBACK_MS);
  let from = Math.max(afterMs, nowMs - lookback);
  const due: number[] = [];
  let dropped = 0;
  let next: number | undefined;
  for (;;) {
    const runs = schedule.nextRuns(100, { timeZone, from: new Date(from) });
    for (const run of runs) {
      const at = run.getTime();
      if (at > nowMs) {
        next = at;
        break;
      }
      due.push(at);
      if (due.length > MAX_RECORDED_MISSED + 1) {
        due.shift();
        dropped++;
      }
    }
    if (next !== undefined || runs.length < 100) break;
    from = runs[runs.length - 1].getTime();
  }
  const latest = due.at(-1);
  const inTime = latest !== undefined && nowMs - latest <= deadlineSeconds * 1000;
  return {
    run: inTime ? latest : undefined,
    missed: inTime ? due.slice(0, -1) : due.slice(-MAX_RECORDED_MISSED),
    uncountedMissed: dropped + (inTime || due.length <= MAX_RECORDED_MISSED ? 0 : 1),
    next,
  };
}
