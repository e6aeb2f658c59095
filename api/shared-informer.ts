import { createInterface } from 'node:readline';
import {
  type KubernetesObject,
  type ListPromise,
  ListWatch,
  type ObjectCache,
  type Watch,
} from '@kubernetes/client-node';
import { backOff } from 'exponential-backoff';
import { DEFAULT_KUBE_TIMEOUT_MS, KubeRest, KubeTimeoutError } from './kube-rest';
import { outsideRequest } from './request-signal';

/** Seconds after which the API server ends an informer's watch (`timeoutSeconds`). */
export const WATCH_TIMEOUT_SECONDS = 300;

/** Seconds a watch may stay open and silent past its `timeoutSeconds` before it counts as dead. */
export const WATCH_IDLE_GRACE_SECONDS = 30;

/** What an informer caches: objects with a name (and namespace) and a resourceVersion. */
export interface InformedObject {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly resourceVersion?: string;
  };
}

/** A list answer of the API server. */
export interface ObjectList<T> {
  readonly items: T[];
  readonly metadata?: { readonly resourceVersion?: string };
}

/** Receives the informer's log lines (restarts and failures); fields are plain values. */
export type InformerLog = (
  message: string,
  fields: Readonly<Record<string, string | number | boolean | undefined>>,
) => void;

/** Where an object event came from. */
export type EventSource = 'list' | 'watch';

/** Why an informer reconnects: its list or watch failed (`410 Gone` relists by itself). */
export type RestartReason = 'gone' | 'error';

/** What {@link SharedInformer} watches and how it retries. */
export interface SharedInformerOptions<T> {
  /** What it watches, in log lines, e.g. `Job`. */
  readonly what: string;
  /** The collection, e.g. `/apis/batch/v1/jobs` (all namespaces). */
  readonly path: string;
  /** Lists the collection (with the same selector); its resourceVersion is watched from. */
  readonly list: () => Promise<ObjectList<T>>;
  /** Only objects with these labels. @default - all */
  readonly labelSelector?: string;
  /** Deadline of a watch's connection (`HKS_KUBE_TIMEOUT_SECONDS`). @default DEFAULT_KUBE_TIMEOUT_MS */
  readonly connectTimeoutMs?: number;
  /** The server ends each watch after this; the informer resumes it. @default WATCH_TIMEOUT_SECONDS */
  readonly watchTimeoutSeconds?: number;
  /** Delay before the first retry after a failed list or watch, doubled each time. @default 1000 */
  readonly retryDelayMs?: number;
  /** Longest delay between retries. @default 60000 */
  readonly maxRetryDelayMs?: number;
  /** Receives restarts and failures. @default - nothing is logged */
  readonly log?: InformerLog;
  /** Called at each reconnection after a failure, with its reason (for metrics). */
  readonly restarted?: (reason: RestartReason) => void;
}

/**
 * A client-node informer (`ListWatch`: the cache and its events) fed by {@link KubeRest} (its
 * lists and watches over the process's one connection pool) that keeps going: it lists, watches from the list's
 * resourceVersion and, when a watch ends (the server's `timeoutSeconds`), watches again from
 * the last resourceVersion it saw (bookmarks included); only a `410 Gone` makes it list again.
 * Where client-node's informer stops for good (a failed list, a watch refused or broken, a
 * watch that does not connect within the deadline or stays silent
 * {@link WATCH_IDLE_GRACE_SECONDS} past its timeout: a frozen or vanished server), this one
 * reconnects with exponential backoff (full jitter), still from the last resourceVersion.
 * It runs outside any HTTP request's context, whoever starts it.
 */
export class SharedInformer<T extends InformedObject> implements ObjectCache<T> {
  private readonly informer: ListWatch<KubernetesObject>;
  private readonly watch: DeadlineWatch;
  private readonly options: SharedInformerOptions<T>;
  private readonly listedHandlers: ((objects: readonly T[]) => void)[] = [];
  private starting?: Promise<void>;
  private resuming?: Promise<void>;
  private connecting = false;
  private failure: unknown;
  private stopped = false;
  private listing = false;
  private listApplied = false;
  /** The last failure of a list or watch, until a connection works again. */
  public lastError: unknown;

