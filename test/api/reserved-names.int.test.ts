/**
 * Reserved names at the API's door: a reserved project in the URL, a definition naming a
 * platform object, and a namespace prefix that leads a project into a reserved namespace are
 * 400 problems naming the field, and nothing is applied.
 */
import { API_VERSION } from '../../constructs';
import { kubectl } from '../cluster/kubectl';
import { ApiProcess, projectRequest, startApi, testStores, token } from './api-process';

jest.setTimeout(90_000);

const stateless = (name: string, project: string) => ({
  apiVersion: API_VERSION,
  kind: 'StatelessApplication',
  metadata: { name, project },
  spec: { image: 'ghcr.io/acme/api:1.0.0' },
});

let api: ApiProcess;
let prefixed: ApiProcess;
let headers: Record<string, string>;

beforeAll(async () => {
  // Each its own store: two processes migrating one SQLite file at once collide.
  const sqlite = testStores()[0];
  // Both started before either may fail, so that afterAll stops whichever did start.
  const [plain, withPrefix] = await Promise.allSettled([
    sqlite.env().then((env) => startApi({ ...env, HKS_RECORDER: 'off' })),
    sqlite
      .env()
      .then((env) => startApi({ ...env, HKS_RECORDER: 'off', HKS_NAMESPACE_PREFIX: 'hks-' })),
  ]);
  if (plain.status === 'fulfilled') api = plain.value;
  if (withPrefix.status === 'fulfilled') prefixed = withPrefix.value;
  for (const started of [plain, withPrefix])
    if (started.status === 'rejected') throw started.reason as Error;
  headers = {
    authorization: `Bearer ${await token(['*'])}`,
    'content-type': 'application/json',
  };
}, 90_000);

afterAll(async () => {
  await Promise.all([api?.stop(), prefixed?.stop()]);
  await kubectl(['delete', 'namespace', 'rsvd', '--wait=false', '--ignore-not-found']);
});

test.each(['kube-system', 'default', 'knative-serving', 'kourier-system', 'hks-system'])(
  'project %s in the URL is a 400 naming the parameter',
  async (project) => {
    const res = await projectRequest(
      api,
      project,
      headers,
      'POST',
      '/applications',
      stateless('api', project),
    );
    expect(res.status).toBe(400);
    expect(String(res.json.detail)).toContain(
      `project: given "${project}", expected a project name outside the reserved namespaces`,
    );
  },
);

test('an application named like a platform object is a 400 naming metadata.name; nothing is applied', async () => {
  const res = await projectRequest(
    api,
    'rsvd',
    headers,
    'POST',
    '/applications',
    stateless('hks-workload', 'rsvd'),
  );
  expect(res.status).toBe(400);
  expect(res.json.errors).toEqual([
    {
      path: 'metadata.name',
      message: expect.stringContaining('expected a name not starting with "hks-"'),
    },
  ]);
  expect((await kubectl(['get', 'namespace', 'rsvd'])).code).not.toBe(0);
});

test('a namespace prefix cannot lead a project into a reserved namespace', async () => {
  const res = await projectRequest(
    prefixed,
    'system',
    headers,
    'POST',
    '/applications',
    stateless('api', 'system'),
  );
  expect(res.status).toBe(400);
  expect(String(res.json.detail)).toContain(
    'given "hks-system", expected a namespace outside the reserved ones',
  );
  expect((await kubectl(['get', 'deployment', 'api', '-n', 'hks-system'])).code).not.toBe(0);
});

test('HKS_NAMESPACE_PREFIX=kube- stops the API at start with exit 2', async () => {
  const env = await testStores()[0].env();
  await expect(startApi({ ...env, HKS_NAMESPACE_PREFIX: 'kube-' })).rejects.toThrow(
    /HKS_NAMESPACE_PREFIX: given "kube-", expected a prefix not starting with "kube-"/,
  );
});
