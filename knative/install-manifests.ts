import { dependsOnReference, KubeObject } from './kube-object';
import { KnativeManifests } from './knative-manifests';

/** The ingress class that makes Knative use Kourier (`config-network`, key `ingress-class`). */
export const KOURIER_INGRESS_CLASS = 'kourier.ingress.networking.knative.dev';

/** How the Kourier gateway Service (`kourier-system/kourier`) is exposed. */
export const KOURIER_SERVICE_TYPES = ['LoadBalancer', 'NodePort', 'ClusterIP'] as const;

/** One of {@link KOURIER_SERVICE_TYPES}. */
export type KourierServiceType = (typeof KOURIER_SERVICE_TYPES)[number];

/** Namespace and name of the Kourier gateway Service. */
export const KOURIER_SERVICE = { namespace: 'kourier-system', name: 'kourier' } as const;

/** Options of {@link transformKnativeManifests}. */
export interface KnativeInstallOptions {
  /**
   * The domain of function URLs (`<name>.<namespace>.<domain>`), written into `config-domain`
   * as `{"<domain>": ""}`.
   * @default - config-domain is left as shipped: Knative's built-in default domain applies
   */
  readonly domain?: string;
  /**
   * How the Kourier gateway Service is exposed.
   * @default 'LoadBalancer'
   */
  readonly kourierServiceType?: KourierServiceType;
  /**
   * Keep the default-domain Job, which writes `<load-balancer-ip>.sslip.io` into
   * `config-domain` (needs a load balancer, public DNS and registry access).
   * @default false
   */
  readonly magicDns?: boolean;
  /**
   * Labels added to every object's metadata. Labels the manifests already carry are kept
   * (Knative selects its objects by them).
   * @default {}
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The objects to install, in two groups: Kourier must come after Serving. */
export interface KnativeInstallObjects {
  readonly serving: KubeObject[];
  readonly kourier: KubeObject[];
}

/** Annotation that orders objects inside one Pulumi ConfigGroup. */
export const DEPENDS_ON_ANNOTATION = 'config.kubernetes.io/depends-on';

/** Annotation that makes Pulumi not wait for an object to become ready. */
export const SKIP_AWAIT_ANNOTATION = 'pulumi.com/skipAwait';

type MutableObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
};

const isObject = (o: KubeObject, kind: string, namespace: string, name: string): boolean =>
  o.kind === kind && o.metadata.namespace === namespace && o.metadata.name === name;

/**
 * Sets `ingress-class: kourier.ingress.networking.knative.dev` in `config-network`.
 *
 * @throws Error when the manifests have no `knative-serving/config-network` ConfigMap
 */
export function setIngressClass(objects: readonly KubeObject[]): KubeObject[] {
  return updateOne(objects, 'ConfigMap', 'knative-serving', 'config-network', (o) => {
    o.data = { ...o.data, 'ingress-class': KOURIER_INGRESS_CLASS };
  });
}

/**
 * Adds the domain to `config-domain` (`{"<domain>": ""}`: the domain for every Service).
 *
 * @throws Error naming the domain when it is not a DNS name, or when there is no
 *   `knative-serving/config-domain` ConfigMap
 */
export function setDomain(objects: readonly KubeObject[], domain: string): KubeObject[] {
  checkDomain(domain);
  return updateOne(objects, 'ConfigMap', 'knative-serving', 'config-domain', (o) => {
    o.data = { ...o.data, [domain]: '' };
  });
}

/**
 * Sets `spec.type` of the Kourier gateway Service.
 *
 * @throws Error naming the value given when it is not one of {@link KOURIER_SERVICE_TYPES}
 */
export function setKourierServiceType(
  objects: readonly KubeObject[],
  type: KourierServiceType,
): KubeObject[] {
  if (!KOURIER_SERVICE_TYPES.includes(type)) {
    throw new Error(
      `kourierServiceType: given ${JSON.stringify(type)}, expected one of ${KOURIER_SERVICE_TYPES.join(', ')}`,
    );
  }
  return updateOne(objects, 'Service', KOURIER_SERVICE.namespace, KOURIER_SERVICE.name, (o) => {
    o.spec = { ...o.spec, type };
  });
}

/** Adds labels to every object's metadata; labels already there win. */
export function addLabels(
  objects: readonly KubeObject[],
  labels: Readonly<Record<string, string>>,
): KubeObject[] {
  return objects.map((object) =>
    update(object, (o) => {
      o.metadata.labels = { ...labels, ...o.metadata.labels };
    }),
  );
}

