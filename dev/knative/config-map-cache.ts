import type { ActionLog } from './action-log';
import { CONFIG_MAPS_PATH, type KubeAccess } from './kube-access';
import { type ListWatch, listAndWatch } from './list-watch';

interface ConfigMap {
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly data?: Readonly<Record<string, string>>;
}

/** Label the platform puts on a Function's ConfigMap (and every object of a Function). */
export const FUNCTION_KIND_SELECTOR = 'hks.hexabase.io/kind=Function';

/**
 * The Functions' ConfigMaps (by label), kept by a watch: starting a revision then needs no
 * API call for its source. ConfigMaps not (yet) in the cache are read from the API server.
 */
export class ConfigMapCache {
  private readonly maps = new Map<string, Readonly<Record<string, string>>>();
  private watch: ListWatch | undefined;
  private changeWaiters: (() => void)[] = [];

  constructor(
    private readonly kube: KubeAccess,
    private readonly log: ActionLog,
    private readonly labelSelector = FUNCTION_KIND_SELECTOR,
  ) {}

  /** Lists and starts watching. */
  public async start(): Promise<void> {
    const key = (m: ConfigMap) => `${m.metadata.namespace}/${m.metadata.name}`;
    this.watch = await listAndWatch<ConfigMap>(
      this.kube,
      CONFIG_MAPS_PATH,
      this.labelSelector,
      {
        listed: (items) => {
          this.maps.clear();
          for (const map of items) this.maps.set(key(map), { ...map.data });
        },
        changed: (type, map) => {
          if (type === 'DELETED') this.maps.delete(key(map));
          else this.maps.set(key(map), { ...map.data });
          for (const wake of this.changeWaiters.splice(0)) wake();
        },
      },
      this.log,
    );
  }

  /** A ConfigMap's data: from the cache, else from the API server; undefined when missing. */
  public async get(
    namespace: string,
    name: string,
  ): Promise<Readonly<Record<string, string>> | undefined> {
    return this.maps.get(`${namespace}/${name}`) ?? this.kube.configMap(namespace, name);
  }

  /** Resolves at the next change the watch sees, or after `timeoutMs`, whichever is first. */
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
    this.watch?.stop();
  }
}
