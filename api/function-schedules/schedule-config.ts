import { ConfigError } from '../config';
import { ScheduleClock } from './schedule-clock';

/** How the API runs functions' schedules (docs/function-schedules.md). */
export interface ScheduleSettings {
  /** `HKS_FUNCTION_SCHEDULES`: "off" runs no schedule on this replica. @default "on" */
  readonly enabled: boolean;
  /** `HKS_SCHEDULER_TICK_MS`: how often the leader looks for due runs. @default 1000 */
  readonly tickMs: number;
  /**
   * `HKS_SCHEDULER_CLOCK_SPEED` and `HKS_SCHEDULER_CLOCK_ANCHOR` (tests only): schedule time
   * runs `speed` times as fast as the wall clock from the anchor instant on.
   * @default - the wall clock
   */
  readonly clock: ScheduleClock;
}

/** Reads the schedule settings. @throws ConfigError naming the variable, the value and what is expected */
export function readScheduleSettings(env: NodeJS.ProcessEnv = process.env): ScheduleSettings {
  const enabled = env.HKS_FUNCTION_SCHEDULES ?? 'on';
  if (enabled !== 'on' && enabled !== 'off')
    throw new ConfigError([
      `HKS_FUNCTION_SCHEDULES: given ${JSON.stringify(enabled)}, expected "on" or "off"`,
    ]);
  const tickText = env.HKS_SCHEDULER_TICK_MS ?? '1000';
  const tickMs = Number(tickText);
  if (!/^\d+$/.test(tickText) || tickMs < 50 || tickMs > 60_000)
    throw new ConfigError([
      `HKS_SCHEDULER_TICK_MS: given ${JSON.stringify(tickText)}, expected a whole number of milliseconds from 50 to 60000`,
    ]);
  const speedText = env.HKS_SCHEDULER_CLOCK_SPEED ?? '1';
  const speed = Number(speedText);
  if (!/^\d+$/.test(speedText) || speed < 1 || speed > 3600)
    throw new ConfigError([
      `HKS_SCHEDULER_CLOCK_SPEED: given ${JSON.stringify(speedText)}, expected a whole number from 1 (the wall clock) to 3600`,
    ]);
  if (speed === 1) return { enabled: enabled === 'on', tickMs, clock: ScheduleClock.REAL };
  const anchorText = env.HKS_SCHEDULER_CLOCK_ANCHOR ?? '';
  const anchorMs = Date.parse(anchorText);
  if (!/^\d{4}-\d{2}-\d{2}T.*Z$/.test(anchorText) || Number.isNaN(anchorMs))
    throw new ConfigError([
      `HKS_SCHEDULER_CLOCK_ANCHOR: given ${JSON.stringify(anchorText)}, expected an ISO 8601 instant in UTC (e.g. 2026-01-31T02:00:00Z) shared by every replica, since HKS_SCHEDULER_CLOCK_SPEED is ${speed}`,
    ]);
  return { enabled: enabled === 'on', tickMs, clock: new ScheduleClock(speed, anchorMs) };
}
