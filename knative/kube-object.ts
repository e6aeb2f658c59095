/** Metadata of a Kubernetes object as it appears in a manifest. */
export interface KubeMetadata {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly [field: string]: unknown;
}

/** One Kubernetes object of a manifest, with the fields every object has. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: KubeMetadata;
  readonly [field: string]: unknown;
}

/** `<group>/<kind>/<namespace>/<name>`: what makes an object unique in a cluster. */
export function objectKey(object: KubeObject): string {
  const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : '';
  return `${group}/${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

/**
 * The reference the `config.kubernetes.io/depends-on` annotation takes:
 * `<group>/namespaces/<namespace>/<kind>/<name>`, or `<group>/<kind>/<name>` when cluster-scoped.
 */
export function dependsOnReference(object: KubeObject): string {
  const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : '';
  const { namespace, name } = object.metadata;
  return namespace === undefined
    ? `${group}/${object.kind}/${name}`
    : `${group}/namespaces/${namespace}/${object.kind}/${name}`;
}
