import { Counter, Gauge, Registry } from 'prom-client';

/** Runtimes by project, with a pool's instances in each state, as a pool reports them. */
export type PoolCounts = (
  set: (labels: { project: string; runtime: string; state: string }, value: number) => void,
) => void;

/**
 * The warm pool's metrics, whichever kind of pool serves: hits and misses
 * (`hks_warm_pool_executions_total`) and instances by state (`hks_warm_pool_instances`, read
 * from the pool when scraped).
 * @returns the counter of executes served (`hit`) or deployed (`miss`)
 */
export function warmPoolMetrics(
  registry: Registry,
  counts: PoolCounts,
): Counter<'project' | 'runtime' | 'result'> {
  const instances: Gauge<'project' | 'runtime' | 'state'> = new Gauge({
    name: 'hks_warm_pool_instances',
    help: 'Warm pool instances: of this API replica, ready or starting (services); of the pool, idle or starting (deployment)',
    labelNames: ['project', 'runtime', 'state'],
    registers: [registry],
    collect: () => counts((labels, value) => instances.set(labels, value)),
  });
  return new Counter({
    name: 'hks_warm_pool_executions_total',
    help: 'Execute-once calls of pooled projects, by whether a warm instance served them (hit) or the function was deployed (miss)',
    labelNames: ['project', 'runtime', 'result'],
    registers: [registry],
  });
}
