import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApplicationDefinition,
  LABELS,
  MANAGER,
  ProjectNamespaces,
  synthesizeDefinitions,
  chartOptionsFromSettings,
  PlatformSettings,
} from '../constructs';
import { ApplicationClaims, ClaimTiming, HeldClaim } from './application-claims';
import { SourceChecker } from './check-source';
import { DefinitionRunner, inlineDefinitionRunner } from './definition-worker-pool';
import { checkIfMatch } from './entity-tag';
import { Kube, KubeObject } from './kube';
import { withPlatformLabels } from './platform-labels';
import { NamespaceAccess } from './namespace-access';
import { processLog } from './logger';
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

/** Conditions of an apply or a delete. */
export interface WriteConditions {
  /** The request's `If-Match` header. @default - no precondition */
  readonly ifMatch?: string;
  /** Refuse (409) when the application already has a version (POST). @default false */
  readonly create?: boolean;
}

/**
 * How long the API trusts that a project's tenancy objects are as it applied them before it
 * applies them again with the next definition of the project.
 */
export const TENANCY_REAPPLY_MS = 60_000;

/** Tenancy objects (namespace, quotas, policies) belong to the project, not to an application. */
const isTenancy = (o: KubeObject) => o.metadata.labels?.[LABELS.app] === undefined;

/**
 * Applications of a project: definitions validated with the same schema as YAML files,
 * synthesized by the same constructs, applied with server-side apply after a server dry run
 * of every object, stored with a version, then pruned. One apply or delete of an application
 * at a time (a claim in the store); an apply that fails is rolled back to the previous version.
 */
export class Applications {
  /** Per project, the tenancy objects this process last applied (as JSON), and when. */
  private readonly appliedTenancy = new Map<
    string,
    { readonly key: string; readonly at: number }
  >();
  /**
   * Per project, the tenancy apply under way in this process: a concurrent apply of the same
   * tenancy waits for it instead of sending the same objects again.
   */
  private readonly tenancyInFlight = new Map<
    string,
    { readonly key: string; readonly done: Promise<boolean> }
  >();
  private readonly claims: ApplicationClaims;
  private readonly namespaces: ProjectNamespaces;
  /** Checks of other parts that a definition must pass before it is applied. */
  private readonly checks: ((definition: ApplicationDefinition) => Promise<void>)[] = [];

  constructor(
    /** The definitions' store. */
    public readonly store: Store,
    private readonly kube: Kube,
    namespacePrefix: string,
    /** Syntax checks of Function source. @default - no check beyond the schema */
    private readonly sourceChecker?: SourceChecker,
    /** Gives the API its rights in each project namespace. @default - no RoleBinding created */
    private readonly access?: NamespaceAccess,
    /** How claims on applications are held and waited for. @default - see {@link ClaimTiming} */
    claimTiming?: ClaimTiming,
    /**
     * Where definitions are checked and synthesized (CPU-bound work).
     * @default - on the calling thread
     */
    private readonly definitions: DefinitionRunner = inlineDefinitionRunner,
    /**
     * The operator's tenancy and runtime images (`HKS_PLATFORM_SETTINGS`).
     * @default - the defaults of the constructs
     */
    private readonly settings: PlatformSettings = {},
  ) {
    this.claims = new ApplicationClaims(store, claimTiming);
    this.namespaces = new ProjectNamespaces(namespacePrefix);
  }

  /** Adds a check every definition must pass before it is applied (an event trigger's broker). */
  public addCheck(check: (definition: ApplicationDefinition) => Promise<void>): void {
    this.checks.push(check);
  }

  /** The namespace of a project. */
  public namespaceOf(project: string): string {
    return this.namespaces.of(project);
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
    const namespaceProblem = this.namespaces.problemOf(project);
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
    const definition = await this.definitions.run(project, { kind: 'check', body, others });
    await this.sourceChecker?.check(definition);
    for (const check of this.checks) await check(definition);
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
    return this.definitions.run(definition.metadata.project, {
      kind: 'synthesize',
      definitions: needed,
      namespace: this.namespaceOf(definition.metadata.project),
      settings: this.settings,
    });
  }

