import type { TrafficTarget } from './types';

/** A traffic target resolved to one revision. */
export interface ResolvedTarget {
  readonly revisionName: string;
  readonly percent: number;
  readonly latestRevision: boolean;
  readonly tag?: string;
}

/** The outcome of resolving a Service's traffic: targets, or why they cannot be routed. */
export type TrafficResolution =
  | { readonly ok: true; readonly targets: readonly ResolvedTarget[] }
  | { readonly ok: false; readonly reason: string; readonly message: string };

/**
 * Resolves a Service's `spec.traffic` (or, without it, 100% to the latest ready revision) to
 * revisions, as Knative's route does: `latestRevision: true` follows the latest *ready*
 * revision, a named revision must exist and be ready.
 *
 * @param serviceName the Service, for messages
 * @param traffic `spec.traffic`; undefined or empty means 100% latest
 * @param latestReady the latest ready revision, if any
 * @param isReady whether a named revision exists and is ready
 */
export function resolveTraffic(
  serviceName: string,
  traffic: readonly TrafficTarget[] | undefined,
  latestReady: string | undefined,
  isReady: (revisionName: string) => boolean,
): TrafficResolution {
  const wanted: readonly TrafficTarget[] =
    traffic === undefined || traffic.length === 0
      ? [{ latestRevision: true, percent: 100 }]
      : traffic;
  const sum = wanted.reduce((total, t) => total + (t.percent ?? 0), 0);
  if (sum !== 100) {
    return {
      ok: false,
      reason: 'TrafficInvalid',
      message: `Traffic targets sum to ${sum} percent, expected 100.`,
    };
  }
  const targets: ResolvedTarget[] = [];
  for (const target of wanted) {
    const latest = target.latestRevision === true || target.revisionName === undefined;
    const revisionName = latest ? latestReady : target.revisionName;
    if (revisionName === undefined) {
      return {
        ok: false,
        reason: 'RevisionMissing',
        message: `Configuration "${serviceName}" does not have any ready Revision.`,
      };
    }
    if (!isReady(revisionName)) {
      return {
        ok: false,
        reason: 'RevisionMissing',
        message: `Revision "${revisionName}" referenced in traffic not found or not ready.`,
      };
    }
    targets.push({
      revisionName,
      percent: target.percent ?? 0,
      latestRevision: latest,
      ...(target.tag === undefined ? {} : { tag: target.tag }),
    });
  }
  return { ok: true, targets };
}

/**
 * Picks the revision for one request: the target tagged `tag` when there is one (Knative's
 * `Knative-Serving-Tag` header routing), else by percent.
 *
 * @param targets resolved targets
 * @param tag the request's tag header, if any
 * @param random a number in [0, 1)
 * @default random - Math.random()
 */
export function pickRevision(
  targets: readonly ResolvedTarget[],
  tag: string | undefined,
  random: number = Math.random(),
): string | undefined {
  if (tag !== undefined) {
    const tagged = targets.find((t) => t.tag === tag);
    if (tagged !== undefined) return tagged.revisionName;
  }
  let point = random * 100;
  for (const target of targets) {
    if (target.percent <= 0) continue;
    if (point < target.percent) return target.revisionName;
    point -= target.percent;
  }
  return targets.filter((t) => t.percent > 0).at(-1)?.revisionName;
}
