import type { V1Container, V1Pod, V1Probe } from '@kubernetes/client-node';
import { REVISION_LABEL, SERVICE_LABEL, CONFIGURATION_LABEL } from './revision-manifest';
import type { KnativeRevision } from './types';

/** Label on every pod and Logs object the stand-in creates, so it can find them again. */
export const STAND_IN_LABEL = 'dev.hks.hexabase.io/knative-stand-in';

/** The kwok `Logs` kind that maps a pod's containers to log files. */
export interface KwokLogs {
  readonly apiVersion: 'kwok.x-k8s.io/v1alpha1';
  readonly kind: 'Logs';
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly ownerReferences: readonly {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
    }[];
  };
  readonly spec: {
    readonly logs: readonly {
      readonly containers: readonly string[];
      readonly logsFile: string;
      readonly follow: boolean;
    }[];
  };
}

/**
 * Annotation the test cluster's kwok stages read: a Running pod carrying it ends Failed with
 * that exit code (test/cluster/kwok/stages.yaml).
 */
export const EXIT_CODE_ANNOTATION = 'hks.dev/exit-code';

/** Annotations making kwok end a pod Failed with `code`. */
export function exitCodeAnnotations(code: number): Record<string, string> {
  return { [EXIT_CODE_ANNOTATION]: String(code) };
}

/** Knative's default user port, given to probes that name none. */
export const DEFAULT_PORT = 8080;

function withPort(probe: V1Probe | undefined, port: number): V1Probe | undefined {
  if (probe?.httpGet === undefined || probe.httpGet.port !== undefined) return probe;
  return { ...probe, httpGet: { ...probe.httpGet, port } };
}

function podContainer(container: V1Container, revision: KnativeRevision): V1Container {
  const port = container.ports?.[0]?.containerPort ?? DEFAULT_PORT;
  const service = revision.metadata.labels?.[SERVICE_LABEL] ?? '';
  return {
    ...container,
    // What Knative's queue-proxy setup gives the user container.
    env: [
      ...(container.env ?? []),
      { name: 'PORT', value: String(port) },
      { name: 'K_REVISION', value: revision.metadata.name },
      { name: 'K_CONFIGURATION', value: service },
      { name: 'K_SERVICE', value: service },
    ],
    readinessProbe: withPort(container.readinessProbe, port),
    livenessProbe: withPort(container.livenessProbe, port),
  };
}

/**
 * The pod that stands for a revision's running process, as Knative's deployment would
 * create it (labels `serving.knative.dev/service`, `serving.knative.dev/revision` plus the
 * template's, the template's containers and volumes), owned by the Revision, and placed on a
 * node matching `nodeSelector` (kwok's fake nodes: nothing runs there for real).
 *
 * @param revision the Revision (with its uid)
 * @param podName the pod's name
 * @param nodeSelector node labels the pod must land on
 * @param exitCode the process's exit code when it has already exited
 */
export function buildPod(
  revision: KnativeRevision,
  podName: string,
  nodeSelector: Readonly<Record<string, string>>,
  exitCode?: number,
): V1Pod {
  const { spec } = revision;
  const labels = { ...revision.metadata.labels };
  delete labels['serving.knative.dev/configurationGeneration'];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName,
      namespace: revision.metadata.namespace,
      annotations: exitCode === undefined ? undefined : exitCodeAnnotations(exitCode),
      labels: {
        ...labels,
        [SERVICE_LABEL]: labels[SERVICE_LABEL] ?? '',
        [CONFIGURATION_LABEL]: labels[CONFIGURATION_LABEL] ?? '',
        [REVISION_LABEL]: revision.metadata.name,
        [STAND_IN_LABEL]: 'true',
      },
      ownerReferences: [
        {
          apiVersion: revision.apiVersion,
          kind: 'Revision',
          name: revision.metadata.name,
          uid: revision.metadata.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      containers: spec.containers.map((c) => podContainer(c, revision)),
      volumes: spec.volumes === undefined ? undefined : [...spec.volumes],
      serviceAccountName: spec.serviceAccountName,
      automountServiceAccountToken: spec.automountServiceAccountToken,
      enableServiceLinks: false,
      nodeSelector: { ...nodeSelector },
      terminationGracePeriodSeconds: 0,
    },
  };
}

/**
 * A kwok `Logs` object for a pod: every container's log (pod log API, `kubectl logs`) is the
 * CRI-format file the stand-in writes for the revision's process, followed while it grows.
 *
 * @param pod the created pod (with its uid)
 * @param logsFile the CRI-format log file
 */
export function buildLogs(pod: V1Pod, logsFile: string): KwokLogs {
  return {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Logs',
    metadata: {
      name: pod.metadata?.name ?? '',
      namespace: pod.metadata?.namespace ?? '',
      labels: { [STAND_IN_LABEL]: 'true' },
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Pod',
          name: pod.metadata?.name ?? '',
          uid: pod.metadata?.uid ?? '',
        },
      ],
    },
    spec: {
      logs: [
        {
          containers: (pod.spec?.containers ?? []).map((c) => c.name),
          logsFile,
          follow: true,
        },
      ],
    },
  };
}
