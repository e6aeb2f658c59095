/**
 * `npm start` — the HKS API. Configuration comes from environment variables (see docs/api.md);
 * the cluster from KUBECONFIG or the in-cluster service account.
 */
// First: tracing patches http and express as they load (api/tracing.ts).
import './tracing-start';
import { hostname } from 'node:os';
import { packageVersion } from '../constructs/package-dir';
import { AsyncInvocations } from './async-invocations';
import { tokenVerifier } from './auth';
import { ConfigError, loadConfig } from './config';
import { EventTriggers, readEventTriggerSettings } from './event-triggers';
import { readSessionMaxIdleSeconds, readSessionSweepSeconds } from './session-config';
import { WarmPoolHandle } from './warm-pool';
import { readWarmPoolSettings } from './warm-pool-config';
import { readScheduleSettings } from './function-schedules/schedule-config';
import { ScheduleLeadership } from './function-schedules/schedule-leadership';
import { Janitor } from './janitor';
import { KnativeApi } from './knative';
import { Kube } from './kube';
import { loadKubeConfig, NoClusterError } from './kube-config';
import { DEFAULT_KUBE_TIMEOUT_MS } from './kube-rest';
import { LeaseElector } from './leader-election';
import { createLogger, lineLogger, useProcessLogger } from './logger';
import { NamespaceAccess } from './namespace-access';
import { ApiMetrics } from './metrics';
import { Recorder } from './recorder';
import { RevisionSources } from './revision-sources';
import { RetentionSweeper } from './retention';
import { createServer } from './server';
import { reportTracing, tracingState } from './tracing';
import { readPriceTable } from './usage/price-table';
import { readPlatformSettings } from './platform-settings-config';
import { Store } from './store/store';

