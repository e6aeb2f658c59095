import type { KubeObject } from './kube';

/** The Knative Service's API version: its pod template is where pod labels come from. */
const KNATIVE_SERVING = 'serving.knative.dev/v1';

/** The part of a Knative Service this module reads and writes. */
interface PodTemplateSpec {
  readonly template?: {
    readonly metadata?: { readonly labels?: Readonly<Record<string, string>> };
  };
}

/**
 * An application object with labels in the platform's own domain (which definitions may not
 * set) added to its metadata and, for a Knative Service, to its pod template: Knative copies
 * the template's labels to revisions and pods, not the Service's own, and network policies
 * select pods by their labels.
 */
export function withPlatformLabels(
  object: KubeObject,
  labels: Readonly<Record<string, string>>,
): KubeObject {
  const labelled: KubeObject = {
    ...object,
    metadata: { ...object.metadata, labels: { ...object.metadata.labels, ...labels } },
  };
  if (object.apiVersion !== KNATIVE_SERVING || object.kind !== 'Service') return labelled;
  const spec = (object as { spec?: PodTemplateSpec }).spec ?? {};
  const template = spec.template ?? {};
  return {
    ...labelled,
    spec: {
      ...spec,
      template: {
        ...template,
        metadata: {
          ...template.metadata,
          labels: { ...template.metadata?.labels, ...labels },
        },
      },
    },
  } as KubeObject;
}
