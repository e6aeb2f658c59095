import { randomBytes } from 'node:crypto';
import { kubectl, kubectlJson, kubectlOk } from '../cluster/kubectl';
import { sleep, waitFor } from '../cluster/wait';
import { testApiKubeconfig } from '../support/api-identity';
import { HoldingProxy, startHoldingProxy } from '../support/holding-proxy';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import { API_VERSION } from '../../constructs';
import { ApiProcess, internalToken, projectRequest, startApi, token } from './api-process';

jest.setTimeout(300_000);

/**
 * Readiness waits share one informer of Knative Services: the API runs behind a TLS
 * pass-through to the real API server that notes every request and can end or break the
 * watches, with the Knative stand-in (connected directly) playing the controller.
 */
const prefix = `w${randomBytes(2).toString('hex')}-`;
const projects = ['swarm-a', 'swarm-b', 'swarm-c', 'swarm-d', 'swarm-e'];
/** The four projects of the concurrent waits (five each at most: 8 definition checks of a project run at once). */
const waitProjects = projects.slice(0, 4);
/** Readiness waits at once. */
const WAITS = 20;
let proxy: HoldingProxy;
let api: ApiProcess;
let standIn: StandInProcess | undefined;
let internal: string;

/** A watch of Knative Services, in all namespaces or one (the per-wait watches of before). */
const isServiceWatch = (path: string) =>
  /^\/apis\/serving\.knative\.dev\/v1\/(namespaces\/[^/]+\/)?services\?/.test(path) &&
  new URLSearchParams(path.split('?')[1]).get('watch') === 'true';
/** A list of the Knative Services of all namespaces (what an informer's relist asks). */
const isServiceRelist = (method: string, path: string) =>
  method === 'GET' &&
  path.startsWith('/apis/serving.knative.dev/v1/services?') &&
  !isServiceWatch(path);

const watchRequests = () =>
  proxy.requests.filter((r) => r.method === 'GET' && isServiceWatch(r.path));
const relists = () => proxy.requests.filter((r) => isServiceRelist(r.method, r.path)).length;

