/**
 * The clock schedules are read by. In production it is the wall clock; a test may speed it up
 * (`HKS_SCHEDULER_CLOCK_SPEED`, from an anchor every replica shares) so that minutes of cron
 * time pass in seconds — the runs, their `faas.time` and the catch-up rule all read this clock.
 */
export class ScheduleClock {
  /** The wall clock. */
  public static readonly REAL = new ScheduleClock(1, 0);

  /**
   * @param speed schedule milliseconds per real millisecond (1 = the wall clock)
   * @param anchorMs the instant (epoch ms) at which schedule time and real time agree
   */
  constructor(
    public readonly speed: number,
    public readonly anchorMs: number,
  ) {}

  /** Schedule time now (epoch ms). */
  public now(): number {
    return this.fromReal(Date.now());
  }

  /** The schedule time of a real instant. */
  public fromReal(realMs: number): number {
    return this.anchorMs + (realMs - this.anchorMs) * this.speed;
  }

  /** Real milliseconds until a schedule instant (0 when it is past). */
  public realDelayMs(scheduleMs: number): number {
    return Math.max(0, (scheduleMs - this.now()) / this.speed);
  }
}
