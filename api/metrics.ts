import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestHandler } from 'express';
import type { RecorderMetrics } from './recorder';

/** The API's Prometheus metrics. */
export class ApiMetrics implements RecorderMetrics {
  public readonly registry = new Registry();
  private readonly requests = new Histogram({
    name: 'hks_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  private readonly applies = new Histogram({
    name: 'hks_apply_duration_seconds',
    help: 'Time to validate, synthesize, dry-run and apply one definition',
    labelNames: ['kind', 'outcome'],
    registers: [this.registry],
  });
  private readonly executions = new Counter({
    name: 'hks_executions_recorded_total',
    help: 'Finished CronJob executions recorded with their logs',
    labelNames: ['status'],
    registers: [this.registry],
  });
  private readonly watchRestarts = new Counter({
    name: 'hks_job_watch_restarts_total',
    help: 'Restarts of the Job watch (410 Gone, errors, closed connections)',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Express middleware timing every request by its route pattern. */
  public middleware(): RequestHandler {
    return (req, res, next) => {
      const end = this.requests.startTimer({ method: req.method });
      res.on('finish', () => {
        const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
        end({ route, status: String(res.statusCode) });
      });
      next();
    };
  }

  public timeApply(kind: string): (outcome: 'ok' | 'error') => void {
    const end = this.applies.startTimer({ kind });
    return (outcome) => end({ outcome });
  }

  public recorded(status: string): void {
    this.executions.inc({ status });
  }

  public watchRestarted(reason: string): void {
    this.watchRestarts.inc({ reason });
  }
}
