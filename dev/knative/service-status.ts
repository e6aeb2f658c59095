import type { TrafficResolution } from './traffic';
import type { ConditionStatus, KnativeCondition, ServiceStatus } from './types';

/** What a Service's status is computed from. */
export interface ServiceStatusInput {
  readonly serviceName: string;
  readonly generation: number;
  /** The router's URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly latestCreated?: { readonly name: string; readonly ready: KnativeCondition };
  readonly latestReadyRevisionName?: string;
  readonly traffic: TrafficResolution;
  /** Conditions written last time, whose transition times are kept while unchanged. */
  readonly previous?: readonly KnativeCondition[];
  readonly now?: Date;
}

type Draft = Omit<KnativeCondition, 'lastTransitionTime'>;

function configurationsReady(input: ServiceStatusInput): Draft {
  const latest = input.latestCreated;
  if (latest === undefined || latest.ready.status === 'Unknown') {
    return {
      type: 'ConfigurationsReady',
      status: 'Unknown',
      reason: 'RevisionMissing',
      message: `Configuration "${input.serviceName}" is waiting for a Revision to become ready.`,
    };
  }
  if (latest.ready.status === 'False') {
    return {
      type: 'ConfigurationsReady',
      status: 'False',
      reason: 'RevisionFailed',
      message: `Revision "${latest.name}" failed with message: ${latest.ready.message ?? latest.ready.reason ?? 'unknown'}.`,
    };
  }
  return { type: 'ConfigurationsReady', status: 'True' };
}

function routesReady(input: ServiceStatusInput, configurations: Draft): Draft {
  if (input.traffic.ok) return { type: 'RoutesReady', status: 'True' };
  const pending =
    configurations.status === 'Unknown' && input.latestReadyRevisionName === undefined;
  return {
    type: 'RoutesReady',
    status: pending ? 'Unknown' : 'False',
    reason: input.traffic.reason,
    message: input.traffic.message,
  };
}

function ready(dependents: readonly Draft[]): Draft {
  for (const status of ['False', 'Unknown'] as ConditionStatus[]) {
    const first = dependents.find((c) => c.status === status);
    if (first !== undefined) {
      return { type: 'Ready', status, reason: first.reason, message: first.message };
    }
  }
  return { type: 'Ready', status: 'True' };
}

/**
 * Keeps the previous `lastTransitionTime` when a condition's status did not change, as
 * Knative does; otherwise stamps `now`.
 */
export function withTransitionTimes(
  drafts: readonly Draft[],
  previous: readonly KnativeCondition[] | undefined,
  now: Date,
): KnativeCondition[] {
  return drafts.map((draft) => {
    const before = previous?.find((c) => c.type === draft.type);
    const lastTransitionTime =
      before?.status === draft.status && before.lastTransitionTime !== undefined
        ? before.lastTransitionTime
        : now.toISOString().replace(/\.\d+Z$/, 'Z');
    const condition: KnativeCondition = { ...draft, lastTransitionTime };
    return Object.fromEntries(
      Object.entries(condition).filter(([, v]) => v !== undefined),
    ) as unknown as KnativeCondition;
  });
}

/**
 * The status Knative would write for a Service: conditions `Ready`, `ConfigurationsReady` and
 * `RoutesReady`, URLs, latest created/ready revisions and the resolved traffic.
 */
export function serviceStatus(input: ServiceStatusInput): ServiceStatus {
  const configurations = configurationsReady(input);
  const routes = routesReady(input, configurations);
  const conditions = withTransitionTimes(
    [ready([configurations, routes]), configurations, routes],
    input.previous,
    input.now ?? new Date(),
  );
  const status: ServiceStatus = {
    observedGeneration: input.generation,
    url: input.url,
    address: { url: input.url },
    latestCreatedRevisionName: input.latestCreated?.name,
    latestReadyRevisionName: input.latestReadyRevisionName,
    traffic: input.traffic.ok
      ? input.traffic.targets.map((t) => ({
          revisionName: t.revisionName,
          latestRevision: t.latestRevision,
          percent: t.percent,
          ...(t.tag === undefined ? {} : { tag: t.tag }),
        }))
      : undefined,
    conditions,
  };
  return Object.fromEntries(
    Object.entries(status).filter(([, v]) => v !== undefined),
  ) as ServiceStatus;
}
