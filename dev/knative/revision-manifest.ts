import { createHash } from 'node:crypto';
import {
  type KnativeRevision,
  type KnativeService,
  type RevisionTemplate,
  SERVING_API_VERSION,
} from './types';

/** Label naming a revision's Service (Knative's own). */
export const SERVICE_LABEL = 'serving.knative.dev/service';
/** Label naming a revision's Configuration (Knative's own; the Service's name). */
export const CONFIGURATION_LABEL = 'serving.knative.dev/configuration';
/** Label holding a revision's configuration generation (Knative's own). */
export const CONFIGURATION_GENERATION_LABEL = 'serving.knative.dev/configurationGeneration';
/** Label naming a pod's revision (Knative's own). */
export const REVISION_LABEL = 'serving.knative.dev/revision';
/** Annotation with the hash of the template a revision was made from (the stand-in's). */
export const TEMPLATE_HASH_ANNOTATION = 'dev.hks.hexabase.io/template-hash';

/** `<service>-0000N`: Knative's name of a Service's N-th revision (5 digits). */
export function revisionName(serviceName: string, generation: number): string {
  return `${serviceName}-${String(generation).padStart(5, '0')}`;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/**
 * A hash of a revision template (metadata and spec, key order ignored): a new revision is
 * made when it changes, not when only `spec.traffic` or labels of the Service change.
 */
export function templateHash(template: RevisionTemplate): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical(template)))
    .digest('hex')
    .slice(0, 16);
}

/**
 * The Revision Knative makes for the `generation`-th template of a Service: named
 * `<service>-0000N`, owned by the Service, labelled with its service, configuration and
 * configuration generation, spec = the template's spec.
 */
export function buildRevision(service: KnativeService, generation: number): KnativeRevision {
  const { name, namespace, uid } = service.metadata;
  const template = service.spec.template;
  return {
    apiVersion: SERVING_API_VERSION,
    kind: 'Revision',
    metadata: {
      name: revisionName(name, generation),
      namespace,
      labels: {
        ...template.metadata?.labels,
        [SERVICE_LABEL]: name,
        [CONFIGURATION_LABEL]: name,
        [CONFIGURATION_GENERATION_LABEL]: String(generation),
      },
      annotations: {
        ...template.metadata?.annotations,
        [TEMPLATE_HASH_ANNOTATION]: templateHash(template),
      },
      ownerReferences: [
        {
          apiVersion: SERVING_API_VERSION,
          kind: 'Service',
          name,
          uid: uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: template.spec,
  };
}

/** A revision's configuration generation (from its label), 0 when missing. */
export function revisionGeneration(revision: KnativeRevision): number {
  return Number(revision.metadata.labels?.[CONFIGURATION_GENERATION_LABEL] ?? 0) || 0;
}
