import { createHash, createHmac } from 'node:crypto';
import { LABELS, MANAGER, SourceRuntimeName } from '../constructs';
import type { KubeObject } from './kube';
import { API_POD_LABELS, WARM_POOL_LABEL } from './rbac';

export { WARM_POOL_LABEL };

/** Label of a Deployment pool's pod: `idle` while its Deployment owns it, `claimed` once taken. */
export const POOL_STATE_LABEL = 'hks.hexabase.io/warm-pool-state';
/** Label of a Deployment pool's pod: which session secret it holds (a digest of it, no secret). */
export const POOL_KEY_LABEL = 'hks.hexabase.io/warm-pool-key';
/** The port the runtime listens on in a pool's pod (its `PORT`). */
export const POOL_PORT = 8080;
/** Key of the session secret in the pool's Secret. */
const SECRET_KEY = 'secret';

/** Name of the Deployment (and its ServiceAccount and NetworkPolicy) of a runtime's pool. */
export function poolDeploymentName(runtime: SourceRuntimeName): string {
  return `hks-warm-${runtime.replace(/\./g, '')}`;
}

/** The session secret every replica derives for one pool, and what names it in the cluster. */
export interface PoolSecret {
  /** 256 bits, hex: HMAC-SHA256 of the pool's namespace and name under `HKS_WARM_POOL_KEY`. */
  readonly value: string;
  /** Ten hex digits of the value's SHA-256: the Secret's name and the pods' label carry it. */
  readonly digest: string;
}

/**
 * The session secret of the pool `deployment` in `namespace`, derived from the key all replicas
 * share: any replica can use any pool's pods and no Secret needs reading back. A new key gives
 * new digests, so a new Secret and a rollout of the pods to it.
 */
export function poolSecret(key: string, namespace: string, deployment: string): PoolSecret {
  const value = createHmac('sha256', key).update(`hks-warm-pool\0${namespace}\0${deployment}`);
  const hex = value.digest('hex');
  return { value: hex, digest: createHash('sha256').update(hex).digest('hex').slice(0, 10) };
}

/** What {@link poolObjects} builds a pool from. */
export interface PoolObjectsInput {
  /**
   * The objects of a temporary function in session mode with generic code, as the API applies
   * one (constructs, platform labels and variables): its ServiceAccount, ConfigMap(s) and
   * Knative Service, whose pod template the Deployment's becomes.
   */
  readonly synthesized: readonly KubeObject[];
  /**
   * The pool's name ({@link poolDeploymentName}), given to every object in place of the
   * function's: definitions may not start with `hks-`, so no application of the project can
   * collide with a pool.
   */
  readonly name: string;
  readonly runtime: SourceRuntimeName;
  readonly replicas: number;
  readonly secret: PoolSecret;
  /**
   * The namespace of the API's pods, the only ones let in by the pool's NetworkPolicy.
   * @default - none: no pod of the cluster may reach the pool (an API outside the cluster)
   */
  readonly apiNamespace?: string;
}

/** A pod template as the Knative Service carries it, the parts read here. */
interface KnativeTemplate {
  readonly metadata?: { readonly labels?: Record<string, string> };
  readonly spec: {
    readonly containers: readonly (Record<string, unknown> & {
      readonly env?: readonly Record<string, unknown>[];
      readonly readinessProbe?: { readonly httpGet?: Record<string, unknown> };
      readonly livenessProbe?: { readonly httpGet?: Record<string, unknown> };
    })[];
    readonly [field: string]: unknown;
  };
}

/**
 * A Deployment pool of one project and runtime: its ServiceAccount and ConfigMap (the
 * function's), the Secret of its session secret, the Deployment whose pods wait in session
 * mode for one execution each, and a NetworkPolicy that lets only the API's pods reach them.
 * The Deployment selects only `idle` pods: a claimed pod leaves it and its ReplicaSet starts a
 * replacement, which is the pool's refill.
 */
