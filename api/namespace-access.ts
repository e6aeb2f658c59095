import { Kube, KubeObject } from './kube';
import { Problem } from './problem';
import { ApiIdentity, identityOfUser, serviceAccountUser, tenantRoleBinding } from './rbac';

/** How long a new RoleBinding may take to reach the API server's authorizer. */
const GRANT_WAIT_MS = 10_000;

/**
 * Gives the API its rights in a project's namespace: the RoleBinding of the tenant ClusterRole
 * to the API's own ServiceAccount, created right after the namespace (the admission policy
 * lets it do so in managed namespaces only). An API that runs as another kind of user (a
 * developer's kubeconfig) has its rights from elsewhere and creates no binding.
 */
export class NamespaceAccess {
  private constructor(
    private readonly kube: Kube,
    /** The API's ServiceAccount. @default - not a ServiceAccount: nothing to bind */
    public readonly identity?: ApiIdentity,
  ) {}

  /** Asks the API server who this process is. */
  public static async discover(kube: Kube): Promise<NamespaceAccess> {
    return new NamespaceAccess(kube, identityOfUser(await kube.username()));
  }

  /** For an API whose identity is known (tests, or none). */
  public static of(kube: Kube, identity?: ApiIdentity): NamespaceAccess {
    return new NamespaceAccess(kube, identity);
  }

  /** Who the API is, for its start-up log line. */
  public describe(): string {
    return this.identity ? serviceAccountUser(this.identity) : 'not a ServiceAccount';
  }

  /**
   * Applies the RoleBinding in `namespace` and waits until the API server lets the API manage
   * the namespace's objects (RBAC reads bindings from a cache, so a write right after creating
   * one could be refused).
   * @throws Problem 502 when the rights do not arrive in time
   */
  public async grant(namespace: string): Promise<void> {
    if (!this.identity) return;
    await this.kube.apply(tenantRoleBinding(namespace, this.identity) as KubeObject);
    const deadline = Date.now() + GRANT_WAIT_MS;
    for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
      if (await this.kube.allowed(namespace, 'patch', 'configmaps')) return;
      if (Date.now() > deadline)
        throw new Problem(
          502,
          'Kubernetes unavailable',
          `The RoleBinding of the API in namespace ${namespace} was created, but the API server did not grant its rights within ${GRANT_WAIT_MS / 1000} s`,
        );
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
