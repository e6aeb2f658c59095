import { LABELS, MANAGER } from '../constructs';
import { EPHEMERAL_LABEL, EXPIRES_LABEL } from './functions';
import { KnativeApi } from './knative';
import { Kube } from './kube';
import { FunctionMetrics } from './metrics';
import { removeFunction } from './operations';

/**
 * Removes ephemeral functions past their expiry, so an API that dies between deploying and
 * deleting one leaks nothing. Any API replica may run it: deletes are idempotent.
 */
export class Janitor {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly knative: KnativeApi,
    private readonly kube: Kube,
    private readonly namespacePrefix: string,
    private readonly metrics: FunctionMetrics,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void,
  ) {}

  /** Sweeps now and then every `intervalMs`. */
  public start(intervalMs: number): void {
    const tick = () => {
      this.running ??= this.sweep()
        .then(
          (removed) => {
            if (removed.length) this.log('removed expired ephemeral functions', { removed });
          },
          (error: unknown) =>
            this.log('janitor sweep failed; retrying at the next interval', {
              error: String(error),
            }),
        )
        .finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  public stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Deletes every ephemeral function of this installation whose expiry has passed.
   * @returns `namespace/name` of each function removed
   */
  public async sweep(now = Date.now()): Promise<string[]> {
    const services = await this.knative.listServices(
      undefined,
      `${LABELS.managedBy}=${MANAGER},${EPHEMERAL_LABEL}=true`,
    );
    const expired = services.filter((s) => {
      const project = s.metadata.labels?.[LABELS.project];
      const expiresAt = Number(s.metadata.labels?.[EXPIRES_LABEL]);
      return (
        project !== undefined &&
        s.metadata.namespace === `${this.namespacePrefix}${project}` &&
        Number.isFinite(expiresAt) &&
        expiresAt * 1000 <= now
      );
    });
    await Promise.all(expired.map((s) => removeFunction(this.kube, s)));
    if (expired.length) this.metrics.expired(expired.length);
    return expired.map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
  }
}
