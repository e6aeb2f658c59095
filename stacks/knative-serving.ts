import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import {
  downloadManifests,
  KnativeInstallObjects,
  KnativeManifests,
  KubeObject,
  KOURIER_SERVICE,
  KourierServiceType,
  readLocalManifests,
  transformKnativeManifests,
} from '../knative';
import { argChecks } from './component-args';
import {
  DOMAIN_WITH_MAGIC_DNS,
  expectDomain,
  expectKnativeVersion,
  expectKourierServiceType,
  KNATIVE_VERSION,
} from './setting-rules';

/** The types of the arguments, for programs that import only this folder. */
export type { KourierServiceType } from '../knative';

/** Labels the stack adds to every Knative and Kourier object. */
export const KNATIVE_INSTALL_LABELS = { 'app.kubernetes.io/part-of': 'hks-platform' } as const;

/** Arguments of {@link KnativeServing}. */
export interface KnativeServingArgs {
  /**
   * Knative Serving and net-kourier release, e.g. `1.13.0`: the release files downloaded, or
   * the one `manifestDir` holds.
   * @default '1.13.0' (the release the platform is tested with)
   */
  readonly version?: string;
  /**
   * Folder of the manifests: release files (`serving-core.yaml`, `kourier.yaml`) or the
   * upstream source trees, for air-gapped clusters.
   * @default - the official release files are downloaded
   */
  readonly manifestDir?: string;
  /**
   * Domain of function URLs (`<name>.<namespace>.<domain>`), written to `config-domain`; a
   * lower-case DNS name. Not together with `magicDns`.
   * @default - Knative's default domain: call functions through the gateway with a Host header
   */
  readonly domain?: string;
  /**
   * How the Kourier gateway Service is exposed: `NodePort` (kind, bare metal) or `ClusterIP`
   * (port-forward) on clusters without a load balancer.
   * @default 'LoadBalancer'
   */
  readonly kourierServiceType?: KourierServiceType;
  /**
   * Install Knative's default-domain Job, which writes `<load-balancer-ip>.sslip.io` into
   * `config-domain`; needs a load balancer and public DNS.
   * @default false
   */
  readonly magicDns?: boolean;
  /**
   * Do not wait for Deployments to become Available and Services to get an address (a
   * `LoadBalancer` gateway that may never get one, nodes that cannot pull images yet).
   * @default false
   */
  readonly skipAwait?: boolean;
  /**
   * Install Knative's admission webhook configurations. False is for test control planes
   * only, whose fake nodes cannot run the webhook pod: registered, its webhooks (failurePolicy
   * Fail) would refuse every Knative object in the cluster.
   * @default true
   */
  readonly webhooks?: boolean;
}

/**
 * Knative Serving with Kourier as its ingress: two ConfigGroups, Kourier after Serving, made
 * of the release manifests with the settings written into the objects (see
 * `transformKnativeManifests`). Every child uses the provider given in `opts` (`provider` or
 * `providers`), or the parent's.
 *
 * @throws ComponentArgError naming the argument, the value given and what is expected, before
 *   any resource is registered
 */
export class KnativeServing extends pulumi.ComponentResource {
  /** The component's type token, part of the URN of every resource under it: stable. */
  public static readonly pulumiType = 'hks:platform:KnativeServing';

  /** The Serving group (CRDs, core, webhooks). */
  public readonly serving: k8s.yaml.v2.ConfigGroup;
  /** The Kourier group (controller, gateway, optionally the magic DNS Job). */
  public readonly kourier: k8s.yaml.v2.ConfigGroup;
  /**
   * Where the gateway is reached: the load balancer's IP or host name (empty until it has
   * one), `<clusterIP>:80` for ClusterIP, `<any-node-ip>:<nodePort>` for NodePort.
   */
  public readonly kourierAddress: pulumi.Output<string>;
  /** The domain written to config-domain, or empty when Knative's default applies. */
  public readonly domain: pulumi.Output<string>;
  /** The Knative release installed. */
  public readonly knativeVersion: pulumi.Output<string>;
  /** Namespace of Knative Serving's controllers and config maps, once the Serving group exists. */
  public readonly servingNamespace: pulumi.Output<string>;
  /** Namespace of the Kourier gateway, once the Kourier group exists. */
  public readonly kourierNamespace: pulumi.Output<string>;

