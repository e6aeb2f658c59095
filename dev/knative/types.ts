import type { V1Container, V1Volume } from '@kubernetes/client-node';

/** `serving.knative.dev/v1`, the API version of every Knative object the stand-in handles. */
export const SERVING_API_VERSION = 'serving.knative.dev/v1';

/** Status of a Knative condition. */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** A Knative condition (`Ready`, `ConfigurationsReady`, `RoutesReady`, ...). */
export interface KnativeCondition {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
}

/** One entry of a Knative Service's `spec.traffic` or `status.traffic`. */
export interface TrafficTarget {
  readonly revisionName?: string;
  readonly latestRevision?: boolean;
  readonly tag?: string;
  readonly percent?: number;
  readonly url?: string;
}

/** The pod-like spec of a revision template (what the stand-in reads of it). */
export interface RevisionSpec {
  readonly containers: readonly V1Container[];
  readonly volumes?: readonly V1Volume[];
  readonly serviceAccountName?: string;
  readonly automountServiceAccountToken?: boolean;
  readonly timeoutSeconds?: number;
  readonly containerConcurrency?: number;
  readonly [field: string]: unknown;
}

/** Object metadata of the fields the stand-in reads and writes. */
export interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
  readonly uid?: string;
  readonly generation?: number;
  readonly resourceVersion?: string;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A Knative Service's `spec.template`. */
export interface RevisionTemplate {
  readonly metadata?: {
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec: RevisionSpec;
}

/** The status the stand-in writes to a Knative Service. */
export interface ServiceStatus {
  readonly observedGeneration?: number;
  readonly url?: string;
  readonly address?: { readonly url: string };
  readonly latestCreatedRevisionName?: string;
  readonly latestReadyRevisionName?: string;
  readonly traffic?: readonly TrafficTarget[];
  readonly conditions?: readonly KnativeCondition[];
}

/** A `serving.knative.dev/v1` Service. */
export interface KnativeService {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly template: RevisionTemplate;
    readonly traffic?: readonly TrafficTarget[];
  };
  readonly status?: ServiceStatus;
}

/** A `serving.knative.dev/v1` Revision. */
export interface KnativeRevision {
  readonly apiVersion: string;
  readonly kind: 'Revision';
  readonly metadata: ObjectMeta & {
    readonly ownerReferences?: readonly {
      readonly apiVersion: string;
      readonly kind: string;
      readonly name: string;
      readonly uid: string;
      readonly controller?: boolean;
      readonly blockOwnerDeletion?: boolean;
    }[];
  };
  readonly spec: RevisionSpec;
  readonly status?: {
    readonly observedGeneration?: number;
    readonly conditions?: readonly KnativeCondition[];
  };
}
