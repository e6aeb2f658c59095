import { parseAllDocuments } from 'yaml';
import { KubeObject } from './kube-object';

/**
 * Parses a multi-document YAML manifest into objects, skipping empty documents.
 *
 * @param text the manifest
 * @param source the file or URL it came from, named in errors
 * @throws Error naming the source and document (numbered from 1) for YAML errors and for
 *   documents that are not Kubernetes objects
 */
export function parseManifests(text: string, source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  parseAllDocuments(text).forEach((document, index) => {
    const where = `${source}: document ${index + 1}`;
    if (document.errors.length > 0) {
      throw new Error(`${where}: invalid YAML: ${document.errors[0].message}`);
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) return;
    if (!isKubeObject(value)) {
      throw new Error(
        `${where}: given ${JSON.stringify(value).slice(0, 80)}, expected a Kubernetes object with apiVersion, kind and metadata.name`,
      );
    }
    objects.push(value);
  });
  return objects;
}

function isKubeObject(value: unknown): value is KubeObject {
  if (typeof value !== 'object' || value === null) return false;
  const { apiVersion, kind, metadata } = value as Record<string, unknown>;
  return (
    typeof apiVersion === 'string' &&
    typeof kind === 'string' &&
    typeof metadata === 'object' &&
    metadata !== null &&
    typeof (metadata as Record<string, unknown>).name === 'string'
  );
}