  constructor(name: string, args: KnativeServingArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    const version = args.version ?? KNATIVE_VERSION;
    // checked (and local manifests read) before anything is registered
    const loaded = loadManifests(name, args, version);
    super(KnativeServing.pulumiType, name, {}, opts);
    const objects: Promise<KnativeInstallObjects> = loaded.then((manifests) =>
      transformKnativeManifests(manifests, {
        domain: args.domain,
        kourierServiceType: args.kourierServiceType,
        magicDns: args.magicDns,
        labels: KNATIVE_INSTALL_LABELS,
      }),
    );
    const serving = objects.then((o) =>
      args.webhooks === false ? withoutWebhooks(o.serving) : o.serving,
    );
    const skipAwait = args.skipAwait ?? false;
    this.serving = new k8s.yaml.v2.ConfigGroup(
      `${name}-serving`,
      { objs: serving, skipAwait },
      { parent: this },
    );
    this.kourier = new k8s.yaml.v2.ConfigGroup(
      `${name}-kourier`,
      { objs: objects.then((o) => o.kourier), skipAwait },
      { parent: this, dependsOn: [this.serving] },
    );
    // The gateway as the Kourier group created it: its resources' outputs hold what the API
    // server assigned (node ports, cluster IP, load balancer address). Not a `Service.get`:
    // Pulumi keeps a read resource in the state with no inputs, and every `pulumi refresh` then
    // reports it updated (pulumi/pulumi#16401) although nothing drifted.
    this.kourierAddress = this.kourier.resources.apply((resources) =>
      gatewayAddress(resources ?? []),
    );
    this.domain = pulumi.output(args.domain ?? '');
    this.knativeVersion = pulumi.output(version);
    this.servingNamespace = this.serving.resources.apply(() => KNATIVE_SERVING_NAMESPACE);
    this.kourierNamespace = this.kourier.resources.apply(() => KOURIER_SERVICE.namespace);
    this.registerOutputs({
      kourierAddress: this.kourierAddress,
      domain: this.domain,
      knativeVersion: this.knativeVersion,
      servingNamespace: this.servingNamespace,
      kourierNamespace: this.kourierNamespace,
    });
  }
}

/** Knative's admission webhook configurations (validating and mutating). */
export function isWebhookConfiguration(object: KubeObject): boolean {
  return (
    object.apiVersion.startsWith('admissionregistration.k8s.io/') &&
    object.kind.endsWith('WebhookConfiguration')
  );
}

/** The objects without the webhook configurations (`webhooks: false`, test control planes only). */
export function withoutWebhooks(objects: readonly KubeObject[]): KubeObject[] {
  return objects.filter((object) => !isWebhookConfiguration(object));
}

/** Namespace of Knative Serving in the release manifests. */
export const KNATIVE_SERVING_NAMESPACE = 'knative-serving';

/**
 * Checks the arguments; then the manifests: read from `manifestDir` at once (a wrong folder
 * fails the constructor), or downloaded.
 *
 * @throws ComponentArgError naming the argument
 */
function loadManifests(
  name: string,
  args: KnativeServingArgs,
  version: string,
): Promise<KnativeManifests> {
  const check = argChecks('KnativeServing', name);
  check.rule('version', args.version, expectKnativeVersion(version));
  if (args.domain !== undefined) {
    check.rule('domain', args.domain, expectDomain(args.domain));
    if (args.magicDns === true) check.rule('domain', args.domain, DOMAIN_WITH_MAGIC_DNS);
  }
  const serviceType = args.kourierServiceType ?? 'LoadBalancer';
  check.rule('kourierServiceType', serviceType, expectKourierServiceType(serviceType));
  for (const key of ['magicDns', 'skipAwait', 'webhooks'] as const) {
    check.optionalBoolean(key, args[key]);
  }
  const dir = args.manifestDir;
  return dir === undefined
    ? downloadManifests(version, args.magicDns ?? false)
    : Promise.resolve(check.field('manifestDir', () => readLocalManifests(dir)));
}

/** What {@link gatewayAddress} reads of a ConfigGroup's resource (outputs or plain values). */
export interface GroupResource {
  readonly apiVersion?: pulumi.Input<string>;
  readonly kind?: pulumi.Input<string>;
  readonly metadata?: pulumi.Input<{ name?: string; namespace?: string }>;
  readonly spec?: pulumi.Input<unknown>;
  readonly status?: pulumi.Input<unknown>;
}

/**
 * The address of the Kourier gateway Service among a ConfigGroup's resources
 * ({@link serviceAddress}).
 *
 * @throws Error when the group holds no Service kourier-system/kourier (outside a preview)
 */
export function gatewayAddress(resources: readonly GroupResource[]): pulumi.Output<string> {
  return pulumi
    .all(
      resources.map((r) =>
        pulumi.all([r.apiVersion, r.kind, r.metadata, r.spec, r.status] as const),
      ),
    )
    .apply((rows) => {
      const gateway = rows.find(
        ([apiVersion, kind, metadata]) =>
          apiVersion === 'v1' &&
          kind === 'Service' &&
          metadata?.name === KOURIER_SERVICE.name &&
          metadata?.namespace === KOURIER_SERVICE.namespace,
      );
      if (gateway === undefined) {
        // a preview may not know the group's resources yet
        if (pulumi.runtime.isDryRun()) return '';
        throw new Error(
          `the Kourier group created no Service ${KOURIER_SERVICE.namespace}/${KOURIER_SERVICE.name} (${rows.length} resources)`,
        );
      }
      return serviceAddress(
        gateway[3] as k8s.types.output.core.v1.ServiceSpec | undefined,
        gateway[4] as k8s.types.output.core.v1.ServiceStatus | undefined,
      );
    });
}

/** How a Service is reached from outside, by its type. */
export function serviceAddress(
  spec: k8s.types.output.core.v1.ServiceSpec | undefined,
  status: k8s.types.output.core.v1.ServiceStatus | undefined,
): string {
  if (spec?.type === 'LoadBalancer') {
    const ingress = status?.loadBalancer?.ingress?.[0];
    return ingress?.ip ?? ingress?.hostname ?? '';
  }
  if (spec?.type === 'NodePort') {
    const port = spec.ports?.find((p) => p.port === 80) ?? spec.ports?.[0];
    return `<any-node-ip>:${port?.nodePort ?? ''}`;
  }
  return spec?.clusterIP ? `${spec.clusterIP}:80` : '';
}
