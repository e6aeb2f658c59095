import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdk8s';
import { stringify } from 'yaml';
import { API_VERSION, buildProjectCharts, checkDefinitions } from '../../constructs';
import { consoleActionLog, startKnativeStandIn, StartedKnativeStandIn } from '../../dev/knative';
import { kubeconfigPath } from '../cluster/kubeconfig';
import { kubectl, kubectlJson, kubectlOk } from '../cluster/kubectl';
import { waitFor } from '../cluster/wait';
import { ApiProcess, projectRequest, startApi, testStores, token } from './api-process';

jest.setTimeout(240_000);

/**
 * Function revisions keep their code: a revision that traffic (or a tag) still routes to can
 * start again from zero after newer versions are applied, through the API or by a GitOps tool
 * applying `dist/`; its ConfigMap goes with the last Revision that mounts it (Kubernetes'
 * garbage collector). Knative is played by the stand-in, with scale to zero after 1.5 s idle
 * and revision GC 2 s after a revision stops being routed.
 */
const prefix = `rv${randomBytes(2).toString('hex')}-`;
const PROJECT = 'keepcode';
const namespace = `${prefix}${PROJECT}`;
const SCALE_TO_ZERO_AFTER_MS = 1_500;
const RETAIN_NON_ACTIVE_MS = 2_000;

let api: ApiProcess;
let standIn: StartedKnativeStandIn;
let standInLog = '';
let headers: Record<string, string>;
const request = (method: string, path: string, body?: unknown) =>
  projectRequest(api, PROJECT, headers, method, path, body);

const quote = (name: string, version: string) => ({
  apiVersion: API_VERSION,
  kind: 'Function',
  metadata: { name, project: PROJECT },
  spec: {
    runtime: 'python3.12',
    code: `def handler(event, context):\n    return {"version": "${version}"}\n`,
  },
});

interface ConfigMapView {
  metadata: {
    name: string;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
  };
}

const sourceMaps = async (app: string) =>
  (
    await kubectlJson<{ items: ConfigMapView[] }>([
      'get',
      'configmaps',
      '-n',
      namespace,
      '-l',
      `hks.hexabase.io/app=${app}`,
    ])
  ).items;

const revisionUid = async (name: string) =>
  (
    await kubectlJson<{ metadata: { uid: string } }>([
      'get',
      'revisions.serving.knative.dev',
      name,
      '-n',
      namespace,
    ])
  ).metadata.uid;

async function waitUntilReady(name: string, revision: string): Promise<void> {
  await waitFor(`function ${name} ready at ${revision}`, 60_000, async () => {
    const res = await request('GET', `/functions/${name}`);
    return (
      res.status === 200 && res.json.ready === true && res.json.latestReadyRevision === revision
    );
  });
}