/**
 * Makes Knative's webhook configurations depend on the webhook Deployment and on every
 * ConfigMap of `knative-serving`, so that Pulumi registers the admission webhooks only once
 * the configuration is in place and the webhook is Available. (Knative's webhooks have
 * failurePolicy Fail: registered before their pod runs, they would block other objects.)
 */
export function orderWebhooksLast(objects: readonly KubeObject[]): KubeObject[] {
  const prerequisites = objects
    .filter(
      (o) =>
        o.metadata.namespace === 'knative-serving' &&
        (o.kind === 'ConfigMap' || (o.kind === 'Deployment' && o.metadata.name === 'webhook')),
    )
    .map(dependsOnReference);
  return objects.map((object) =>
    object.kind.endsWith('WebhookConfiguration') && object.metadata.name.endsWith('.knative.dev')
      ? update(object, (o) => {
          o.metadata.annotations = {
            ...o.metadata.annotations,
            [DEPENDS_ON_ANNOTATION]: prerequisites.join(','),
          };
        })
      : object,
  );
}

/**
 * The default-domain Job and its Service, annotated so that Pulumi does not wait for the Job
 * (it runs until the load balancer has an address, up to 20 minutes).
 */
export function magicDnsObjects(defaultDomain: readonly KubeObject[]): KubeObject[] {
  if (defaultDomain.length === 0) {
    throw new Error(
      'magicDns: given true, but the Knative manifests have no default-domain Job ' +
        '(serving-default-domain.yaml), expected it next to serving-core.yaml',
    );
  }
  return defaultDomain.map((object) =>
    object.kind === 'Job'
      ? update(object, (o) => {
          o.metadata.annotations = { ...o.metadata.annotations, [SKIP_AWAIT_ANNOTATION]: 'true' };
        })
      : object,
  );
}

/**
 * Turns the upstream manifests into the objects to install: Kourier as the ingress, the
 * domain, the gateway Service type, the magic DNS Job only when asked for, labels, and
 * webhooks ordered last. The values are written into the objects themselves (not patched
 * afterwards), so Knative's config webhook never sees a change and the output can be
 * rendered to files. The input is not modified.
 */
export function transformKnativeManifests(
  manifests: KnativeManifests,
  options: KnativeInstallOptions = {},
): KnativeInstallObjects {
  let serving = orderWebhooksLast(setIngressClass(manifests.serving));
  if (options.domain !== undefined) {
    if (options.magicDns) {
      throw new Error(
        `domain: given ${JSON.stringify(options.domain)} together with magicDns true, expected one of them (magic DNS writes its own <ip>.sslip.io domain)`,
      );
    }
    serving = setDomain(serving, options.domain);
  }
  let kourier = setKourierServiceType(
    manifests.kourier,
    options.kourierServiceType ?? 'LoadBalancer',
  );
  if (options.magicDns) kourier = [...kourier, ...magicDnsObjects(manifests.defaultDomain)];
  const labels = options.labels ?? {};
  return { serving: addLabels(serving, labels), kourier: addLabels(kourier, labels) };
}

const DNS_NAME =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

/**
 * Checks a domain for `config-domain`.
 *
 * @throws Error naming the value given and what is expected
 */
export function checkDomain(domain: string, field = 'domain'): void {
  if (!DNS_NAME.test(domain)) {
    throw new Error(
      `${field}: given ${JSON.stringify(domain)}, expected a lower-case DNS name such as "fn.example.com"`,
    );
  }
}

function update(object: KubeObject, change: (o: MutableObject) => void): KubeObject {
  // a JSON copy: manifests are JSON data, and the copy lives in the caller's realm (jest)
  const copy = JSON.parse(JSON.stringify(object)) as MutableObject;
  change(copy);
  return copy as unknown as KubeObject;
}

function updateOne(
  objects: readonly KubeObject[],
  kind: string,
  namespace: string,
  name: string,
  change: (o: MutableObject) => void,
): KubeObject[] {
  if (!objects.some((o) => isObject(o, kind, namespace, name))) {
    throw new Error(
      `Knative manifests: no ${kind} ${namespace}/${name} found, expected the Knative Serving and Kourier release manifests`,
    );
  }
  return objects.map((o) => (isObject(o, kind, namespace, name) ? update(o, change) : o));
}
