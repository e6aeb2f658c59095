import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadKubeConfig } from '../../api/kube-config';
import { type EventSource, SharedInformer } from '../../api/shared-informer';
import { type ActionLog, silentActionLog } from './action-log';
import { ConfigMapCache } from './config-map-cache';
import { KubeAccess, SERVICES_PATH } from './kube-access';
import { DEFAULT_RUN_AS, setUpIsolation } from './process-isolation';
import { RealPods } from './real-pod';
import { ServiceReconciler } from './service-reconciler';
import { SERVICE_LABEL } from './revision-manifest';
import type { KnativeRevision, KnativeService } from './types';

/** Options of {@link runKnativeStandIn}. */
export interface KnativeStandInOptions {
  /**
   * Path of the kubeconfig file of the cluster.
   * @default - `KUBECONFIG`, else `~/.kube/config`, else the in-cluster service account
   */
  readonly kubeconfig?: string;
  /**
   * Folder for revisions' files and logs (`<namespace>/<service>/<revision>/`). Run as root,
   * the stand-in makes it mode 0700 and puts the function files (readable by their user) in
   * a temporary folder of its own instead, removed when it stops.
   * @default - `.hks/knative` in the repository
   */
  readonly stateDir?: string;
  /**
   * Only Services in namespaces starting with this prefix are handled.
   * @default - every namespace
   */
  readonly namespacePrefix?: string;
  /**
   * Receives one line per action.
   * @default - nothing is logged
   */
  readonly log?: ActionLog;
  /**
   * How long a revision's process may take to answer `GET /healthz` with 200.
   * @default 30000
   */
  readonly readyTimeoutMs?: number;
  /**
   * Pause between health checks of a starting process.
   * @default 20
   */
  readonly healthPollMs?: number;
  /**
   * Node labels of the pods standing for revision processes (kwok's fake nodes, where nothing
   * runs for real); `false` creates no pods.
   * @default { type: 'kwok' }
   */
  readonly podNodeSelector?: Readonly<Record<string, string>> | false;
  /**
   * The uid function processes run as when the stand-in runs as root (0: as root too).
   * Without root they run as the stand-in's user.
   * @default 65534 (nobody)
   */
  readonly runAsUser?: number;
  /**
   * The gid function processes run as when the stand-in runs as root.
   * @default 65534 (nogroup)
   */
  readonly runAsGroup?: number;
  /**
   * Idle time after which a revision with min-scale 0 is scaled to zero: its process stops
   * and its pod goes; it stays Ready and routed, and the next request starts it again from
   * its ConfigMap (the request waits, as at Knative's activator). Knative's own is the stable
   * window (60 s) plus `scale-to-zero-grace-period` (30 s).
   * @default - revisions are never scaled to zero
   */
  readonly scaleToZeroAfterMs?: number;
  /**
   * How long a revision no longer routed (not the latest, not named in `spec.traffic`) is
   * kept before the stand-in deletes it, as Knative's revision GC does (`config-gc`
   * `retain-since-last-active-time`, with `min-non-active-revisions` 0).
   * @default - kept until its Service is deleted
   */
  readonly retainNonActiveMs?: number;
  /**
   * Runs each revision as its own pod on the test cluster's real node (`HKS_CLUSTER_REAL_NODE=1
   * npm run cluster:up`) instead of a local process with a placeholder pod on kwok.
   * @default false
   */
  readonly realPods?: boolean;
}

/** A running stand-in. */
export interface KnativeStandIn {
  /** Stops watching, stops every process and deletes the pods it created. */
  stop(): Promise<void>;
}

// This module loads @kubernetes/client-node, an ES module that jest (CommonJS) cannot
// require: tests use startKnativeStandIn (index.ts), which runs main.ts as a child process.

/**
 * Runs the Knative controller stand-in in this process — for development and tests only,
 * never used in production: it watches `serving.knative.dev/v1` Services in all namespaces and plays
 * Knative's part for them (Revisions, source-runtime functions run as local processes with
 * pods and logs on kwok's fake nodes, a router per Service on 127.0.0.1, Service status).
 * Resolves once the Services already there are listed and the watch runs.
 */
