import { randomBytes } from 'node:crypto';
import { LABELS, MANAGER, SecretKeyReference } from '../constructs';
import type { KnativeService } from './knative';
import type { KubeObject } from './kube';

/**
 * The request header that carries a session's secret to its function. The runtime loads code
 * only from a request that has it (runtimes/node/bootstrap.js, runtimes/python/bootstrap.py).
 */
export const SESSION_SECRET_HEADER = 'x-hks-session-secret';

/** Key of the secret in the session's Kubernetes Secret. */
const SECRET_KEY = 'secret';

/** Variables the platform sets on a temporary function after its definition was checked. */
export interface PlatformEnv {
  /** @default - none */
  readonly env?: Readonly<Record<string, string>>;
  /** @default - none */
  readonly secretEnv?: Readonly<Record<string, SecretKeyReference>>;
}

/** What a session call adds to the runtime's files envelope and headers. */
export interface SessionCall {
  /** The session's secret, sent as {@link SESSION_SECRET_HEADER}. */
  readonly secret: string;
  /** `code`, `handler` and `timeoutSeconds` of the call, beside the files envelope's fields. */
  readonly envelope: Readonly<Record<string, unknown>>;
}

/** A new session secret: 256 random bits, hex. */
export function newSessionSecret(): string {
  return randomBytes(32).toString('hex');
}

/** Name of the Secret of the session function `name`. */
export function sessionSecretName(name: string): string {
  return `${name}-session`;
}

/**
 * The variables that put a function's runtime in session mode: `HKS_RUNTIME_MODE` and the
 * secret, read from the session's Secret by the container (never a literal in the manifest).
 */
export function sessionPlatformEnv(name: string): PlatformEnv {
  return {
    env: { HKS_RUNTIME_MODE: 'session' },
    secretEnv: { HKS_SESSION_SECRET: { secret: sessionSecretName(name), key: SECRET_KEY } },
  };
}

/**
 * The Secret holding a session's secret, owned by the session's Knative Service: the garbage
 * collector deletes it with the Service (the API has no right to read, list or delete Secrets,
 * only to create them).
 */
export function sessionSecretObject(service: KnativeService, secret: string): KubeObject {
  const { name, namespace, uid, labels } = service.metadata;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: sessionSecretName(name),
      namespace,
      labels: {
        [LABELS.managedBy]: MANAGER,
        [LABELS.app]: name,
        ...(labels?.[LABELS.project] ? { [LABELS.project]: labels[LABELS.project] } : {}),
      },
      ownerReferences: [
        { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name, uid: uid ?? '' },
      ],
    },
    type: 'Opaque',
    data: { [SECRET_KEY]: Buffer.from(secret).toString('base64') },
  } as KubeObject;
}

/**
 * Adds the platform's variables to the container of a function's Knative Service, after the
 * definition was checked and synthesized (a definition may not name `HKS_*` variables, and the
 * constructs refuse them too); other objects unchanged.
 */
export function withPlatformEnv(object: KubeObject, platform: PlatformEnv): KubeObject {
  if (object.apiVersion !== 'serving.knative.dev/v1' || object.kind !== 'Service') return object;
  const service = object as KubeObject & { spec: { template: { spec: PodSpecLike } } };
  const added: EnvVar[] = [
    ...Object.entries(platform.env ?? {}).map(([name, value]) => ({ name, value })),
    ...Object.entries(platform.secretEnv ?? {}).map(([name, ref]) => ({
      name,
      valueFrom: { secretKeyRef: { name: ref.secret, key: ref.key } },
    })),
  ];
  const [container, ...others] = service.spec.template.spec.containers;
  return {
    ...service,
    spec: {
      ...service.spec,
      template: {
        ...service.spec.template,
        spec: {
          ...service.spec.template.spec,
          containers: [{ ...container, env: [...(container.env ?? []), ...added] }, ...others],
        },
      },
    },
  } as KubeObject;
}

/** An environment variable of a container, as far as this module sets one. */
interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly secretKeyRef: { readonly name: string; readonly key: string } };
}

/** The part of a pod spec {@link withPlatformEnv} changes. */
interface PodSpecLike {
  readonly containers: readonly { readonly env?: readonly EnvVar[] }[];
}
