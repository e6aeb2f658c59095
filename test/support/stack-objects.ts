/**
 * The Kubernetes objects a Pulumi program registers with the mocks, as Pulumi's Kubernetes
 * provider would send them, and their server-side apply as that provider does: the replay of
 * the stack's own objects against the real control plane.
 */
import type { KubeObject } from '../../knative';
import { kubectlOk } from '../cluster/kubectl';
import type { RegisteredResource } from './pulumi-mocks';

/** Pulumi's wire marker of a secret value (sdk/nodejs/runtime/rpc.ts specialSigKey). */
const SECRET_SIG_KEY = '4dabf18193072939515e22adb298388d';

/** Pulumi's secret wrapper removed: what the provider would send to the API server. */
export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  if (SECRET_SIG_KEY in record) return unwrapSecrets(record.value);
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
}

const isKubernetesObject = (r: RegisteredResource): boolean =>
  r.type.startsWith('kubernetes:') && !r.type.startsWith('kubernetes:yaml') && !r.id;

/**
 * The Kubernetes resources registered (not ConfigGroups, whose objects are their `objs`, nor
 * resources read with `.get`), in registration order, secrets unwrapped.
 */
export function kubernetesObjects(registered: readonly RegisteredResource[]): KubeObject[] {
  return registered.filter(isKubernetesObject).map((r) => unwrapSecrets(r.inputs) as KubeObject);
}

/** The objects of the ConfigGroup registered as `name`. */
export function configGroupObjects(
  registered: readonly RegisteredResource[],
  name: string,
): KubeObject[] {
  const group = registered.find(
    (r) => r.type === 'kubernetes:yaml/v2:ConfigGroup' && r.name === name,
  );
  if (group === undefined) throw new Error(`no ConfigGroup ${name} was registered`);
  return group.inputs.objs as KubeObject[];
}

/** Server-side applies objects as Pulumi's Kubernetes provider does (its field manager). */
export async function applyAsPulumi(objects: readonly KubeObject[]): Promise<void> {
  if (objects.length === 0) return;
  const list = { apiVersion: 'v1', kind: 'List', items: objects };
  await kubectlOk(
    ['apply', '--server-side', '--field-manager=pulumi-kubernetes', '-f', '-'],
    JSON.stringify(list),
  );
}