  /**
   * Applies a definition while holding the application's claim: records it as pending, makes a
   * server dry run of every object, applies them all, stores the new version, then prunes
   * objects the new version no longer has and re-applies CronJobs templated on it. When an
   * apply fails, the cluster is put back to the previous version (or the application's objects
   * are deleted when it had none) before the error is thrown; when even that fails, or the
   * process dies, the apply stays recorded and the next apply or delete cleans up.
   * @throws Problem 409 (exists, with `create`; another apply still running), 412 (If-Match)
   */
  public async apply(
    definition: ApplicationDefinition,
    conditions: WriteConditions = {},
  ): Promise<ApplyResult> {
    const { project, name } = definition.metadata;
    const claim = (await this.claims.acquire(project, name, definition)) as HeldClaim;
    try {
      if (conditions.create && claim.current) throw alreadyExists(project, name);
      checkIfMatch(conditions.ifMatch, claim.current);
    } catch (error) {
      // Nothing touched: what an interrupted apply left stays recorded.
      await claim.release(claim.interrupted !== undefined);
      throw error;
    }
    const result = await this.applyHeld(definition, claim);
    const dependents: string[] = [];
    if (definition.kind === 'StatelessApplication') {
      for (const dependent of await this.dependentsOf(project, name)) {
        await this.apply(dependent.definition);
        dependents.push(dependent.name);
      }
    }
    return { ...result, dependents };
  }

  /** The body of {@link apply} under its claim, which it releases. */
  private async applyHeld(
    definition: ApplicationDefinition,
    claim: HeldClaim,
  ): Promise<Omit<ApplyResult, 'dependents'>> {
    const project = definition.metadata.project;
    let objects: KubeObject[] = [];
    // What an interrupted apply left must go as well when this one fails.
    let touched = claim.interrupted !== undefined;
    try {
      objects = await this.manifestsFor(definition);
      await this.withTenancy(project, objects, async (rest) => {
        await Promise.all(rest.map((o) => this.kube.apply(o, true)));
        touched = true;
        // Every apply ends before a failure is reported, so that the roll-back sees all of them.
        await settled(rest.map((o) => this.kube.apply(o)));
      });
    } catch (error) {
      const restored = !touched || (await this.restore(definition, claim.current));
      await claim.release(!restored);
      throw error;
    }
    let application: StoredApplication;
    try {
      application = await claim.commit(definition);
    } catch (error) {
      // Lost to another apply, which owns the objects now; or the store failed: the apply
      // stays recorded for the next one.
      await claim.release(true).catch(() => undefined);
      throw error;
    }
    try {
      // Only after the new version is stored; also removes what an interrupted apply left.
      const pruned =
        claim.current || claim.interrupted ? await this.prune(definition, objects) : [];
      return { application, objects, pruned };
    } finally {
      await claim.release();
    }
  }

