/**
 * An API per test store, each with the same definitions applied, all started in one
 * file-level `beforeAll`: the scheduled runs each store's suite waits for (the next minute's
 * start) then come for all of them at once instead of one minute boundary after the other.
 */
import { randomBytes } from 'node:crypto';
import {
  type ApiProcess,
  projectRequest,
  type TestStore,
  startApi,
  testStores,
  token,
} from '../api/api-process';

/** A store's API with the definitions applied, and the environment it was started with. */
export interface StoreApi {
  readonly env: Record<string, string>;
  readonly api: ApiProcess;
}

/** One store of the file, for `describe.each`. */
export interface StoreOfFile {
  readonly name: string;
  readonly store: TestStore;
  /** The namespace prefix of its API (its own, so that the stores' objects never meet). */
  readonly prefix: string;
}

/** The file's stores and, per store name, its API's start. */
export interface StoreApis {
  readonly stores: readonly StoreOfFile[];
  /** The API of a store, once the file's `beforeAll` has started it (rejects if it failed). */
  apiOf(name: string): Promise<StoreApi>;
  /**
   * Stops the suite's current API (`current`: a test may have restarted it), else the store's
   * API as started, also when the suite's own `beforeAll` failed.
   */
  stop(name: string, current: ApiProcess | undefined): Promise<void>;
}

/**
 * Registers the file-level `beforeAll` that starts an API per store (prefix
 * `<letter><random>-`) and applies `definitions` in `project` through each.
 */
export function startStoreApisAtOnce(
  project: string,
  definitions: readonly object[],
  letter: string,
): StoreApis {
  const stores = testStores().map((store) => ({
    name: store.name,
    store,
    prefix: `${letter}${randomBytes(2).toString('hex')}-`,
  }));
  const started = new Map<string, Promise<StoreApi>>();

  const startWithDefinitions = async (
    { store, prefix }: StoreOfFile,
    headers: Record<string, string>,
  ): Promise<StoreApi> => {
    const env = { ...(await store.env()), HKS_NAMESPACE_PREFIX: prefix };
    const api = await startApi(env);
    for (const definition of definitions) {
      const res = await projectRequest(api, project, headers, 'POST', '/applications', definition);
      expect(res.status).toBe(201);
    }
    return { env, api };
  };

  beforeAll(async () => {
    const headers = {
      authorization: `Bearer ${await token([project])}`,
      'content-type': 'application/json',
    };
    for (const store of stores) started.set(store.name, startWithDefinitions(store, headers));
    await Promise.allSettled(started.values());
  }, 90_000);

  return {
    stores,
    apiOf(name) {
      const api = started.get(name);
      if (api === undefined) throw new Error(`no API was started for the ${name} store`);
      return api;
    },
    async stop(name, current) {
      await (current ?? (await started.get(name)?.catch(() => undefined))?.api)?.stop();
    },
  };
}
