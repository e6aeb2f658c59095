import { App } from 'cdk8s';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApplicationDefinition,
  buildProjectCharts,
  checkDefinitions,
  checkNamespaceName,
  DefinitionError,
  DefinitionInput,
  LABELS,
  MANAGER,
  synthesizeDefinitions,
} from '../constructs';
import { SourceChecker } from './check-source';
import { Kube, KubeObject } from './kube';
import { withPlatformLabels } from './platform-labels';
import { NamespaceAccess } from './namespace-access';
import { Problem } from './problem';
import { adoptApplicationSources, isRevisionSource } from './revision-sources';
import { StoredApplication, Store } from './store/store';

/** The result of applying one definition. */
export interface ApplyResult {
  readonly application: StoredApplication;
  readonly objects: KubeObject[];
  /** Objects of an earlier version that were deleted. */
  readonly pruned: string[];
  /** CronJobs re-applied because their template changed. */
  readonly dependents: string[];
}

/** What deleting an application removed. */
export interface DeleteResult {
  /** Deleted objects, as `Kind/name`. */
  readonly deleted: string[];
}

const REQUEST_SOURCE = { file: 'request body', document: 1 };

/** Tenancy objects (namespace, quotas, policies) belong to the project, not to an application. */
const isTenancy = (o: KubeObject) => o.metadata.labels?.[LABELS.app] === undefined;

/**
 * Applications of a project: definitions validated with the same schema as YAML files,
 * synthesized by the same constructs, applied with server-side apply after a server dry run
 * of every object (whole or not at all), pruned, and stored with a version.
 */
export class Applications {
  /** Per project, the tenancy objects this process last applied (as JSON). */
  private readonly appliedTenancy = new Map<string, string>();

  constructor(
    /** The definitions' store. */
    public readonly store: Store,
    private readonly kube: Kube,
    private readonly namespacePrefix: string,
    /** Syntax checks of Function source. @default - no check beyond the schema */
    private readonly sourceChecker?: SourceChecker,
    /** Gives the API its rights in each project namespace. @default - no RoleBinding created */
    private readonly access?: NamespaceAccess,
  ) {}

  /** The namespace of a project. */
  public namespaceOf(project: string): string {
    return `${this.namespacePrefix}${project}`;
  }

  /**
   * Validates a request body as a definition of `project` (and `name`, for PUT), against the
   * project's other stored definitions (templates, unique names).
   * @throws Problem 400 listing every failing field
   */
  public async validate(
    project: string,
    body: unknown,
    name?: string,
  ): Promise<ApplicationDefinition> {
    const metadata = (body as { metadata?: { project?: unknown; name?: unknown } } | null)
      ?.metadata;
    const errors = [];
    if (metadata && metadata.project !== project) {
      errors.push({
        path: 'metadata.project',
        message: `given ${JSON.stringify(metadata.project)}, expected ${JSON.stringify(project)} (the project in the URL)`,
      });
    }
    const namespaceProblem = checkNamespaceName(this.namespaceOf(project));
    if (namespaceProblem) {
      errors.push({
        path: 'metadata.project',
        message: `${namespaceProblem} (namespace = HKS_NAMESPACE_PREFIX + project)`,
      });
    }
    if (name !== undefined && metadata && metadata.name !== name) {
      errors.push({
        path: 'metadata.name',
        message: `given ${JSON.stringify(metadata.name)}, expected ${JSON.stringify(name)} (the name in the URL)`,
      });
    }
    if (errors.length)
      throw new Problem(
        400,
        'Invalid definition',
        errors.map((e) => `${e.path}: ${e.message}`).join('; '),
        errors,
      );
    const others = (await this.store.listApplications(project)).filter(
      (a) => a.name !== (metadata?.name as string | undefined),
    );
    let definition: ApplicationDefinition;
    const inputs: DefinitionInput[] = [
      ...others.map((a, i) => ({
        document: a.definition,
        source: { file: 'stored', document: i + 1 },
      })),
      { document: body, source: REQUEST_SOURCE },
    ];
    try {
      const checked = checkDefinitions(inputs);
      definition = checked[checked.length - 1].definition;
    } catch (error) {
      if (!(error instanceof DefinitionError)) throw error;
      const fieldErrors = error.problems
        .filter((p) => p.source.file === REQUEST_SOURCE.file)
        .map((p) => ({ path: p.path, message: p.message }));
      throw new Problem(
        400,
        'Invalid definition',
        fieldErrors.map((e) => `${e.path || '(document)'}: ${e.message}`).join('; '),
        fieldErrors,
      );
    }
    await this.sourceChecker?.check(definition);
    return definition;
  }