  /**
   * Puts an application's objects back as `previous` made them, deleting all others of it (or
   * all of them when there is no previous version), after a failed apply of `failed`.
   * @returns whether that succeeded
   */
  private async restore(
    failed: ApplicationDefinition,
    previous: StoredApplication | undefined,
  ): Promise<boolean> {
    try {
      const wanted = previous
        ? (await this.manifestsFor(previous.definition)).filter((o) => !isTenancy(o))
        : [];
      await settled(wanted.map((o) => this.kube.apply(o)));
      await this.prune(previous?.definition ?? failed, wanted);
      return true;
    } catch (error) {
      processLog('applications').error(
        { project: failed.metadata.project, application: failed.metadata.name, err: error },
        'roll-back of a failed apply failed; it stays recorded for the next apply or delete',
      );
      return false;
    }
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
    /** What the platform adds to each of the application's objects (not tenancy). @default - nothing */
    platformChange: (object: KubeObject) => KubeObject = (object) => object,
    /**
     * What is applied instead of the application's objects, made from them (a warm pool's
     * Deployment from a function's Knative Service). @default - the objects themselves
     */
    rebuild: (own: KubeObject[]) => KubeObject[] = (own) => own,
  ): Promise<KubeObject[]> {
    const synthesized = (await this.manifestsFor(definition)).map((o) =>
      isTenancy(o) ? o : platformChange(withPlatformLabels(o, platformLabels)),
    );
    const own = rebuild(synthesized.filter((o) => !isTenancy(o)));
    const objects = [...synthesized.filter(isTenancy), ...own];
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
    // The project's tenancy objects are the same for all its applications: apply them when
    // they change, and at least every TENANCY_REAPPLY_MS, not with every definition. Someone
    // deleting or editing one (a NetworkPolicy, the quota) is repaired by the next apply after
    // that, whatever this process remembers.
    const last = this.appliedTenancy.get(project);
    const pending = this.tenancyInFlight.get(project);
    const fresh =
      (last !== undefined &&
        last.key === tenancyKey &&
        Date.now() - last.at < TENANCY_REAPPLY_MS) ||
      // Another apply of this process is applying the same tenancy: once it has, this one
      // need not (should it fail, this one applies it itself).
      (pending !== undefined && pending.key === tenancyKey && (await pending.done));
    const toApply = fresh ? objects.filter((o) => !isTenancy(o)) : objects;
    const at = Date.now();
    const namespaceObject = toApply.filter((o) => o.kind === 'Namespace');
    const rest = toApply.filter((o) => o.kind !== 'Namespace');
    let settle: (applied: boolean) => void = () => undefined;
    if (!fresh) {
      const done = new Promise<boolean>((resolve) => (settle = resolve));
      this.tenancyInFlight.set(project, { key: tenancyKey, done });
      void done.then(() => {
        if (this.tenancyInFlight.get(project)?.done === done) this.tenancyInFlight.delete(project);
      });
    }
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
      settle(false);
      throw error;
    }
    if (!fresh) this.appliedTenancy.set(project, { key: tenancyKey, at });
    settle(true);
  }

  /** CronJobs of a project that use `name` as their template. */
  public async dependentsOf(project: string, name: string): Promise<StoredApplication[]> {
    return (await this.store.listApplications(project)).filter(
      (a) => a.definition.kind === 'CronJob' && a.definition.spec.template === name,
    );
  }

  /**
   * Deletes an application's objects (their Jobs and pods cascade) and its definition, holding
   * its claim; also an application whose first apply failed half way or was interrupted.
   * @throws Problem 409 when CronJobs still use it as their template, 412 (If-Match)
   */
  public async remove(
    project: string,
    name: string,
    purgeHistory: boolean,
    conditions: Pick<WriteConditions, 'ifMatch'> = {},
  ): Promise<DeleteResult> {
    const claim = await this.claims.acquire(project, name);
    if (!claim)
      throw Problem.notFound(
        `No application ${JSON.stringify(name)} in project ${JSON.stringify(project)}`,
      );
    let removed = false;
    try {
      checkIfMatch(conditions.ifMatch, claim.current);
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
      // A purge also covers the Jobs not recorded yet, whose events come after it.
      const jobs = purgeHistory
        ? (
            await this.kube.listJobs(
              this.namespaceOf(project),
              `${LABELS.managedBy}=${MANAGER},${LABELS.app}=${name},${LABELS.kind}=CronJob`,
            )
          ).items.flatMap((j) => (j.metadata?.uid ? [j.metadata.uid] : []))
        : [];
      await Promise.all(live.map((o) => this.kube.delete(o)));
      await this.store.deleteApplication(project, name);
      removed = true;
      if (purgeHistory) await this.store.purgeExecutions(project, name, jobs);
      return { deleted: live.map((o) => `${o.kind}/${o.metadata.name}`) };
    } finally {
      // A deleted row holds no claim; otherwise the row stays as it was (pending or not).
      if (!removed) await claim.release(claim.interrupted !== undefined);
    }
  }

  /** The whole project as multi-document YAML, exactly what `npm run synth` writes. */
  public async projectManifests(project: string): Promise<string> {
    const definitions = (await this.store.listApplications(project)).map((a) => a.definition);
    if (definitions.length === 0)
      throw Problem.notFound(`Project ${JSON.stringify(project)} has no applications`);
    const dir = mkdtempSync(join(tmpdir(), 'hks-manifests-'));
    try {
      const [file] = synthesizeDefinitions(definitions, dir, {
        ...chartOptionsFromSettings(this.settings),
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

/** Waits for every promise; then throws the first rejection, if any. */
async function settled(promises: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

function alreadyExists(project: string, name: string): Problem {
  return new Problem(
    409,
    'Already exists',
    `Application ${JSON.stringify(name)} exists in project ${JSON.stringify(project)}; PUT /applications/${name} replaces it`,
  );
}
