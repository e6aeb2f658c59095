/**
 * What the API's ServiceAccount may do, checked by the real API server with the access objects
 * of api/rbac.ts (RBAC and the admission policy), both by impersonation and with a real token:
 * no write outside namespaces labelled `app.kubernetes.io/managed-by: hks`, and everything the
 * API needs inside them. (`auth can-i` asks RBAC only; the writes below also pass admission.)
 */
import { TENANT_CLUSTER_ROLE, serviceAccountUser, tenantRoleBinding } from '../api/rbac';
import { KubectlResult, kubectl, kubectlOk } from './cluster/kubectl';
import {
  TEST_API_IDENTITY,
  installApiIdentity,
  serviceAccountKubeconfig,
} from './support/api-identity';

jest.setTimeout(120_000);

const identity = TEST_API_IDENTITY;
const USER = serviceAccountUser(identity);
/** Namespaces the platform does not manage: the cluster's and the platform's own. */
const PROTECTED = ['kube-system', 'default', 'knative-serving', 'kourier-system', 'hks-system'];
const MANAGED = 'hks-access-check';
const RESTRICTED = {
  'app.kubernetes.io/managed-by': 'hks',
  'pod-security.kubernetes.io/enforce': 'restricted',
};

let tokenKubeconfig = '';

/** A namespace that exists and is not terminating (another suite may be deleting it). */
async function ensureNamespace(name: string): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const phase = await kubectl(['get', 'namespace', name, '-o', 'jsonpath={.status.phase}']);
    if (phase.code === 0 && phase.stdout === 'Active') return;
    if (phase.code !== 0) {
      const created = await kubectl(['create', 'namespace', name]);
      if (created.code === 0) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`namespace ${name} did not become Active`);
}

type As = 'impersonated' | 'token';
const ways: As[] = ['impersonated', 'token'];

/** kubectl as the API's ServiceAccount, by impersonation or with its token. */
function asApi(as: As, args: string[], input?: unknown): Promise<KubectlResult> {
  const body = input === undefined ? undefined : JSON.stringify(input);
  return as === 'token'
    ? kubectl(args, body, tokenKubeconfig)
    : kubectl([`--as=${USER}`, ...args], body);
}

const apply = (as: As, object: unknown) =>
  asApi(as, ['apply', '--server-side', '--field-manager=hks-api', '-f', '-'], object);

const configMap = (namespace: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'hks-access-check', namespace },
  data: { a: 'b' },
});
const job = (namespace: string) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'hks-access-check', namespace },
  spec: {
    template: {
      spec: {
        restartPolicy: 'Never',
        serviceAccountName: 'default',
        containers: [{ name: 'c', image: 'busybox' }],
      },
    },
  },
});
const deployment = (namespace: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'hks-access-check', namespace },
  spec: {
    selector: { matchLabels: { a: 'b' } },
    template: {
      metadata: { labels: { a: 'b' } },
      spec: {
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'c',
            image: 'busybox',
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    },
  },
});
const namespace = (name: string, labels: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
});

beforeAll(async () => {
  await installApiIdentity(identity);
  for (const ns of PROTECTED) await ensureNamespace(ns);
  await kubectl(['delete', 'namespace', MANAGED, '--ignore-not-found', '--wait=true']);
  tokenKubeconfig = await serviceAccountKubeconfig(identity, '10m');
});

afterAll(async () => {
  await kubectl(['delete', 'namespace', MANAGED, '--wait=false', '--ignore-not-found']);
});