  constructor(rest: KubeRest, options: SharedInformerOptions<T>) {
    this.options = options;
    this.watch = new DeadlineWatch(
      rest,
      options.connectTimeoutMs ?? DEFAULT_KUBE_TIMEOUT_MS,
      options.watchTimeoutSeconds ?? WATCH_TIMEOUT_SECONDS,
      () => this.watchStarting(),
    );
    const list = async () => {
      const answer = await options.list();
      // The informer applies the list to its cache, then watches: events until then are the list's.
      this.listing = true;
      return answer;
    };
    this.informer = new ListWatch<KubernetesObject>(
      options.path,
      // ListWatch calls nothing but watch() of its Watch.
      this.watch as unknown as Watch,
      list as unknown as ListPromise<KubernetesObject>,
      false,
      options.labelSelector,
    );
    this.informer.on('error', (error: unknown) => {
      this.failure = error;
      this.lastError = error;
      if (!this.connecting) this.resume(error);
    });
  }

  /** Calls `handler` for every object added, updated or deleted, seen by a list or the watch. */
  public on(
    verb: 'add' | 'update' | 'delete',
    handler: (object: T, source: EventSource) => void,
  ): void {
    this.informer.on(verb, (object) => handler(object as T, this.listing ? 'list' : 'watch'));
  }

  /** Calls `handler` with every cached object after each (re)list has been applied. */
  public onListed(handler: (objects: readonly T[]) => void): void {
    this.listedHandlers.push(handler);
  }

  public get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace) as T | undefined;
  }

  public list(namespace?: string): readonly T[] {
    return this.informer.list(namespace) as readonly T[];
  }

  /** Whether a list has been applied to the cache (it may be stale while reconnecting). */
  public get synced(): boolean {
    return this.listApplied;
  }

  /**
   * Starts listing and watching (once: later calls share the first); resolves once the first
   * list is in the cache and its watch connected. Failures are logged and retried with backoff.
   * @throws Error when stopped before that
   */
  public start(): Promise<void> {
    this.starting ??= outsideRequest(async () => {
      try {
        await this.connect();
      } catch (error) {
        this.resume(error);
        await this.resuming;
      }
      if (this.stopped) throw new Error(`the ${this.options.what} informer was stopped`);
    });
    return this.starting;
  }

  /** Stops watching and retrying; the cache stays as it was. */
  public async stop(): Promise<void> {
    this.stopped = true;
    this.watch.close();
    await this.informer.stop();
  }

  private watchStarting(): void {
    if (!this.listing) return;
    this.listing = false;
    this.listApplied = true;
    const objects = this.list();
    for (const handler of this.listedHandlers) handler(objects);
  }

  /** One list-if-needed and watch; throws what made it fail. */
  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.connecting = true;
    this.failure = undefined;
    try {
      await this.informer.start();
    } finally {
      this.connecting = false;
      this.listing = false;
    }
    if (this.failure !== undefined) throw this.failure;
    this.lastError = undefined;
  }

  /** Reconnects with backoff after a list or watch failed. */
  private resume(error: unknown): void {
    if (this.stopped || this.resuming) return;
    const log = this.options.log ?? (() => undefined);
    const reason = isGone(error) ? 'gone' : 'error';
    this.options.restarted?.(reason);
    log(`${this.options.what} watch failed; resuming from the last resourceVersion`, {
      reason,
      error: describeError(error),
    });
    this.resuming = backOff(() => this.connect(), {
      delayFirstAttempt: true,
      startingDelay: this.options.retryDelayMs ?? 1000,
      maxDelay: this.options.maxRetryDelayMs ?? 60_000,
      jitter: 'full',
      numOfAttempts: Number.MAX_SAFE_INTEGER,
      retry: (e: unknown) => {
        if (!this.stopped)
          log(`${this.options.what} watch still failing`, { error: describeError(e) });
        return !this.stopped;
      },
    })
      .catch(() => undefined)
      .finally(() => {
        this.resuming = undefined;
      });
  }
}

