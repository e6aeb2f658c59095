jest.setTimeout(120_000);

import { randomBytes } from 'node:crypto';
import { API_VERSION, type ApplicationDefinition } from '../../constructs';
import { Store } from '../../api/store/store';
import { kubectl, kubectlJson, kubectlOk } from '../cluster/kubectl';
import { testApiKubeconfig } from '../support/api-identity';
import { startHoldingProxy } from '../support/holding-proxy';
import { ApiProcess, startApi, testStores, token } from './api-process';

const PROJECT = 'ledger';

const stateless = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: API_VERSION,
  kind: 'StatelessApplication',
  metadata: { name, project: PROJECT },
  spec: { image: 'ghcr.io/acme/ledger:1.0.0', port: 8080, ...spec },
});

interface Answer {
  readonly status: number;
  readonly etag: string | null;
  readonly json: Record<string, unknown>;
}

/** Opens the store an API process of `env` uses, as a second process would. */
const openStore = (env: Record<string, string>) =>
  Store.open({ databaseUrl: env.HKS_DATABASE_URL, sqlitePath: env.HKS_SQLITE_PATH ?? '' });

describe.each(testStores())('applies are whole and serialized ($name store)', (store) => {
  const prefix = `t${randomBytes(2).toString('hex')}-`;
  const namespace = `${prefix}${PROJECT}`;
  const policy = `${prefix}flaky-services-at-apply`;
  let env: Record<string, string>;
  let api: ApiProcess;
  let auth: string;

  const call = async (
    target: ApiProcess,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> => {
    const res = await fetch(`${target.url}/api/v1/projects/${PROJECT}/applications${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, etag: res.headers.get('etag'), json: JSON.parse(text) };
  };
  const request = (
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => call(api, method, path, body, headers);
  const exists = async (kind: string, name: string) =>
    (await kubectl(['get', kind, name, '-n', namespace])).code === 0;
  const deploymentImage = async (name: string) =>
    (
      await kubectlOk([
        'get', 'deployment', name, '-n', namespace,
        '-o', 'jsonpath={.spec.template.spec.containers[0].image}',
      ])
    ).trim(); // prettier-ignore
  const servicePort = async (name: string) =>
    Number(
      await kubectlOk([
        'get', 'service', name, '-n', namespace, '-o', 'jsonpath={.spec.ports[0].port}',
      ]),
    ); // prettier-ignore
  const storedImage = async (name: string) =>
    ((await request('GET', `/${name}`)).json.definition as { spec: { image: string } }).spec.image;

  beforeAll(async () => {
    env = { ...(await store.env()), HKS_NAMESPACE_PREFIX: prefix, HKS_RECORDER: 'off' };
    api = await startApi(env);
    auth = `Bearer ${await token([PROJECT])}`;
  }, 90_000);

  afterAll(async () => {
    await api?.stop();
    await kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
    await kubectl([
      'delete',
      'validatingadmissionpolicy,validatingadmissionpolicybinding',
      policy,
      '--ignore-not-found',
    ]);
  });

  test("of 10 parallel POSTs of one name exactly one is a 201, the others 409 (or 429 past the project's bound of definitions checked at once)", async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        request('POST', '', stateless('race', { image: `ghcr.io/acme/ledger:1.0.${i}` })),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((status) => status === 201)).toEqual([201]);
    expect(statuses.filter((status) => status !== 201 && status !== 409 && status !== 429)).toEqual(
      [],
    );
    const winner = answers.find((a) => a.status === 201) as Answer;
    expect(winner.json.version).toBe(1);
    const image = (winner.json.definition as { spec: { image: string } }).spec.image;
    expect(await deploymentImage('race')).toBe(image);
    expect(await storedImage('race')).toBe(image);
  });

  test('parallel PUTs are applied one after the other: store and cluster agree every round', async () => {
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          request(
            'PUT',
            '/race',
            stateless('race', { image: `ghcr.io/acme/ledger:2.${round}.${i}` }),
          ),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
      // Each got its own version: none was lost.
      const versions = answers.map((a) => Number(a.json.version)).sort((x, y) => x - y);
      expect(new Set(versions).size).toBe(5);
      const image = await storedImage('race');
      expect(await deploymentImage('race')).toBe(image);
    }
  });

  test('ETag and If-Match: of parallel PUTs with the same tag one wins, the others 412', async () => {
    const current = await request('GET', '/race');
    expect(current.etag).toMatch(/^"\d+-[0-9a-z]+"$/);
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        request('PUT', '/race', stateless('race', { image: `ghcr.io/acme/ledger:3.0.${i}` }), {
          'if-match': current.etag as string,
        }),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 412, 412, 412, 412]);
    const winner = answers.find((a) => a.status === 200) as Answer;
    const refused = answers.find((a) => a.status === 412) as Answer;
    expect(refused.json.errors).toEqual([
      {
        path: 'If-Match',
        message: `given ${JSON.stringify(current.etag)}, expected ${winner.etag}`,
      },
    ]);
    expect((await request('GET', '/race')).etag).toBe(winner.etag);
    expect(await deploymentImage('race')).toBe(await storedImage('race'));
    // A stale tag deletes nothing; the current one does.
    expect(
      (await request('DELETE', '/race', undefined, { 'if-match': current.etag as string })).status,
    ).toBe(412);
    expect(await exists('deployment', 'race')).toBe(true);
    expect((await request('PUT', '/nope', stateless('nope'), { 'if-match': '*' })).status).toBe(
      412,
    );
    expect(await exists('deployment', 'nope')).toBe(false);
    const deleted = await request('DELETE', '/race', undefined, {
      'if-match': winner.etag as string,
    });
    expect(deleted.status).toBe(200);
    expect(await exists('deployment', 'race')).toBe(false);
  });

  test('a failure at apply time (the dry run passed) is rolled back: store and cluster keep the previous version', async () => {
    expect((await request('POST', '', stateless('flaky'))).status).toBe(201);
    // Rejects Services named flaky* on real requests only: every dry run passes.
    const objects = [
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: policy },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {
            resourceRules: [
              {
                apiGroups: [''],
                apiVersions: ['v1'],
                operations: ['CREATE', 'UPDATE'],
                resources: ['services'],
              },
            ],
          },
          validations: [
            {
              expression: "request.dryRun == true || !object.metadata.name.startsWith('flaky')",
              message: 'flaky services fail at apply time',
            },
          ],
        },
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name: policy },
        spec: {
          policyName: policy,
          validationActions: ['Deny'],
          matchResources: {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
          },
        },
      },
    ];
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
    );
    // Wait until the API server has loaded it: a real create is denied, a dry run is not.
    for (let i = 0; ; i++) {
      const probe = await kubectl([
        'create', 'service', 'clusterip', 'flaky-probe', '--tcp=80', '-n', namespace,
      ]); // prettier-ignore
      if (probe.code !== 0 && probe.stderr.includes('flaky services fail at apply time')) break;
      await kubectl(['delete', 'service', 'flaky-probe', '-n', namespace, '--ignore-not-found']);
      if (i > 100) throw new Error('the admission policy was not loaded within 20 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    const dryRun = await kubectl([
      'create', 'service', 'clusterip', 'flaky-probe', '--tcp=80', '-n', namespace, '--dry-run=server',
    ]); // prettier-ignore
    expect(dryRun.code).toBe(0);

    // A replace: the Deployment was applied with the new image, then the Service failed.
    const replaced = await request(
      'PUT',
      '/flaky',
      stateless('flaky', { image: 'ghcr.io/acme/ledger:9.9.9', port: 9090 }),
    );
    expect(replaced.status).toBe(422);
    expect(replaced.json.detail).toContain('flaky services fail at apply time');
    expect(await deploymentImage('flaky')).toBe('ghcr.io/acme/ledger:1.0.0');
    expect(await servicePort('flaky')).toBe(8080);
    expect((await request('GET', '/flaky')).json).toMatchObject({ version: 1 });

    // A first version: nothing of it stays, nothing is stored, the name is free again.
    const created = await request('POST', '', stateless('flaky-new'));
    expect(created.status).toBe(422);
    expect(await exists('deployment', 'flaky-new')).toBe(false);
    expect((await request('GET', '/flaky-new')).status).toBe(404);
    expect((await request('DELETE', '/flaky-new')).status).toBe(404);
    // Without the Service the same name applies.
    expect((await request('POST', '', stateless('flaky-new', { port: undefined }))).status).toBe(
      201,
    );
  });

  test('kill -9 half way through an apply: the apply stays recorded, DELETE or a retry cleans up', async () => {
    const identity = await testApiKubeconfig();
    // The Service apply of `stuck` (not its dry run) never reaches the API server.
    const proxy = await startHoldingProxy(
      identity,
      (method, path) =>
        method === 'PATCH' && /\/services\/stuck(-again)?\?/.test(path) && !path.includes('dryRun'),
    );
    const doomed = await startApi({ ...env, KUBECONFIG: proxy.kubeconfig });
    try {
      expect(
        (await call(doomed, 'POST', '', stateless('stuck-again', { port: undefined }))).status,
      ).toBe(201);
      const first = call(doomed, 'POST', '', stateless('stuck')).catch(() => undefined);
      await proxy.held;
      for (let i = 0; !(await exists('deployment', 'stuck')); i++) {
        if (i > 100) throw new Error('the Deployment of the held apply did not appear');
        await new Promise((r) => setTimeout(r, 100));
      }
      doomed.child.kill('SIGKILL');
      await doomed.stop();
      await first;
    } finally {
      await proxy.close();
    }

    // Not a version, but recorded: GET says so, DELETE removes what it applied.
    const got = await request('GET', '/stuck');
    expect(got.status).toBe(404);
    expect(got.json.detail).toContain('did not finish');
    expect(
      ((await request('GET', '')).json.items as { name: string }[]).map((i) => i.name),
    ).not.toContain('stuck');
    // It waits for the killed process's claim to expire.
    const deleted = await request('DELETE', '/stuck');
    expect(deleted.status).toBe(200);
    expect(deleted.json.deleted).toEqual(['Deployment/stuck']);
    expect(await exists('deployment', 'stuck')).toBe(false);
    expect((await request('DELETE', '/stuck')).status).toBe(404);
  });

  test('kill -9 half way through a replace: a retry applies it whole', async () => {
    const identity = await testApiKubeconfig();
    const proxy = await startHoldingProxy(
      identity,
      (method, path) =>
        method === 'PATCH' && /\/services\/stuck-again\?/.test(path) && !path.includes('dryRun'),
    );
    const doomed = await startApi({ ...env, KUBECONFIG: proxy.kubeconfig });
    const v2 = stateless('stuck-again', { image: 'ghcr.io/acme/ledger:2.0.0', port: 9090 });
    try {
      const replace = call(doomed, 'PUT', '/stuck-again', v2).catch(() => undefined);
      await proxy.held;
      for (let i = 0; (await deploymentImage('stuck-again')) !== 'ghcr.io/acme/ledger:2.0.0'; i++) {
        if (i > 100) throw new Error('the Deployment of the held apply was not updated');
        await new Promise((r) => setTimeout(r, 100));
      }
      doomed.child.kill('SIGKILL');
      await doomed.stop();
      await replace;
    } finally {
      await proxy.close();
    }
    // The stored version is still the first; the cluster is half the second.
    expect((await request('GET', '/stuck-again')).json).toMatchObject({ version: 1 });
    const retried = await request('PUT', '/stuck-again', v2);
    expect(retried.status).toBe(200);
    expect(retried.json).toMatchObject({ version: 2 });
    expect(await deploymentImage('stuck-again')).toBe('ghcr.io/acme/ledger:2.0.0');
    expect(await servicePort('stuck-again')).toBe(9090);
  });

  test('a stored definition a newer schema rejects blocks only the writes that depend on it', async () => {
    const direct = await openStore(env);
    try {
      await direct.saveApplication({
        ...stateless('legacy'),
        spec: { image: 'ghcr.io/acme/ledger:0.1.0', replicas: 'three' },
      } as unknown as ApplicationDefinition);
    } finally {
      await direct.close();
    }
    expect((await request('POST', '', stateless('fresh'))).status).toBe(201);
    expect(
      (await request('PUT', '/fresh', stateless('fresh', { image: 'ghcr.io/acme/ledger:1.1.0' })))
        .status,
    ).toBe(200);
    const dependent = await request('POST', '', {
      apiVersion: API_VERSION,
      kind: 'CronJob',
      metadata: { name: 'nightly', project: PROJECT },
      spec: { template: 'legacy', schedule: '0 3 * * *' },
    });
    expect(dependent.status).toBe(409);
    expect(dependent.json.errors).toEqual([
      {
        path: 'spec.template',
        message: expect.stringMatching(
          /^given "legacy": the stored definition of "legacy" \(version 1, the template\) no longer passes the schema \(spec\.replicas: .*\); expected it replaced \(PUT \/applications\/legacy\) or deleted first$/,
        ),
      },
    ]);
    // Replacing it with a valid definition is a write of its own, and allowed.
    expect((await request('PUT', '/legacy', stateless('legacy'))).status).toBe(200);
    const deployment = await kubectlJson<{ spec: { replicas: number } }>([
      'get', 'deployment', 'legacy', '-n', namespace, '-o', 'json',
    ]); // prettier-ignore
    expect(deployment.spec.replicas).toBeGreaterThan(0);
  });
});
