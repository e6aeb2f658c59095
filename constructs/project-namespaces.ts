import { checkNamespaceName, checkNamespacePrefix } from './field-rules';

/**
 * The one rule that maps projects to namespaces: namespace = prefix + project. Synth
 * (`--namespace-prefix`), the API (`HKS_NAMESPACE_PREFIX`: applications, recorder, janitor,
 * revision sources) and the Pulumi stack (`namespacePrefix`) all go through it, so that an
 * installation finds its projects where it put them and leaves another installation's alone.
 */
export class ProjectNamespaces {
  /**
   * @param prefix what every project's namespace starts with
   * @default prefix ""
   * @throws Error naming the prefix, when it is not lower-case letters, digits and '-' of at
   *   most 23 characters, or would make every namespace a reserved one
   */
  public constructor(public readonly prefix = '') {
    const problem = checkNamespacePrefix(prefix);
    if (problem) throw new Error(`namespace prefix: ${problem}`);
  }

  /** The namespace of a project. */
  public of(project: string): string {
    return `${this.prefix}${project}`;
  }

  /** Why the project's namespace cannot be (too long, reserved), or undefined when it can. */
  public problemOf(project: string): string | undefined {
    return checkNamespaceName(this.of(project));
  }

  /**
   * Whether `namespace` is the namespace of `project` in this installation: an object labelled
   * with a project but found elsewhere belongs to another installation on the same cluster.
   */
  public isOf(namespace: string | undefined, project: string | undefined): boolean {
    return namespace !== undefined && project !== undefined && namespace === this.of(project);
  }

  /** Whether a namespace may hold one of this installation's projects (it has the prefix). */
  public mayHoldProject(namespace: string): boolean {
    return namespace.startsWith(this.prefix);
  }
}
