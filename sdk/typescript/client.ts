import { ApplicationsApi } from './applications';
import { AsyncInvocationsApi } from './async-invocations';
import { CronJobsApi } from './cron-jobs';
import { FunctionSchedulesApi } from './function-schedules';
import { FunctionsApi } from './functions';
import { Http } from './http';
import { OperationsApi } from './operations';
import { UsageApi } from './usage';

/** How to reach the HKS API. */
export interface HksClientOptions {
  /** Root URL of the API, e.g. `http://localhost:8080` (without `/api/v1`). */
  readonly apiUrl: string;
  /** Bearer token: a user token for the user API, an internal token for `operations`. */
  readonly token: string;
  /** The fetch implementation. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * Time limit of one request until its answer is read (for log streams: until the answer
   * starts). Invocations and operations, which run user code, have their own `timeoutMs`
   * (default 15 minutes).
   * @default 30000
   */
  readonly timeoutMs?: number;
}

/**
 * A typed client of the HKS API.
 *
 * ```ts
 * const hks = new HksClient({ apiUrl: 'http://localhost:8080', token });
 * await hks.functions.waitUntilReady('shop', 'resize');
 * const out = await hks.functions.invoke('shop', 'resize', { width: 300 });
 * ```
 *
 * Error statuses throw `HksApiError` (status and problem details); network failures and
 * timeouts throw `HksTransportError`.
 */
export class HksClient {
  /** Definitions of any kind: create, replace, delete, dry run, manifests. */
  public readonly applications: ApplicationsApi;
  /** Schedules, manual runs, execution history and logs. */
  public readonly cronJobs: CronJobsApi;
  /** Functions: status, invocation, logs, revisions, traffic. */
  public readonly functions: FunctionsApi;
  /** Asynchronous invocations of Functions: queue, poll, cancel, the callback key. */
  public readonly asyncInvocations: AsyncInvocationsApi;
  /** Functions' schedules: next and last runs, the runs, a manual run, suspend and resume. */
  public readonly schedules: FunctionSchedulesApi;
  /** The internal execute-once API (needs an internal token). */
  public readonly operations: OperationsApi;
  /** Usage and cost of functions and CronJobs. */
  public readonly usage: UsageApi;

  constructor(options: HksClientOptions) {
    if (!/^https?:\/\//.test(options.apiUrl)) {
      throw new TypeError(
        `apiUrl: given ${JSON.stringify(options.apiUrl)}, expected an http:// or https:// URL`,
      );
    }
    const fetchImpl = options.fetch ?? globalThis.fetch;
    const http = new Http({
      apiUrl: options.apiUrl,
      token: options.token,
      fetch: fetchImpl,
      timeoutMs: options.timeoutMs ?? 30_000,
    });
    this.applications = new ApplicationsApi(http);
    this.cronJobs = new CronJobsApi(http);
    this.functions = new FunctionsApi(http);
    this.asyncInvocations = new AsyncInvocationsApi(http);
    this.schedules = new FunctionSchedulesApi(http);
    this.operations = new OperationsApi(http);
    this.usage = new UsageApi(http);
  }
}