/** Runs a start-up step; bad configuration ends the process with exit code 2 and its message. */
function orExit<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof ConfigError || error instanceof NoClusterError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const config = orExit(loadConfig);
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  useProcessLogger(logger);
  const componentLog = (component: string) => lineLogger(logger.child({ component }));
  const log = componentLog('api');
  reportTracing(logger.child({ component: 'tracing' }));
  const version = packageVersion();
  const kubeConfig = orExit(() => loadKubeConfig());
  const store = await Store.open(config);
  const kube = new Kube(kubeConfig, config.limits.kubeTimeoutSeconds * 1000);
  const knative = new KnativeApi(kube, componentLog('informers'));
  const metrics = new ApiMetrics({ maxFunctions: config.metricsMaxFunctions });
  kube.rest.requests.onRequest((call) => metrics.kubeRequested(call));
  const namespaceAccess = await NamespaceAccess.discover(kube).catch((error: unknown) => {
    log('could not tell who the API runs as; creating no RoleBindings', { err: error });
    return NamespaceAccess.of(kube);
  });
  // The queue's workers run on every replica: PostgreSQL's row locks keep them apart (SQLite: one replica).
  const asyncInvocations = new AsyncInvocations(
    store.knex,
    config.asyncInvocations,
    componentLog('async'),
    metrics,
  );
  // Every replica pulls from the triggers' durable consumers: the server gives each message to one.
  const eventTriggers = new EventTriggers(
    orExit(() => readEventTriggerSettings()),
    store.knex,
    componentLog('event-triggers'),
  );
  const scheduleLeadership = new ScheduleLeadership(
    orExit(() => readScheduleSettings()),
    componentLog('scheduler'),
  );
  const warmPool = new WarmPoolHandle(
    orExit(() => readWarmPoolSettings(config.ephemeralMaxPerProject)),
  );
  const app = createServer({
    store,
    kube,
    knative,
    verify: tokenVerifier(config),
    metrics,
    namespacePrefix: config.namespacePrefix,
    version,
    userAudience: config.jwtAudience,
    functionGateway: config.functionGateway,
    functionAddresses: { clusterDomain: config.clusterDomain, devHosts: config.devFunctionHosts },
    metricsToken: config.metricsToken,
    readyTimeoutMs: config.readyTimeoutSeconds * 1000,
    ephemeralGraceSeconds: config.ephemeralGraceSeconds,
    ephemeralSafety: {
      limits: { cpuLimit: config.ephemeralCpuLimit, memoryLimit: config.ephemeralMemoryLimit },
      maxPerProject: config.ephemeralMaxPerProject,
      outputLimitBytes: config.executeOutputLimitBytes,
      fileLimits: config.executeFileLimits,
    },
    log,
    python: config.python,
    namespaceAccess,
    limits: config.limits,
    sessionMaxIdleSeconds: orExit(() => readSessionMaxIdleSeconds()),
    sessionSweepSeconds: orExit(() => readSessionSweepSeconds()),
    schedules: scheduleLeadership,
    asyncInvocations,
    eventTriggers,
    warmPool,
    priceTable: orExit(() => readPriceTable()),
    platformSettings: orExit(() => readPlatformSettings()),
  });
  asyncInvocations.start();
  eventTriggers.start();
  const janitor = new Janitor(
    knative,
    kube,
    config.namespacePrefix,
    metrics,
    componentLog('janitor'),
  );
  if (config.janitorIntervalSeconds > 0) janitor.start(config.janitorIntervalSeconds * 1000);
  const revisionSources = new RevisionSources(
    kube,
    config.namespacePrefix,
    componentLog('revision-sources'),
  );
  revisionSources.start();
  const server = app.listen(config.port, () => {
    const address = server.address();
    log('listening', {
      port: typeof address === 'object' && address !== null ? address.port : config.port,
      store: config.databaseUrl ? 'postgres' : 'sqlite',
      kubernetesUser: namespaceAccess.describe(),
    });
  });
  // The recorder and the retention sweep run on one replica at a time: a new recorder per
  // term of leadership (a stopped one does not start again).
  let recorder: Recorder | undefined;
  const sweeper = new RetentionSweeper(
    store.knex,
    config.retention,
    config.retention,
    metrics,
    componentLog('retention'),
    config.auditRetention,
  );
  const recorderLog = componentLog('recorder');
  const startRecording = () => {
    recorder = new Recorder(
      kube,
      store,
      config.logLimitBytes,
      config.namespacePrefix,
      metrics,
      recorderLog,
    );
    recorder.start().then(
      () => recorderLog('execution recorder started'),
      (error: unknown) =>
        recorderLog('execution recorder failed to start; retrying through its watch loop', {
          err: error,
        }),
    );
    sweeper.start();
  };
  const stopRecording = async () => {
    recorder?.stop();
    recorder = undefined;
    await sweeper.stop();
  };
  // Functions' schedules run on the leader too, also on a replica that does not record.
  const schedulesOn = scheduleLeadership.settings.enabled;
  const startLeading = (identity: string) => {
    if (config.recorder) startRecording();
    scheduleLeadership.started(identity);
  };
  const stopLeading = async () => {
    await Promise.all([
      config.recorder ? stopRecording() : undefined,
      scheduleLeadership.stopped(),
    ]);
  };
  let elector: LeaseElector | undefined;
  if ((config.recorder || schedulesOn) && config.leaderLease) {
    const leaseElector = new LeaseElector(
      // The Lease's calls keep the default deadline, under the renew deadline, whatever
      // HKS_KUBE_TIMEOUT_SECONDS says.
      kube.rest.withDeadline(DEFAULT_KUBE_TIMEOUT_MS),
      config.leaderLease,
      { started: () => startLeading(leaseElector.identity), stopped: stopLeading },
      componentLog('leader'),
    );
    elector = leaseElector;
    elector.start();
  } else if (config.recorder || schedulesOn) {
    log(
      "no Lease namespace (HKS_LEADER_LEASE_NAMESPACE, POD_NAMESPACE, a pod's ServiceAccount): this replica records and schedules alone",
    );
    startLeading(`${hostname()} (alone)`);
  }
  const shutdown = () => {
    log('shutting down');
    // A leader stops recording, then releases the Lease so another replica takes over at once.
    const recordingStopped = elector ? elector.stop() : stopLeading();
    janitor.stop();
    // Warm instances are this process's alone (their secrets die with it): deleted now.
    const poolStopped = warmPool.stop();
    asyncInvocations.stop();
    void eventTriggers.stop();
    void revisionSources.stop();
    void knative.stop();
    server.close(() => {
      void Promise.all([recordingStopped, poolStopped])
        .then(() => store.close())
        .then(() => tracingState().shutdown())
        .then(() => process.exit(0));
    });
    // Idle keep-alive connections would hold close() open; in-flight requests get 10 s.
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

void main();
