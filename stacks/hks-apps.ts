import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { App } from 'cdk8s';
import { BuildProjectChartsOptions, buildProjectCharts, loadDefinitions } from '../constructs';
import { KubeObject } from '../knative';

/** Arguments of {@link HksApps}. */
export interface HksAppsArgs {
  /** Folder (or file) of application definitions, e.g. `apps`. */
  readonly appsDir: string;
  /** Do not wait for the applications' Deployments. @default false */
  readonly skipAwait?: boolean;
  /** How definitions become charts (namespace mapping, tenancy). @default - the synth defaults */
  readonly build?: BuildProjectChartsOptions;
  /**
   * The provider that applies the objects. Give one configured after the CRDs of the kinds
   * the definitions use (Knative's) exist: the provider asks its discovery cache, filled when
   * it is first used and not refreshed, whether each kind of a ConfigGroup is namespaced, and
   * the stack's default provider, used from the start, refuses Knative's kinds
   * (`failed to determine if the following GVK is namespaced: serving.knative.dev/v1,
   * Kind=Service`).
   * @default - the stack's default Kubernetes provider
   */
  readonly provider?: k8s.Provider;
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

/** The applications of a folder of definitions, in one ConfigGroup. */
export class HksApps extends pulumi.ComponentResource {
  public readonly group: k8s.yaml.v2.ConfigGroup;
  /** Number of objects deployed. */
  public readonly objectCount: pulumi.Output<number>;

  constructor(name: string, args: HksAppsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('hks:platform:HksApps', name, {}, opts);
    const objects = appManifests(args.appsDir, args.build);
    this.group = new k8s.yaml.v2.ConfigGroup(
      `${name}-objects`,
      { objs: objects, skipAwait: args.skipAwait ?? false },
      // dependsOn is repeated on the group: the objects must wait for Knative's CRDs and webhooks
      { parent: this, dependsOn: opts?.dependsOn, provider: args.provider },
    );
    this.objectCount = pulumi.output(objects.length);
    this.registerOutputs({ objectCount: this.objectCount });
  }
}
