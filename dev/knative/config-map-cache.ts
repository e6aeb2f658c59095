import { SharedInformer } from '../../api/shared-informer';
import type { ActionLog } from './action-log';
import { CONFIG_MAPS_PATH, type KubeAccess } from './kube-access';

interface ConfigMap {
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly data?: Readonly<Record<string, string>>;
}

/** Label the platform puts on a Function's ConfigMap (and every object of a Function). */
export const FUNCTION_KIND_SELECTOR = 'hks.hexabase.io/kind=Function';

/**
 * The Functions' ConfigMaps (by label), kept by an informer (list, then a watch resumed from
 * the last resourceVersion): starting a revision then needs no API call for its source.
 * ConfigMaps not (yet) in the cache are read from the API server.
 */
export class ConfigMapCache {
  private readonly informer: SharedInformer<ConfigMap>;
  private changeWaiters: (() => void)[] = [];

  constructor(
    private readonly kube: KubeAccess,
    log: ActionLog,
    labelSelector = FUNCTION_KIND_SELECTOR,
  ) {
    this.informer = new SharedInformer<ConfigMap>(kube.rest, {
      what: 'ConfigMap',
      path: CONFIG_MAPS_PATH,
      labelSelector,
      list: async () => {
        const { items, resourceVersion } = await kube.list<ConfigMap>(
          CONFIG_MAPS_PATH,
          labelSelector,
        );
        return { items, metadata: { resourceVersion } };
      },
      maxRetryDelayMs: 5_000,
      log,
    });
    const wake = () => {
      for (const wake of this.changeWaiters.splice(0)) wake();
    };
    this.informer.on('add', wake);
    this.informer.on('update', wake);
    this.informer.on('delete', wake);
  }

  /** Lists and starts watching; resolves once the first list is in. */
  public start(): Promise<void> {
    return this.informer.start();
  }

  /** A ConfigMap's data: from the cache, else from the API server; undefined when missing. */
  public async get(
    namespace: string,
    name: string,
  ): Promise<Readonly<Record<string, string>> | undefined> {
    const cached = this.informer.get(name, namespace);
    return cached === undefined ? this.kube.configMap(namespace, name) : { ...cached.data };
  }

  /** Resolves at the next change the informer sees, or after `timeoutMs`, whichever is first. */
  public nextChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiters = this.changeWaiters;
      function done() {
        clearTimeout(timer);
        const index = waiters.indexOf(done);
        if (index >= 0) waiters.splice(index, 1);
        resolve();
      }
      waiters.push(done);
    });
  }

  public stop(): void {
    void this.informer.stop();
  }
}