describe.each(ways)('as the API (%s)', (as) => {
  describe.each(PROTECTED)('in %s', (ns) => {
    it.each([
      ['a ConfigMap', configMap],
      ['a Job', job],
      ['a Deployment', deployment],
      ['a RoleBinding of the tenant role to itself', (n: string) => tenantRoleBinding(n, identity)],
    ])('may not create %s', async (_what, object) => {
      const result = await apply(as, object(ns));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/forbidden|denied/i);
      // Nothing was created.
      const kind = (object(ns) as { kind: string }).kind.toLowerCase();
      expect((await kubectl(['get', kind, 'hks-access-check', '-n', ns])).code).not.toBe(0);
    });

    it('may not label the namespace as managed, nor strip its labels, nor delete it', async () => {
      const adopt = await apply(as, namespace(ns, RESTRICTED));
      expect(adopt.code).not.toBe(0);
      expect(adopt.stderr).toContain('may change only namespaces labelled');
      const labels = await kubectlOk(['get', 'namespace', ns, '-o', 'jsonpath={.metadata.labels}']);
      expect(labels).not.toContain('"app.kubernetes.io/managed-by":"hks"');
      const removed = await asApi(as, ['delete', 'namespace', ns, '--dry-run=server']);
      expect(removed.code).not.toBe(0);
    });
  });

  it('may not read logs, Secrets or pods outside managed namespaces', async () => {
    for (const args of [
      ['get', 'pods', '--subresource=log', '-n', 'kube-system'],
      ['list', 'pods', '-n', 'kube-system'],
      ['list', 'secrets', '--all-namespaces'],
      ['get', 'configmaps', '-n', 'kube-system'],
      ['create', 'pods', '-n', MANAGED],
      ['create', 'pods', '--subresource=exec', '-n', MANAGED],
      ['create', 'roles.rbac.authorization.k8s.io', '-n', MANAGED],
      ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
      ['delete', 'namespaces'],
    ]) {
      const result = await asApi(as, ['auth', 'can-i', ...args]);
      expect(`${args.join(' ')}: ${result.stdout.trim()}`).toBe(`${args.join(' ')}: no`);
    }
  });
});

describe('in a managed namespace (created by the API itself)', () => {
  const as: As = 'token';

  it('refuses a namespace without the managed-by label or without Pod Security restricted', async () => {
    const unlabelled = await apply(as, namespace(`${MANAGED}-x`, {}));
    expect(unlabelled.stderr).toContain('must keep the labels');
    const lax = await apply(
      as,
      namespace(`${MANAGED}-x`, {
        'app.kubernetes.io/managed-by': 'hks',
        'pod-security.kubernetes.io/enforce': 'privileged',
      }),
    );
    expect(lax.stderr).toContain('must keep the labels');
    expect((await kubectl(['get', 'namespace', `${MANAGED}-x`])).code).not.toBe(0);
  });

  it('creates the namespace, binds itself there and then manages what the constructs produce', async () => {
    const created = await apply(as, namespace(MANAGED, RESTRICTED));
    expect(created.stderr).toBe('');
    expect((await asApi(as, ['auth', 'can-i', 'create', 'configmaps', '-n', MANAGED])).stdout).toBe(
      'no\n',
    );
    const bound = await apply(as, tenantRoleBinding(MANAGED, identity));
    expect(bound.stderr).toBe('');
    for (const object of [configMap(MANAGED), deployment(MANAGED)]) {
      expect((await apply(as, object)).stderr).toBe('');
    }
    for (const args of [
      ['get', 'pods', '--subresource=log', '-n', MANAGED],
      ['create', 'jobs.batch', '-n', MANAGED],
      ['patch', 'services.serving.knative.dev', '-n', MANAGED],
      ['delete', 'cronjobs.batch', '-n', MANAGED],
    ]) {
      expect((await asApi(as, ['auth', 'can-i', ...args])).stdout.trim()).toBe('yes');
    }
    // Still no Secrets, and the namespace's Pod Security labels cannot be stripped.
    expect((await asApi(as, ['auth', 'can-i', 'get', 'secrets', '-n', MANAGED])).stdout).toBe(
      'no\n',
    );
    // Applying without the label would remove it (the API's field manager owns it).
    const stripped = await apply(as, namespace(MANAGED, { 'app.kubernetes.io/managed-by': 'hks' }));
    expect(stripped.stderr).toContain('must keep the labels');
    const lax = await asApi(as, [
      'label',
      'namespace',
      MANAGED,
      'pod-security.kubernetes.io/enforce=privileged',
      '--overwrite',
    ]);
    expect(lax.stderr).toContain('must keep the labels');
  });

  it('binds no other role and no other subject', async () => {
    const other = {
      ...tenantRoleBinding(MANAGED, identity),
      metadata: { name: 'hks-access-other', namespace: MANAGED },
    };
    const toWorkload = await apply(as, {
      ...other,
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: MANAGED }],
    });
    expect(toWorkload.stderr).toContain(`may bind only ClusterRole ${TENANT_CLUSTER_ROLE}`);
    const edit = await apply(as, {
      ...other,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
    });
    expect(edit.code).not.toBe(0);
    expect(
      (await kubectl(['get', 'rolebinding', 'hks-access-other', '-n', MANAGED])).code,
    ).not.toBe(0);
  });
});
