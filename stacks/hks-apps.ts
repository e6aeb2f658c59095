import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { App } from 'cdk8s';
import { BuildProjectChartsOptions, buildProjectCharts, loadDefinitions } from '../constructs';
import { KubeObject } from '../knative';
import { argChecks } from './component-args';

/** The types of the arguments, for programs that import only this folder. */
export type { BuildProjectChartsOptions } from '../constructs';

/** Arguments of {@link HksApps}. */
export interface HksAppsArgs {
  /**
   * Folder (or file) of application definitions, e.g. `apps`; a relative path is read from
   * the folder the program runs in.
   */
  readonly appsDir: string;
  /** Do not wait for the applications' Deployments. @default false */
  readonly skipAwait?: boolean;
  /**
   * How definitions become charts, e.g. `{ namespaceForProject: (p) => \`team-${p}\` }` to
   * match the API's `namespacePrefix`.
   * @default - as `npm run synth` builds them: a project's namespace is its name
   */
  readonly build?: BuildProjectChartsOptions;
}

/**
 * The manifests of a folder of definitions, made by the constructs exactly as `npm run synth`
 * makes them (loadDefinitions + buildProjectCharts).
 *
 * @throws DefinitionError listing every problem in the definitions
 */
export function appManifests(
  appsDir: string,
  options: BuildProjectChartsOptions = {},
): KubeObject[] {
  const definitions = loadDefinitions(appsDir).map((c) => c.definition);
  const app = new App();
  return buildProjectCharts(app, definitions, options).flatMap(
    (chart) => chart.toJson() as KubeObject[],
  );
}

/**
 * The applications of a folder of definitions, made by the constructs, in one ConfigGroup.
 * Give it `dependsOn` the `KnativeServing` and `HksPlatform` it runs on, and as
 * `provider` one configured after Knative's CRDs exist: a Kubernetes provider decides from
 * its discovery cache, filled when first used and never refreshed, whether each kind of a
 * ConfigGroup is namespaced, so a provider that was used before Knative was installed refuses
 * the Knative Services (`failed to determine if the following GVK is namespaced:
 * serving.knative.dev/v1, Kind=Service`). {@link appsProvider} makes one.
 *
 * @throws DefinitionError listing every problem in the definitions, before any resource is
 *   registered
 */
export class HksApps extends pulumi.ComponentResource {
  /** The component's type token, part of the URN of every resource under it: stable. */
  public static readonly pulumiType = 'hks:platform:HksApps';

  /** The applications' objects. */
  public readonly group: k8s.yaml.v2.ConfigGroup;
  /** Number of objects deployed. */
  public readonly objectCount: pulumi.Output<number>;
  /** The applications' namespaces (one per project), once the objects exist. */
  public readonly namespaces: pulumi.Output<string[]>;

  constructor(name: string, args: HksAppsArgs, opts?: pulumi.ComponentResourceOptions) {
    // checked and made before anything is registered
    argChecks('HksApps', name).optionalBoolean('skipAwait', args.skipAwait);
    const objects = appManifests(args.appsDir, args.build);
    super(HksApps.pulumiType, name, {}, opts);
    this.group = new k8s.yaml.v2.ConfigGroup(
      `${name}-objects`,
      { objs: objects, skipAwait: args.skipAwait ?? false },
      // dependsOn is repeated on the group: the objects must wait for Knative's CRDs and webhooks
      { parent: this, dependsOn: opts?.dependsOn },
    );
    const namespaces = objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
    this.objectCount = pulumi.output(objects.length);
    this.namespaces = this.group.resources.apply(() => namespaces);
    this.registerOutputs({ objectCount: this.objectCount, namespaces: this.namespaces });
  }
}

/**
 * A Kubernetes provider for {@link HksApps}: configured with `args` once the objects of
 * `knative`'s groups exist (its kubeconfig input waits for their `resources`), so that its
 * discovery knows Knative's kinds.
 *
 * @param knative what the applications run on: its Serving and Kourier groups
 * @param args the provider's settings, e.g. the kubeconfig and context of the other providers
 */
export function appsProvider(
  name: string,
  knative: { readonly serving: k8s.yaml.v2.ConfigGroup; readonly kourier: k8s.yaml.v2.ConfigGroup },
  args: k8s.ProviderArgs = {},
  opts?: pulumi.CustomResourceOptions,
): k8s.Provider {
  const ready = pulumi.all([knative.serving.resources, knative.kourier.resources]);
  const kubeconfig = pulumi.all([ready, args.kubeconfig]).apply(([, value]) => value);
  return new k8s.Provider(
    name,
    { ...args, kubeconfig },
    { ...opts, dependsOn: [knative.serving, knative.kourier] },
  );
}
