import { randomBytes } from 'node:crypto';
import { API_VERSION } from '../../constructs';
import { kubectl } from '../cluster/kubectl';
import {
  ApiProcess,
  metricsText,
  projectRequest,
  startApi,
  testStores,
  token,
} from './api-process';

jest.setTimeout(120_000);

/**
 * A project's tenancy objects are applied once however many of its applications arrive at
 * the same moment: concurrent applies wait for the one under way. Counted by the API's own
 * `hks_kube_requests_total` on the real API server.
 */
const prefix = `to${randomBytes(2).toString('hex')}-`;
let api: ApiProcess;
let headers: Record<string, string>;

const stateless = (project: string, name: string) => ({
  apiVersion: API_VERSION,
  kind: 'StatelessApplication',
  metadata: { name, project },
  spec: { image: 'ghcr.io/acme/api:1.0.0', port: 8080 },
});

/** The API's NetworkPolicy applies (dry runs included) so far. */
async function policyApplies(): Promise<number> {
  const line = (await metricsText(api))
    .split('\n')
    .find(
      (l) =>
        l.startsWith('hks_kube_requests_total{') &&
        l.includes('verb="apply"') &&
        l.includes('resource="networkpolicies.networking.k8s.io"'),
    );
  return Number(line?.split(' ').pop() ?? 0);
}

beforeAll(async () => {
  api = await startApi({
    ...(await testStores()[0].env()),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
  });
  headers = {
    authorization: `Bearer ${await token(['one', 'many'])}`,
    'content-type': 'application/json',
  };
}, 60_000);

afterAll(async () => {
  await api?.stop();
  await kubectl(['delete', 'namespace', `${prefix}one`, `${prefix}many`, '--wait=false']);
});

test('eight applications of a new project at once apply its tenancy as often as one does', async () => {
  const before = await policyApplies();
  const single = await projectRequest(
    api,
    'one',
    headers,
    'POST',
    '/applications',
    stateless('one', 'a'),
  );
  expect(single.status).toBe(201);
  const forOne = (await policyApplies()) - before;
  // The project's NetworkPolicies, each dry-run and applied.
  expect(forOne).toBeGreaterThanOrEqual(2);
  const answers = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      projectRequest(api, 'many', headers, 'POST', '/applications', stateless('many', `app-${i}`)),
    ),
  );
  expect(answers.map((a) => a.status)).toEqual(Array(8).fill(201));
  expect((await policyApplies()) - before - forOne).toBe(forOne);
  const policies = await kubectl(['get', 'networkpolicies', '-n', `${prefix}many`, '-o', 'name']);
  expect(policies.stdout.split('\n').filter(Boolean).length * 2).toBe(forOne);
});