async function deployFunction(project: string, n: number) {
  const res = await fetch(`${api.url}/internal/v1/operations/deploy-function`, {
    method: 'POST',
    headers: { authorization: `Bearer ${internal}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      project,
      runtime: 'nodejs20',
      code: `exports.handler = async () => ${n};\n`,
      ttlSeconds: 600,
    }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

interface ServiceList {
  items: {
    metadata: { name: string };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}

/** The Knative Services of the test's projects. */
async function services(): Promise<ServiceList['items']> {
  const lists = await Promise.all(
    projects.map((p) =>
      kubectlJson<ServiceList>(['get', 'services.serving.knative.dev', '-n', `${prefix}${p}`]),
    ),
  );
  return lists.flatMap((l) => l.items);
}

/** The kube-apiserver's own count of open watches of Knative Services (all clients). */
async function apiServerServiceWatches(): Promise<number> {
  const text = await kubectlOk(['get', '--raw', '/metrics']);
  return text
    .split('\n')
    .filter(
      (line) =>
        line.startsWith('apiserver_longrunning_requests{') &&
        line.includes('group="serving.knative.dev"') &&
        line.includes('resource="services"') &&
        line.includes('verb="WATCH"'),
    )
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

beforeAll(async () => {
  proxy = await startHoldingProxy(await testApiKubeconfig(), () => false);
  api = await startApi({
    KUBECONFIG: proxy.kubeconfig,
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
    HKS_JANITOR_INTERVAL_SECONDS: '0',
    HKS_EPHEMERAL_MAX_PER_PROJECT: String(WAITS),
    HKS_READY_TIMEOUT_SECONDS: '90',
  });
  internal = await internalToken(projects);
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await standIn?.stop();
  await proxy?.close();
  for (const p of projects)
    await kubectl(['delete', 'namespace', `${prefix}${p}`, '--wait=false', '--ignore-not-found']);
});

/** Names of the Services there before the test that runs. */
const seen = new Set<string>();
beforeEach(async () => {
  for (const s of await services().catch(() => [])) seen.add(s.metadata.name);
});

test(`${WAITS} readiness waits at once share one watch of Knative Services`, async () => {
  const before = await apiServerServiceWatches();
  // No controller yet: every deploy-function applies its Service and waits for Ready.
  const deploys = Array.from({ length: WAITS }, (_, i) =>
    deployFunction(waitProjects[i % waitProjects.length], i),
  );
  await waitFor(`${WAITS} Knative Services applied`, 90_000, async () => {
    return (await services()).length === WAITS;
  });
  // The last applies' other objects, then the waits begin (a watch each, before).
  await sleep(2_000);
  const open = proxy.openWatches(isServiceWatch);
  const during = await apiServerServiceWatches();

  standIn = await startStandIn(prefix);
  const results = await Promise.all(deploys);
  for (const res of results) expect(res).toMatchObject({ status: 201, json: { ready: true } });
  const requested = watchRequests();
  process.stdout.write(
    `${WAITS} concurrent readiness waits: ${open.length} watch(es) of Knative Services open through the API's connection (${open.slice(0, 2).join(', ')}${open.length > 2 ? ', ...' : ''}), ${requested.length} watch request(s) in all; kube-apiserver apiserver_longrunning_requests{group="serving.knative.dev",resource="services",verb="WATCH"}: ${before} before, ${during} during the waits (all clients)\n`,
  );
  expect(open).toHaveLength(1);
  expect(open[0]).toMatch(/^\/apis\/serving\.knative\.dev\/v1\/services\?/);
  expect(requested.length).toBeLessThanOrEqual(2);
  // One per wait would be WAITS more; other clients of the shared cluster may add a few.
  expect(during - before).toBeLessThan(WAITS / 2);
});

test('a watch ended by the server, then one dropped while the Service turns Ready: resumed from its resourceVersion, no update lost', async () => {
  // The informer of the waits above runs (started here when this test runs alone).
  standIn ??= await startStandIn(prefix);
  if (proxy.openWatches(isServiceWatch).length === 0)
    expect(await deployFunction('swarm-a', 99)).toMatchObject({ status: 201 });
  // The server ends its watch (as at its timeoutSeconds).
  const listed = relists();
  const watchesBefore = watchRequests().length;
  expect(proxy.endWatches(isServiceWatch, 'end')).toBe(1);
  await waitFor('the watch to be resumed', 30_000, async () => {
    return proxy.openWatches(isServiceWatch).length === 1;
  });
  const resumed = new URLSearchParams(watchRequests()[watchesBefore].path.split('?')[1]);
  expect(resumed.get('resourceVersion')).toMatch(/^[1-9]\d*$/);
  expect(relists()).toBe(listed);

  // Now the connection drops and every new watch is refused while a function is deployed.
  proxy.refuse((method, path) => method === 'GET' && isServiceWatch(path));
  const refusedFrom = proxy.requests.length;
  expect(proxy.endWatches(isServiceWatch, 'break')).toBe(1);
  const deploying = deployFunction('swarm-a', 100);
  let name = '';
  await waitFor('the new Knative Service to be Ready (the stand-in)', 90_000, async () => {
    const ready = (await services()).filter(
      (s) =>
        !seen.has(s.metadata.name) &&
        s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    name = ready[0]?.metadata.name ?? '';
    return ready.length === 1;
  });
  // Its creation and its Ready status both happened with no watch of the API open.
  expect(proxy.openWatches(isServiceWatch)).toEqual([]);
  const refused = proxy.requests
    .slice(refusedFrom)
    .filter((r) => r.method === 'GET' && isServiceWatch(r.path)).length;
  const resumedFrom = watchRequests().length;
  proxy.refuse(() => false);

  const res = await deploying;
  expect(res).toMatchObject({ status: 201, json: { id: name, ready: true } });
  const after = watchRequests()
    .slice(resumedFrom)
    .map((r) => new URLSearchParams(r.path.split('?')[1]).get('resourceVersion'));
  process.stdout.write(
    `watch dropped: ${refused} refused reconnection(s) meanwhile, then resumed with resourceVersion ${after.join(', ')}; relists of Knative Services: ${relists() - listed}\n`,
  );
  expect(after.length).toBeGreaterThanOrEqual(1);
  for (const version of after) expect(version).toMatch(/^[1-9]\d*$/);
  expect(relists()).toBe(listed);
});

test('a Ready status of the previous generation, still in the cache, does not end the wait for the new one', async () => {
  const project = 'swarm-e';
  const headers = {
    authorization: `Bearer ${await token([project])}`,
    'content-type': 'application/json',
  };
  const request = (method: string, path: string, body?: unknown) =>
    projectRequest(api, project, headers, method, path, body);
  standIn ??= await startStandIn(prefix);
  const created = await request('POST', '/applications', {
    apiVersion: API_VERSION,
    kind: 'Function',
    metadata: { name: 'gen', project },
    spec: { runtime: 'nodejs20', code: 'exports.handler = async () => 1;\n' },
  });
  expect(created.status).toBe(201);
  await waitFor('function gen ready', 60_000, async () => {
    return (await request('GET', '/functions/gen')).json.ready === true;
  });
  // A first split (generation 2) waits on the informer: Ready in its cache.
  const first = await request('PUT', '/functions/gen/traffic', {
    traffic: [{ latestRevision: true, percent: 100, tag: 'zero' }],
  });
  expect(first.json).toMatchObject({ ready: true });
  await waitFor('the watch of the informer', 30_000, async () => {
    return proxy.openWatches(isServiceWatch).length === 1;
  });
  // Its watch drops and stays refused, while the next split makes generation 3 (which the
  // stand-in, connected directly, serves at once): the cache keeps generation 2, Ready.
  proxy.refuse((method, path) => method === 'GET' && isServiceWatch(path));
  expect(proxy.endWatches(isServiceWatch, 'break')).toBe(1);
  const stale = await request('PUT', '/functions/gen/traffic', {
    traffic: [{ latestRevision: true, percent: 100, tag: 'one' }],
  });
  // Its 10 s wait ended without a Ready of generation 3: the answer is the applied Service.
  expect(stale.status).toBe(200);
  expect(stale.json).toMatchObject({ ready: false });
  expect(stale.json.traffic).not.toContainEqual(expect.objectContaining({ tag: 'one' }));

  // With the watch back, a wait ends with the new generation's status.
  proxy.refuse(() => false);
  await waitFor('the watch to be resumed', 90_000, async () => {
    return proxy.openWatches(isServiceWatch).length === 1;
  });
  const fresh = await request('PUT', '/functions/gen/traffic', {
    traffic: [{ latestRevision: true, percent: 100, tag: 'two' }],
  });
  expect(fresh.status).toBe(200);
  expect(fresh.json).toMatchObject({ ready: true });
  expect(fresh.json.traffic).toContainEqual(expect.objectContaining({ tag: 'two' }));
});