export function poolObjects(input: PoolObjectsInput): {
  /** Applied (server-side apply): ServiceAccount, ConfigMap(s), Deployment, NetworkPolicy. */
  readonly objects: KubeObject[];
  /** Created once (the API may create Secrets, never read or patch one). */
  readonly secret: KubeObject;
} {
  const { runtime, secret } = input;
  const synthesizedService = input.synthesized.find(
    (o) => o.apiVersion === 'serving.knative.dev/v1' && o.kind === 'Service',
  );
  if (!synthesizedService)
    throw new Error('a warm pool is built from a function’s Knative Service');
  // Every string that starts with the function's name (object names, their references, labels
  // and HKS_FUNCTION_NAME) starts with the pool's instead.
  const renamed = JSON.parse(
    JSON.stringify(input.synthesized)
      .split(`"${synthesizedService.metadata.name}`)
      .join(`"${input.name}`),
  ) as KubeObject[];
  const service = renamed.find((o) => o.kind === 'Service') as KubeObject;
  const namespace = service.metadata.namespace ?? '';
  const name = service.metadata.name;
  const template = (service as unknown as { spec: { template: KnativeTemplate } }).spec.template;
  const labels = { ...service.metadata.labels, [WARM_POOL_LABEL]: runtime };
  const secretName = `${name}-${secret.digest}`;
  const podLabels = {
    ...template.metadata?.labels,
    [WARM_POOL_LABEL]: runtime,
    [POOL_STATE_LABEL]: 'idle',
    [POOL_KEY_LABEL]: secret.digest,
  };
  const { timeoutSeconds: _timeout, containerConcurrency: _concurrency, ...spec } = template.spec;
  const [container, ...sidecars] = spec.containers;
  const probe = (p: { httpGet?: Record<string, unknown> } | undefined) =>
    p?.httpGet ? { ...p, httpGet: { ...p.httpGet, port: POOL_PORT } } : p;
  const env = [
    ...(container.env ?? []).filter((e) => e.name !== 'HKS_SESSION_SECRET'),
    { name: 'PORT', value: String(POOL_PORT) },
    // One execution per pod, even should its code have read the secret and called the others.
    { name: 'HKS_SESSION_ONCE', value: '1' },
    {
      name: 'HKS_SESSION_SECRET',
      valueFrom: { secretKeyRef: { name: secretName, key: SECRET_KEY } },
    },
  ];
  const own = renamed.filter(
    (o) => (o.kind === 'ServiceAccount' || o.kind === 'ConfigMap') && o.metadata.name !== undefined,
  );
  const secretObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName, namespace, labels },
    type: 'Opaque',
    data: { [SECRET_KEY]: Buffer.from(secret.value).toString('base64') },
  } as KubeObject;
  const objects = [
    ...own.map((o) => ({
      ...o,
      metadata: { ...o.metadata, labels: { ...o.metadata.labels, [WARM_POOL_LABEL]: runtime } },
    })),
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels },
      spec: {
        replicas: input.replicas,
        revisionHistoryLimit: 1,
        selector: { matchLabels: { [LABELS.app]: name, [POOL_STATE_LABEL]: 'idle' } },
        template: {
          metadata: { labels: podLabels },
          spec: {
            ...spec,
            enableServiceLinks: false,
            // A pod runs one execution and is deleted at once after it: no grace to wait out.
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                ...container,
                env,
                readinessProbe: probe(container.readinessProbe),
                livenessProbe: probe(container.livenessProbe),
              },
              ...sidecars,
            ],
          },
        },
      },
    } as KubeObject,
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name, namespace, labels },
      spec: {
        podSelector: { matchLabels: { [LABELS.app]: name, [WARM_POOL_LABEL]: runtime } },
        policyTypes: ['Ingress'],
        ingress: input.apiNamespace
          ? [
              {
                from: [
                  {
                    namespaceSelector: {
                      matchLabels: { 'kubernetes.io/metadata.name': input.apiNamespace },
                    },
                    podSelector: { matchLabels: { ...API_POD_LABELS } },
                  },
                ],
                ports: [{ port: POOL_PORT, protocol: 'TCP' }],
              },
            ]
          : [],
      },
    } as KubeObject,
  ];
  return { objects, secret: secretObject };
}

/** Labels of the objects {@link poolObjects} makes for `project`, as a selector. */
export function poolSelector(runtime?: SourceRuntimeName): string {
  return `${LABELS.managedBy}=${MANAGER},${WARM_POOL_LABEL}${runtime ? `=${runtime}` : ''}`;
}