  /** The objects a definition becomes, tenancy first (what synth would write for it). */
  public async manifestsFor(definition: ApplicationDefinition): Promise<KubeObject[]> {
    const needed = [definition];
    if (definition.kind === 'CronJob' && definition.spec.template) {
      const template = await this.store.getApplication(
        definition.metadata.project,
        definition.spec.template,
      );
      if (template) needed.push(template.definition);
    }
    const app = new App();
    const [chart] = buildProjectCharts(app, needed, {
      namespaceForProject: (p) => this.namespaceOf(p),
    });
    const objects = chart.toJson() as KubeObject[];
    return objects.filter((o) => {
      const owner = o.metadata.labels?.[LABELS.app];
      return owner === undefined || owner === definition.metadata.name;
    });
  }

  /**
   * Applies a definition: server dry run of every object, then server-side apply, then pruning
   * of objects the new version no longer has; stores it; re-applies CronJobs templated on it.
   */
  public async apply(definition: ApplicationDefinition): Promise<ApplyResult> {
    const project = definition.metadata.project;
    const objects = await this.manifestsFor(definition);
    await this.withTenancy(project, objects, async (rest) => {
      await Promise.all(rest.map((o) => this.kube.apply(o, true)));
      await Promise.all(rest.map((o) => this.kube.apply(o)));
    });
    // A first version has nothing to prune.
    const previous = await this.store.getApplication(project, definition.metadata.name);
    const pruned = previous ? await this.prune(definition, objects) : [];
    const application = await this.store.saveApplication(definition);
    const dependents: string[] = [];
    if (definition.kind === 'StatelessApplication') {
      for (const dependent of await this.dependentsOf(project, definition.metadata.name)) {
        await this.apply(dependent.definition);
        dependents.push(dependent.name);
      }
    }
    return { application, objects, pruned, dependents };
  }

  /**
   * Applies a definition's objects without dry run, store or pruning: for short-lived
   * (ephemeral) functions, which the caller deletes again. All objects are applied at once:
   * like a kubelet, Knative waits for a ConfigMap or ServiceAccount that is not there yet.
   * @param platformLabels labels in the platform's own domain (which definitions may not set)
   *   added to the application's objects and its pods
   * @returns the application's own objects (not the project's tenancy objects)
   */
  public async applyUnstored(
    definition: ApplicationDefinition,
    platformLabels: Readonly<Record<string, string>>,
  ): Promise<KubeObject[]> {
    const objects = (await this.manifestsFor(definition)).map((o) =>
      isTenancy(o) ? o : withPlatformLabels(o, platformLabels),
    );
    const own = objects.filter((o) => !isTenancy(o));
    const applied = new Map<KubeObject, KubeObject>();
    await this.withTenancy(definition.metadata.project, objects, async (rest) => {
      // Every apply ends before a failure is reported, so that the caller's clean-up finds all
      // that was applied.
      const results = await Promise.allSettled(
        rest.map(async (o) => applied.set(o, await this.kube.apply(o))),
      );
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    });
    // As the server returned them: the resource version lets a watch start where apply ended.
    return own.map((o) => applied.get(o) ?? o);
  }