export async function runKnativeStandIn(
  options: KnativeStandInOptions = {},
): Promise<KnativeStandIn> {
  const config = loadKubeConfig(options.kubeconfig);
  const kube = new KubeAccess(config);
  const log = options.log ?? silentActionLog;
  const stateDir = resolve(options.stateDir ?? join(__dirname, '..', '..', '.hks', 'knative'));
  mkdirSync(stateDir, { recursive: true });
  const prefix = options.namespacePrefix ?? '';
  const podNodeSelector =
    options.podNodeSelector === false ? undefined : (options.podNodeSelector ?? { type: 'kwok' });
  const kwokLogs =
    podNodeSelector !== undefined &&
    (await untilDone('find kwok Logs', () => kube.hasKwokLogs(), log));
  if (podNodeSelector !== undefined && !kwokLogs) {
    log('warning', {
      message:
        'kwok Logs objects are not served (kwok needs --enable-crds=Logs and its CRD); pod logs will not show the processes output',
    });
  }
  const configMaps = new ConfigMapCache(kube, log);
  const isolation = setUpIsolation({
    stateDir,
    runAs: {
      uid: options.runAsUser ?? DEFAULT_RUN_AS.uid,
      gid: options.runAsGroup ?? DEFAULT_RUN_AS.gid,
    },
    log,
  });
  const ctx = {
    kube,
    configMaps,
    log,
    stateDir,
    isolation,
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    healthPollMs: options.healthPollMs ?? 20,
    podNodeSelector,
    kwokLogs,
    scaleToZeroAfterMs: options.scaleToZeroAfterMs,
    retainNonActiveMs: options.retainNonActiveMs,
    realPods: options.realPods ? new RealPods(kube, log) : undefined,
  };
  const services = new Map<string, ServiceReconciler>();
  // Revisions stored before this start, by Service: listed once, so that reacting to a new
  // Service costs no extra call (the stand-in is the only writer of Revisions).
  const stored = new Map<string, KnativeRevision[]>();
  for (const revision of await untilDone('list Revisions', () => kube.listAllRevisions(), log)) {
    const service = revision.metadata.labels?.[SERVICE_LABEL];
    if (service === undefined) continue;
    const k = `${revision.metadata.namespace}/${service}`;
    stored.set(k, [...(stored.get(k) ?? []), revision]);
  }
  const key = (s: KnativeService) => `${s.metadata.namespace}/${s.metadata.name}`;
  const ours = (s: KnativeService) => s.metadata.namespace.startsWith(prefix);
  const remove = (k: string) => {
    const reconciler = services.get(k);
    services.delete(k);
    return reconciler?.shutdown(true);
  };
  const handle = (service: KnativeService, receivedAt: number) => {
    const k = key(service);
    if (service.metadata.deletionTimestamp !== undefined) {
      void remove(k);
      return;
    }
    let reconciler = services.get(k);
    if (reconciler !== undefined && reconciler.uid !== service.metadata.uid) {
      void remove(k);
      reconciler = undefined;
    }
    if (reconciler === undefined) {
      reconciler = new ServiceReconciler(ctx, service, stored.get(k) ?? []);
      stored.delete(k);
      services.set(k, reconciler);
    }
    void reconciler.update(service, receivedAt);
  };

  // Finding the source runtimes' programs for their user also warms up spawning.
  await Promise.all([
    configMaps.start(),
    kube.warmUp(),
    warmUpSpawn(),
    isolation.program('python3'),
    isolation.program('node'),
  ]);
  // One informer: a watch resumed from the last resourceVersion, relisting only after 410 Gone.
  const informer = new SharedInformer<KnativeService>(kube.rest, {
    what: 'Knative Service',
    path: SERVICES_PATH,
    list: async () => {
      const { items, resourceVersion } = await kube.list<KnativeService>(SERVICES_PATH);
      return { items, metadata: { resourceVersion } };
    },
    maxRetryDelayMs: 5_000,
    log,
  });
  // After each (re)list every Service is reconciled (the list's changes come with it); the
  // watch's changes one by one.
  informer.onListed((items) => {
    const at = Date.now();
    const present = new Set(items.filter(ours).map(key));
    for (const k of [...services.keys()]) if (!present.has(k)) void remove(k);
    for (const service of items.filter(ours)) handle(service, at);
  });
  const changed = (service: KnativeService, source: EventSource) => {
    if (source === 'watch' && ours(service)) handle(service, Date.now());
  };
  informer.on('add', changed);
  informer.on('update', changed);
  informer.on('delete', (service, source) => {
    if (source === 'watch' && ours(service)) void remove(key(service));
  });
  await informer.start();
  log('started', {
    stateDir,
    namespacePrefix: prefix || undefined,
    kwokLogs,
    scaleToZeroAfterMs: options.scaleToZeroAfterMs,
    retainNonActiveMs: options.retainNonActiveMs,
    realPods: options.realPods,
  });
  return {
    async stop() {
      await informer.stop();
      configMaps.stop();
      await Promise.all([...services.values()].map((r) => r.shutdown(false)));
      services.clear();
      await ctx.realPods?.stop();
      isolation.close();
      kube.close();
      log('stopped', {});
    },
  };
}

/** Calls `call` until it works (an API server starting up, CRDs not yet served). */
async function untilDone<T>(what: string, call: () => Promise<T>, log: ActionLog): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      log('error', {
        message: `${what}: ${error instanceof Error ? error.message : String(error)}`,
      });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

/** Spawns one short process, so that the first function's spawn does not pay the warm-up. */
function warmUpSpawn(): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--version'], { stdio: 'ignore' });
    child.once('close', () => resolve());
    child.once('error', () => resolve());
  });
}
