import type { ActionLog } from './action-log';
import type { KubeAccess, WatchEvent } from './kube-access';

/** What a {@link listAndWatch} reports. */
export interface ListWatchHandlers<T> {
  /** Every object, after each (re)list; `at` is when the list was asked for (epoch ms). */
  listed(items: readonly T[], at: number): void;
  /** One change seen by the watch; `at` is when the event arrived (epoch ms). */
  changed(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T, at: number): void;
}

/** A running list-and-watch. */
export interface ListWatch {
  stop(): void;
}

/** Pause before listing again after a failed list or watch. */
const RETRY_MS = 1_000;

/**
 * Lists a collection and watches it from the list's version, listing again whenever the
 * watch ends (the server's timeout, a 410 Gone for a compacted version, a lost connection).
 * Resolves after the first list (tried until it works) has been reported and the watch runs.
 *
 * @param kube API access
 * @param path the collection, e.g. `/apis/serving.knative.dev/v1/services`
 * @param labelSelector only objects matching it
 * @param handlers receive the lists and changes
 * @param log receives errors and restarts
 */
export async function listAndWatch<T>(
  kube: KubeAccess,
  path: string,
  labelSelector: string | undefined,
  handlers: ListWatchHandlers<T>,
  log: ActionLog,
): Promise<ListWatch> {
  let stopped = false;
  let watch: AbortController | undefined;
  let retry: NodeJS.Timeout | undefined;
  const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

  const onEvent = (event: WatchEvent<T>) => {
    const at = Date.now();
    if (event.type === 'ERROR') {
      log('watch error', { path, code: event.object.code });
      watch?.abort();
      return;
    }
    if (event.type !== 'BOOKMARK') handlers.changed(event.type, event.object, at);
  };
  const relist = async (): Promise<void> => {
    const at = Date.now();
    const { items, resourceVersion } = await kube.list<T>(path, labelSelector);
    handlers.listed(items, at);
    if (stopped) return;
    watch = await kube.watch<T>(path, resourceVersion, labelSelector, onEvent, (error) => {
      if (stopped) return;
      if (error) log('watch ended', { path, message: message(error) });
      retry = setTimeout(() => void relistLoop(), error ? RETRY_MS : 0);
    });
  };
  const relistLoop = async (): Promise<void> => {
    try {
      await relist();
    } catch (error) {
      log('error', { path, message: `list: ${message(error)}` });
      if (!stopped) retry = setTimeout(() => void relistLoop(), RETRY_MS);
    }
  };

  // The first list is tried until it works (e.g. CRDs just installed answer 429 for a while).
  for (;;) {
    try {
      await relist();
      break;
    } catch (error) {
      log('error', { path, message: `list: ${message(error)}` });
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
  return {
    stop() {
      stopped = true;
      clearTimeout(retry);
      watch?.abort();
    },
  };
}
