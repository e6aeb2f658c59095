/**
 * A fixed number of slots shared by tenants: waiting tenants take turns (round robin), and one
 * tenant holds at most `perTenant` slots at once, so one tenant's slow work cannot make the
 * others queue behind it.
 */
export class FairSlots {
  /** Per tenant, the grants waiting, in arrival order; the map's order is the turn order. */
  private readonly waiting = new Map<string, (() => void)[]>();
  private readonly held = new Map<string, number>();
  private used = 0;

  constructor(
    private readonly size: number,
    private readonly perTenant: number,
  ) {}

  /** Runs `work` once `tenant` is given a slot. */
  public async run<T>(tenant: string, work: () => Promise<T>): Promise<T> {
    await new Promise<void>((grant) => {
      const queue = this.waiting.get(tenant) ?? [];
      queue.push(grant);
      this.waiting.set(tenant, queue);
      this.dispatch();
    });
    try {
      return await work();
    } finally {
      this.used--;
      const held = (this.held.get(tenant) ?? 1) - 1;
      if (held > 0) this.held.set(tenant, held);
      else this.held.delete(tenant);
      this.dispatch();
    }
  }

  private dispatch(): void {
    while (this.used < this.size) {
      const tenant = [...this.waiting.keys()].find((t) => (this.held.get(t) ?? 0) < this.perTenant);
      if (tenant === undefined) return;
      const queue = this.waiting.get(tenant) ?? [];
      const grant = queue.shift();
      // Its turn is over: it queues again behind the other waiting tenants.
      this.waiting.delete(tenant);
      if (queue.length > 0) this.waiting.set(tenant, queue);
      this.used++;
      this.held.set(tenant, (this.held.get(tenant) ?? 0) + 1);
      grant?.();
    }
  }
}