/**
 * A watch over {@link KubeRest} with deadlines, in the shape client-node's ListWatch calls: the
 * connection must be made within `connectTimeoutMs`, the server ends the watch after
 * `timeoutSeconds` (bookmarks asked for, so that the last resourceVersion stays recent), and a
 * watch silent and open {@link WATCH_IDLE_GRACE_SECONDS} past that ends with a
 * {@link KubeTimeoutError}. Aborting the returned controller (the informer stopping or
 * replacing the watch) ends it without calling `done`.
 */
class DeadlineWatch {
  private closed = false;
  private readonly open = new Set<AbortController>();

  constructor(
    private readonly rest: KubeRest,
    private readonly connectTimeoutMs: number,
    private readonly timeoutSeconds: number,
    private readonly starting: () => void,
  ) {}

  /** Ends the open watch and every later one at once. */
  public close(): void {
    this.closed = true;
    for (const handle of this.open) handle.abort();
  }

  public watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    this.starting();
    const handle = new AbortController();
    if (this.closed) {
      handle.abort();
      return Promise.resolve(handle);
    }
    this.open.add(handle);
    let ended = false;
    let idle: NodeJS.Timeout | undefined;
    handle.signal.addEventListener(
      'abort',
      () => {
        ended = true;
        clearTimeout(idle);
        this.open.delete(handle);
      },
      { once: true },
    );
    const query = new URLSearchParams({ watch: 'true' });
    const params = {
      ...queryParams,
      allowWatchBookmarks: true,
      timeoutSeconds: this.timeoutSeconds,
    };
    for (const [key, value] of Object.entries(params))
      if (value !== undefined) query.set(key, String(value));
    const silence = (this.timeoutSeconds + WATCH_IDLE_GRACE_SECONDS) * 1000;
    return new Promise<AbortController>((resolve) => {
      const end = (error: unknown) => {
        if (ended) return;
        handle.abort();
        done(error);
        resolve(handle);
      };
      const arm = (ms: number, what: string) => {
        clearTimeout(idle);
        idle = setTimeout(() => end(new KubeTimeoutError(`watch ${path}: ${what}`, ms)), ms);
      };
      arm(this.connectTimeoutMs, 'connect');
      this.rest
        .stream(`${path}?${query}`, { timeoutMs: this.connectTimeoutMs, signal: handle.signal })
        .then((events) => {
          if (ended) {
            events.destroy();
            return;
          }
          arm(silence, 'no event nor end');
          resolve(handle);
          const lines = createInterface({ input: events, crlfDelay: Infinity });
          lines.on('line', (line) => {
            if (ended) return;
            let event: { type: string; object: unknown };
            try {
              event = JSON.parse(line) as { type: string; object: unknown };
            } catch {
              return; // not an event: a line cut by a broken connection
            }
            arm(silence, 'no event nor end');
            callback(event.type, event.object, event);
          });
          // readline passes its input's errors on: a broken connection ends the watch.
          lines.on('error', end);
          events.on('error', end);
          lines.once('close', () => end(null));
        }, end);
    });
  }
}

/** Whether a list or watch failed with `410 Gone` (its resourceVersion was compacted). */
function isGone(error: unknown): boolean {
  const e = error as { code?: number; statusCode?: number; message?: string } | undefined;
  return (
    e?.code === 410 ||
    e?.statusCode === 410 ||
    /\b410\b|too old resource version|Gone/.test(e?.message ?? '')
  );
}

function describeError(error: unknown): string {
  const e = error as { detail?: string; message?: string } | undefined;
  return e?.detail ?? e?.message ?? String(error);
}