  /**
   * Applies the namespace and (when this process has not yet) the project's tenancy objects,
   * then runs `apply` on the rest.
   */
  private async withTenancy(
    project: string,
    objects: KubeObject[],
    apply: (rest: KubeObject[]) => Promise<void>,
  ): Promise<void> {
    const tenancyKey = JSON.stringify(objects.filter(isTenancy));
    // The project's tenancy objects are the same for all its applications: apply them once
    // per process (and again whenever they change), not with every definition.
    const toApply =
      this.appliedTenancy.get(project) === tenancyKey
        ? objects.filter((o) => !isTenancy(o))
        : objects;
    const namespaceObject = toApply.filter((o) => o.kind === 'Namespace');
    const rest = toApply.filter((o) => o.kind !== 'Namespace');
    try {
      // A dry run persists nothing, so the project's namespace must exist for the others' dry run;
      // the API's rights in it come with it.
      for (const ns of namespaceObject) {
        await this.kube.apply(ns);
        await this.access?.grant(ns.metadata.name);
      }
      await apply(rest);
    } catch (error) {
      this.appliedTenancy.delete(project);
      throw error;
    }
    this.appliedTenancy.set(project, tenancyKey);
  }

  /** CronJobs of a project that use `name` as their template. */
  public async dependentsOf(project: string, name: string): Promise<StoredApplication[]> {
    return (await this.store.listApplications(project)).filter(
      (a) => a.definition.kind === 'CronJob' && a.definition.spec.template === name,
    );
  }

  /**
   * Deletes an application's objects (their Jobs and pods cascade) and its definition.
   * @throws Problem 409 when CronJobs still use it as their template
   */
  public async remove(project: string, name: string, purgeHistory: boolean): Promise<DeleteResult> {
    const stored = await this.store.getApplication(project, name);
    if (!stored)
      throw Problem.notFound(
        `No application ${JSON.stringify(name)} in project ${JSON.stringify(project)}`,
      );
    const dependents = await this.dependentsOf(project, name);
    if (dependents.length) {
      throw new Problem(
        409,
        'In use',
        `CronJobs ${dependents.map((d) => d.name).join(', ')} use ${JSON.stringify(name)} as their template; delete or change them first`,
      );
    }
    const live = await this.kube.listManaged(
      this.namespaceOf(project),
      `${LABELS.managedBy}=${MANAGER},${LABELS.app}=${name}`,
    );
    await Promise.all(live.map((o) => this.kube.delete(o)));
    await this.store.deleteApplication(project, name);
    if (purgeHistory) await this.store.purgeExecutions(project, name);
    return { deleted: live.map((o) => `${o.kind}/${o.metadata.name}`) };
  }

  /** The whole project as multi-document YAML, exactly what `npm run synth` writes. */
  public async projectManifests(project: string): Promise<string> {
    const definitions = (await this.store.listApplications(project)).map((a) => a.definition);
    if (definitions.length === 0)
      throw Problem.notFound(`Project ${JSON.stringify(project)} has no applications`);
    const dir = mkdtempSync(join(tmpdir(), 'hks-manifests-'));
    try {
      const [file] = synthesizeDefinitions(definitions, dir, {
        namespaceForProject: (p) => this.namespaceOf(p),
      });
      return readFileSync(join(dir, file), 'utf8');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Deletes the objects of an earlier version that the new one no longer has, except source
   * ConfigMaps a Knative Revision still owns: those go with their last Revision (garbage
   * collector), so a revision that still routes can start again from zero.
   */
  private async prune(definition: ApplicationDefinition, wanted: KubeObject[]): Promise<string[]> {
    const id = (o: KubeObject) => `${o.apiVersion}/${o.kind}/${o.metadata.name}`;
    const keep = new Set(wanted.map(id));
    const namespace = this.namespaceOf(definition.metadata.project);
    if (definition.kind === 'Function')
      await adoptApplicationSources(this.kube, namespace, definition.metadata.name);
    const live = await this.kube.listManaged(
      namespace,
      `${LABELS.managedBy}=${MANAGER},${LABELS.app}=${definition.metadata.name}`,
    );
    const stale = live.filter((o) => !keep.has(id(o)) && !isRevisionSource(o));
    await Promise.all(stale.map((o) => this.kube.delete(o)));
    return stale.map((o) => `${o.kind}/${o.metadata.name}`);
  }
}
