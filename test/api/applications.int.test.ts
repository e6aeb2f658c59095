jest.setTimeout(60_000);

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_VERSION, synthesizeDefinitions } from '../../constructs';
import { kubectl, kubectlJson, kubectlOk } from '../cluster/kubectl';
import { ApiProcess, projectRequest, startApi, testStores, token } from './api-process';

const stateless = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: API_VERSION,
  kind: 'StatelessApplication',
  metadata: { name, project: 'shop' },
  spec: { image: 'ghcr.io/acme/api:1.0.0', port: 8080, ...spec },
});
const cronJob = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: API_VERSION,
  kind: 'CronJob',
  metadata: { name, project: 'shop' },
  spec: { template: 'api', schedule: '0 3 * * *', args: ['report.js'], ...spec },
});

describe.each(testStores())('applications through the API ($name store)', (store) => {
  const prefix = `t${randomBytes(2).toString('hex')}-`;
  const namespace = `${prefix}shop`;
  let api: ApiProcess;
  let headers: Record<string, string>;
  const request = (method: string, path: string, body?: unknown) =>
    projectRequest(api, 'shop', headers, method, path, body);
  const exists = async (kind: string, name: string) =>
    (await kubectl(['get', kind, name, '-n', namespace])).code === 0;

  beforeAll(async () => {
    api = await startApi({
      ...(await store.env()),
      HKS_NAMESPACE_PREFIX: prefix,
      HKS_RECORDER: 'off',
    });
    headers = {
      authorization: `Bearer ${await token(['shop'])}`,
      'content-type': 'application/json',
    };
  }, 60_000);

  afterAll(async () => {
    await api?.stop();
    await kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
    await kubectl([
      'delete',
      'validatingadmissionpolicy,validatingadmissionpolicybinding',
      `${prefix}no-forbidden-services`,
      '--ignore-not-found',
    ]);
  });

  test('POST applies the definition with server-side apply and stores version 1', async () => {
    const res = await request('POST', '/applications', stateless('api'));
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ name: 'api', kind: 'StatelessApplication', version: 1 });
    expect(res.json.objects).toEqual(
      expect.arrayContaining([
        `Namespace/${namespace}`,
        'Deployment/api',
        'Service/api',
        'ResourceQuota/hks-quota',
      ]),
    );
    const deployment = await kubectlJson<{
      metadata: { managedFields: { manager: string; operation: string }[] };
    }>(['get', 'deployment', 'api', '-n', namespace, '--show-managed-fields']);
    expect(deployment.metadata.managedFields).toEqual(
      expect.arrayContaining([expect.objectContaining({ manager: 'hks-api', operation: 'Apply' })]),
    );
    const ns = await kubectlJson<{ metadata: { labels: Record<string, string> } }>([
      'get',
      'namespace',
      namespace,
    ]);
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  test('POST of an existing name is a 409; GET lists and reads it', async () => {
    expect((await request('POST', '/applications', stateless('api'))).status).toBe(409);
    const list = await request('GET', '/applications');
    expect((list.json.items as { name: string }[]).map((i) => i.name)).toEqual(['api']);
    const one = await request('GET', '/applications/api');
    expect(one.json).toMatchObject({ name: 'api', version: 1, definition: stateless('api') });
    expect((await request('GET', '/applications/nope')).status).toBe(404);
  });

  test('an invalid definition is a 400 naming every field, and nothing is applied', async () => {
    const res = await request(
      'POST',
      '/applications',
      cronJob('bad-job', { template: 'missing', schedule: '* * * * * *', timeZone: 'Mars/Base' }),
    );
    expect(res.status).toBe(400);
    expect(res.type).toContain('application/problem+json');
    expect(res.json.errors).toEqual([
      {
        path: 'spec.schedule',
        message: expect.stringContaining(
          'given "* * * * * *" (6 fields; Kubernetes has no seconds field)',
        ),
      },
      {
        path: 'spec.timeZone',
        message: expect.stringContaining('given "Mars/Base", expected an IANA time zone'),
      },
      {
        path: 'spec.template',
        message: 'given "missing" (not found in project "shop"), expected one of api',
      },
    ]);
    expect(await exists('cronjob', 'bad-job')).toBe(false);
    expect(
      (
        await request('POST', '/applications', {
          ...stateless('other'),
          metadata: { name: 'other', project: 'billing' },
        })
      ).json.errors,
    ).toEqual([
      {
        path: 'metadata.project',
        message: 'given "billing", expected "shop" (the project in the URL)',
      },
    ]);
    expect((await request('POST', '/applications', 'not json')).status).toBe(400);
  });

  test('?dryRun=true returns the manifests and applies nothing', async () => {
    const res = await request('POST', '/applications?dryRun=true', cronJob('report'));
    expect(res.status).toBe(200);
    const kinds = (res.json.manifests as { kind: string; metadata: { name: string } }[]).map(
      (m) => `${m.kind}/${m.metadata.name}`,
    );
    expect(kinds).toContain('CronJob/report');
    expect(kinds).not.toContain('Deployment/api');
    expect(await exists('cronjob', 'report')).toBe(false);
    expect(
      (await request('POST', '/applications?dryRun=maybe', cronJob('report'))).json.errors,
    ).toEqual([
      { path: 'dryRun', message: 'given "maybe", expected "0" | "1" | "true" | "false"' },
    ]);
  });

  test('a CronJob from a template; changing the template re-applies it', async () => {
    expect((await request('POST', '/applications', cronJob('report'))).status).toBe(201);
    const image = async () =>
      (
        await kubectlOk([
          'get',
          'cronjob',
          'report',
          '-n',
          namespace,
          '-o',
          'jsonpath={.spec.jobTemplate.spec.template.spec.containers[0].image}',
        ])
      ).trim();
    expect(await image()).toBe('ghcr.io/acme/api:1.0.0');
    const res = await request(
      'PUT',
      '/applications/api',
      stateless('api', { image: 'ghcr.io/acme/api:2.0.0' }),
    );
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ version: 2, dependents: ['report'] });
    expect(await image()).toBe('ghcr.io/acme/api:2.0.0');
  });

  test('PUT prunes objects the new version no longer produces', async () => {
    expect(await exists('service', 'api')).toBe(true);
    const res = await request(
      'PUT',
      '/applications/api',
      stateless('api', { image: 'ghcr.io/acme/api:2.0.0', port: undefined }),
    );
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ version: 3, pruned: ['Service/api'] });
    expect(await exists('service', 'api')).toBe(false);
    expect(
      (await request('PUT', '/applications/other-name', stateless('api'))).json.errors,
    ).toEqual([
      {
        path: 'metadata.name',
        message: 'given "api", expected "other-name" (the name in the URL)',
      },
    ]);
  });

  test('GET manifests is exactly what synth writes for the stored definitions', async () => {
    const res = await request('GET', '/manifests');
    expect(res.status).toBe(200);
    expect(res.type).toContain('application/yaml');
    const stored = (await request('GET', '/applications')).json.items as { definition: never }[];
    const dir = mkdtempSync(join(tmpdir(), 'hks-expected-'));
    const [file] = synthesizeDefinitions(
      stored.map((i) => i.definition),
      dir,
      { namespaceForProject: (p) => `${prefix}${p}` },
    );
    expect(res.text).toBe(readFileSync(join(dir, file), 'utf8'));
  });

  test("a Kubernetes rejection is passed on with the server's message, and nothing of the definition is applied", async () => {
    const policy = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: `${prefix}no-forbidden-services` },
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
            expression: "!object.metadata.name.startsWith('forbidden')",
            message: 'services named forbidden* are not allowed here',
          },
        ],
      },
    };
    const binding = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: `${prefix}no-forbidden-services` },
      spec: {
        policyName: `${prefix}no-forbidden-services`,
        validationActions: ['Deny'],
        matchResources: {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
        },
      },
    };
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [policy, binding] }),
    );
    // The policy takes a moment to be loaded by the API server: wait until it denies a probe.
    for (let i = 0; i < 100; i++) {
      const probe = await kubectl([
        'create',
        'service',
        'clusterip',
        'forbidden-probe',
        '--tcp=80',
        '-n',
        namespace,
        '--dry-run=server',
      ]);
      if (probe.code !== 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const res = await request('POST', '/applications', stateless('forbidden-web'));
    expect(res.status).toBe(422);
    expect(res.json.detail).toContain('services named forbidden* are not allowed here');
    // The Deployment passed its own dry run, but the Service failed, so neither was applied.
    expect(await exists('deployment', 'forbidden-web')).toBe(false);
    expect((await request('GET', '/applications/forbidden-web')).status).toBe(404);
  });

  test('DELETE refuses a template in use, then removes objects and keeps or purges history', async () => {
    const refused = await request('DELETE', '/applications/api');
    expect(refused.status).toBe(409);
    expect(refused.json.detail).toContain('CronJobs report use "api" as their template');
    const deleted = await request('DELETE', '/applications/report?purgeHistory=true');
    expect(deleted.status).toBe(200);
    expect(deleted.json.deleted).toEqual(['CronJob/report']);
    expect(await exists('cronjob', 'report')).toBe(false);
    expect((await request('DELETE', '/applications/api')).status).toBe(200);
    expect(await exists('deployment', 'api')).toBe(false);
    expect((await request('GET', '/applications')).json.items).toEqual([]);
    expect((await request('DELETE', '/applications/api')).status).toBe(404);
  });
});