async function invoke(name: string, tag?: string) {
  const res = await fetch(
    `${api.url}/api/v1/projects/${PROJECT}/functions/${name}/invoke${tag === undefined ? '' : `?tag=${tag}`}`,
    { method: 'POST', headers, body: '{}' },
  );
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const scaledToZero = (revision: string) =>
  standInLog.includes(`revision scaled to zero`) &&
  standInLog.split('\n').some((l) => l.includes('revision scaled to zero') && l.includes(revision));

beforeAll(async () => {
  standIn = await startKnativeStandIn({
    kubeconfig: kubeconfigPath(),
    stateDir: mkdtempSync(join(tmpdir(), 'hks-knative-')),
    namespacePrefix: prefix,
    installCrds: true,
    scaleToZeroAfterMs: SCALE_TO_ZERO_AFTER_MS,
    retainNonActiveMs: RETAIN_NON_ACTIVE_MS,
    log: consoleActionLog('plain', (line) => (standInLog += line)),
  });
  api = await startApi({
    ...(await testStores()[0].env()),
    HKS_NAMESPACE_PREFIX: prefix,
    HKS_RECORDER: 'off',
  });
  headers = {
    authorization: `Bearer ${await token([PROJECT])}`,
    'content-type': 'application/json',
  };
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await standIn?.stop();
});

test('a tagged revision scaled to zero starts again with its own code after v2; its ConfigMap goes with it', async () => {
  expect((await request('POST', '/applications', quote('quote', 'v1'))).status).toBe(201);
  await waitUntilReady('quote', 'quote-00001');
  const [v1Map] = await sourceMaps('quote');

  const v2 = await request('PUT', '/applications/quote', quote('quote', 'v2'));
  expect(v2.status).toBe(200);
  await waitUntilReady('quote', 'quote-00002');
  // The prune of v2 leaves v1's ConfigMap: Revision quote-00001 owns it.
  expect(v2.json.pruned).toEqual([]);
  const maps = await sourceMaps('quote');
  expect(maps).toHaveLength(2);
  const v1Owners = maps.find((m) => m.metadata.name === v1Map.metadata.name)?.metadata
    .ownerReferences;
  expect(v1Owners).toEqual([
    {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Revision',
      name: 'quote-00001',
      uid: await revisionUid('quote-00001'),
    },
  ]);
  await waitFor('v2’s ConfigMap owned by quote-00002', 10_000, async () =>
    (await sourceMaps('quote')).some((m) =>
      m.metadata.ownerReferences?.some((o) => o.name === 'quote-00002'),
    ),
  );

  const split = await request('PUT', '/functions/quote/traffic', {
    traffic: [
      { revision: 'quote-00001', percent: 50, tag: 'v1' },
      { revision: 'quote-00002', percent: 50, tag: 'v2' },
    ],
  });
  expect(split.status).toBe(200);

  await waitFor(
    'both revisions scaled to zero',
    30_000,
    async () => scaledToZero('quote-00001') && scaledToZero('quote-00002'),
  );
  // No pod stands for a revision scaled to zero.
  expect(
    await kubectlOk([
      'get',
      'pods',
      '-n',
      namespace,
      '-l',
      'serving.knative.dev/revision=quote-00001',
      '-o',
      'name',
    ]),
  ).toBe('');

  const coldStart = Date.now();
  const v1Answer = await invoke('quote', 'v1');
  const coldMs = Date.now() - coldStart;
  expect(v1Answer).toEqual({ status: 200, json: { version: 'v1' } });
  const warmStart = Date.now();
  expect(await invoke('quote', 'v1')).toEqual({ status: 200, json: { version: 'v1' } });
  const warmMs = Date.now() - warmStart;
  expect(await invoke('quote', 'v2')).toEqual({ status: 200, json: { version: 'v2' } });
  console.log(`invoke through the API, tag v1: cold start ${coldMs} ms, warm ${warmMs} ms`);
  expect(standInLog).toMatch(/revision cold start .*quote-00001/);

  // All traffic to v2: quote-00001 is no longer routed, the stand-in's revision GC deletes it
  // and Kubernetes' garbage collector its ConfigMap; v2's stays.
  const latest = await request('PUT', '/functions/quote/traffic', {
    traffic: [{ latestRevision: true, percent: 100 }],
  });
  expect(latest.status).toBe(200);
  await waitFor('Revision quote-00001 deleted', 30_000, async () => {
    const res = await kubectl([
      'get',
      'revisions.serving.knative.dev',
      'quote-00001',
      '-n',
      namespace,
    ]);
    return res.code !== 0 && /NotFound/.test(res.stderr);
  });
  await waitFor('v1’s ConfigMap garbage-collected', 60_000, async () =>
    (await sourceMaps('quote')).every((m) => m.metadata.name !== v1Map.metadata.name),
  );
  expect((await sourceMaps('quote')).map((m) => m.metadata.ownerReferences?.[0]?.name)).toEqual([
    'quote-00002',
  ]);
  expect(await invoke('quote')).toEqual({ status: 200, json: { version: 'v2' } });
});

test('ConfigMaps a GitOps tool applies get their Revision owners too, and a Flux prune opt-out', async () => {
  // The project's namespace and the API's rights in it exist from the first test.
  const manifests = (version: string) => {
    const app = new App();
    const [{ definition }] = checkDefinitions([
      { document: quote('synced', version), source: { file: 'apps/synced.yaml', document: 1 } },
    ]);
    const [chart] = buildProjectCharts(app, [definition], { namespaceForProject: () => namespace });
    return (chart.toJson() as { kind: string; metadata: { labels?: Record<string, string> } }[])
      .filter((o) => o.metadata.labels?.['hks.hexabase.io/app'] === 'synced')
      .map((o) => stringify(o))
      .join('---\n');
  };
  for (const [version, revision] of [
    ['v1', 'synced-00001'],
    ['v2', 'synced-00002'],
  ]) {
    await kubectlOk(
      ['apply', '--server-side', '--field-manager', 'gitops', '-f', '-'],
      manifests(version),
    );
    await waitFor(`synced at ${revision}, its ConfigMap owned by it`, 60_000, async () => {
      const maps = await sourceMaps('synced');
      return maps.some((m) => m.metadata.ownerReferences?.some((o) => o.name === revision));
    });
  }
  const maps = await sourceMaps('synced');
  expect(maps).toHaveLength(2);
  for (const map of maps) {
    expect(map.metadata.annotations).toMatchObject({
      'kustomize.toolkit.fluxcd.io/prune': 'disabled',
    });
    expect(map.metadata.ownerReferences).toHaveLength(1);
    expect(map.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Revision' });
    expect(map.metadata.ownerReferences?.[0]?.controller).toBeUndefined();
  }
  // Re-applying v2 as the GitOps tool does keeps the owner reference (another field manager).
  await kubectlOk(
    ['apply', '--server-side', '--field-manager', 'gitops', '-f', '-'],
    manifests('v2'),
  );
  expect((await sourceMaps('synced')).every((m) => m.metadata.ownerReferences?.length === 1)).toBe(
    true,
  );
});
