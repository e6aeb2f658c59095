import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CriLogFile } from '../dev/knative/cri-log';
import { planLocalRuntime } from '../dev/knative/local-runtime';
import { buildLogs, buildPod } from '../dev/knative/pod-manifest';
import { buildRevision, revisionName, templateHash } from '../dev/knative/revision-manifest';
import { serviceStatus } from '../dev/knative/service-status';
import { pickRevision, resolveTraffic } from '../dev/knative/traffic';
import type { KnativeService, RevisionSpec } from '../dev/knative/types';
import { FunctionService } from '../constructs';
import { find, projectChart, synth } from './support/manifests';

/** The Knative stand-in's pure parts: traffic, status, revisions, local runtime plans, logs. */

function functionObjects() {
  const chart = projectChart('shop', 'team-shop');
  new FunctionService(chart, 'hello', {
    runtime: 'python3.12',
    files: { 'main.py': 'def handler(e, c):\n    return e\n', 'lib/util.py': 'X = 1\n' },
    env: { GREETING: 'hi' },
    secretEnv: { API_KEY: { secret: 'keys', key: 'api' } },
  });
  const manifests = synth(chart);
  const service = find(manifests, 'Service', 'hello') as unknown as KnativeService;
  const configMap = manifests.find((m) => m.kind === 'ConfigMap') as unknown as {
    metadata: { name: string };
    data: Record<string, string>;
  };
  return { service: { ...service, metadata: { ...service.metadata, uid: 'u-1' } }, configMap };
}

describe('traffic', () => {
  const ready = () => true;

  test('without spec.traffic, 100% goes to the latest ready revision', () => {
    expect(resolveTraffic('s', undefined, 's-00002', ready)).toEqual({
      ok: true,
      targets: [{ revisionName: 's-00002', percent: 100, latestRevision: true }],
    });
    expect(resolveTraffic('s', undefined, undefined, ready)).toMatchObject({
      ok: false,
      reason: 'RevisionMissing',
    });
  });

  test('named and latest targets with tags; sums other than 100 and unready revisions fail', () => {
    const split = [
      { revisionName: 's-00001', percent: 50, tag: 'old' },
      { latestRevision: true, percent: 50 },
    ];
    expect(resolveTraffic('s', split, 's-00002', ready)).toEqual({
      ok: true,
      targets: [
        { revisionName: 's-00001', percent: 50, latestRevision: false, tag: 'old' },
        { revisionName: 's-00002', percent: 50, latestRevision: true },
      ],
    });
    expect(resolveTraffic('s', [{ latestRevision: true, percent: 90 }], 's-1', ready)).toEqual({
      ok: false,
      reason: 'TrafficInvalid',
      message: 'Traffic targets sum to 90 percent, expected 100.',
    });
    expect(resolveTraffic('s', split, 's-00002', (r) => r !== 's-00001')).toMatchObject({
      ok: false,
      message: expect.stringContaining('"s-00001"'),
    });
  });

  test('percent splits, and a tag picks its target', () => {
    const targets = [
      { revisionName: 'a', percent: 30, latestRevision: false, tag: 'old' },
      { revisionName: 'b', percent: 70, latestRevision: true },
    ];
    expect(pickRevision(targets, undefined, 0.29)).toBe('a');
    expect(pickRevision(targets, undefined, 0.3)).toBe('b');
    expect(pickRevision(targets, 'old', 0.99)).toBe('a');
    expect(pickRevision(targets, 'unknown', 0.99)).toBe('b');
    expect(pickRevision([], undefined, 0.5)).toBeUndefined();
  });
});

describe('service status', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const traffic = resolveTraffic('s', undefined, 's-00001', () => true);

  test('ready: every condition True, URL, revisions and traffic', () => {
    const status = serviceStatus({
      serviceName: 's',
      generation: 3,
      url: 'http://127.0.0.1:1234',
      latestCreated: { name: 's-00001', ready: { type: 'Ready', status: 'True' } },
      latestReadyRevisionName: 's-00001',
      traffic,
      now,
    });
    expect(status).toEqual({
      observedGeneration: 3,
      url: 'http://127.0.0.1:1234',
      address: { url: 'http://127.0.0.1:1234' },
      latestCreatedRevisionName: 's-00001',
      latestReadyRevisionName: 's-00001',
      traffic: [{ revisionName: 's-00001', percent: 100, latestRevision: true }],
      conditions: ['Ready', 'ConfigurationsReady', 'RoutesReady'].map((type) => ({
        type,
        status: 'True',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      })),
    });
  });

  test("a failed latest revision makes Ready False with the revision's message", () => {
    const status = serviceStatus({
      serviceName: 's',
      generation: 1,
      url: 'http://127.0.0.1:1',
      latestCreated: {
        name: 's-00001',
        ready: { type: 'Ready', status: 'False', reason: 'ExitCode', message: 'boom' },
      },
      traffic: resolveTraffic('s', undefined, undefined, () => false),
      now,
    });
    expect(status.conditions?.[0]).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'RevisionFailed',
      message: 'Revision "s-00001" failed with message: boom.',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
    expect(status.traffic).toBeUndefined();
  });

  test('transition times stay while a status does not change', () => {
    const previous = [
      { type: 'Ready', status: 'True' as const, lastTransitionTime: '2025-01-01T00:00:00Z' },
    ];
    const status = serviceStatus({
      serviceName: 's',
      generation: 1,
      url: 'u',
      latestCreated: { name: 's-00001', ready: { type: 'Ready', status: 'True' } },
      latestReadyRevisionName: 's-00001',
      traffic,
      previous,
      now,
    });
    expect(status.conditions?.[0].lastTransitionTime).toBe('2025-01-01T00:00:00Z');
    expect(status.conditions?.[1].lastTransitionTime).toBe('2026-01-01T00:00:00Z');
  });
});

describe('revisions and pods', () => {
  test('Revision: name, labels, owner, spec; the template hash ignores key order', () => {
    const { service } = functionObjects();
    const revision = buildRevision(service, 12);
    expect(revisionName('hello', 12)).toBe('hello-00012');
    expect(revision.metadata).toMatchObject({
      name: 'hello-00012',
      namespace: 'team-shop',
      labels: {
        'serving.knative.dev/service': 'hello',
        'serving.knative.dev/configuration': 'hello',
        'serving.knative.dev/configurationGeneration': '12',
        'hks.hexabase.io/app': 'hello',
      },
      ownerReferences: [{ kind: 'Service', name: 'hello', uid: 'u-1', controller: true }],
    });
    expect(revision.spec).toEqual(service.spec.template.spec);
    const reordered = JSON.parse(JSON.stringify({ spec: service.spec.template.spec }));
    expect(templateHash({ ...reordered, metadata: service.spec.template.metadata })).toBe(
      templateHash(service.spec.template),
    );
  });

  test('pod: labels, the container named function with probe ports, a fake node; Logs for it', () => {
    const { service } = functionObjects();
    const revision = {
      ...buildRevision(service, 1),
      metadata: { ...buildRevision(service, 1).metadata, uid: 'r-1' },
    };
    const pod = buildPod(revision, 'hello-00001-deployment-abc', { type: 'kwok' });
    expect(pod.metadata?.labels).toMatchObject({
      'serving.knative.dev/service': 'hello',
      'serving.knative.dev/revision': 'hello-00001',
      'hks.hexabase.io/kind': 'Function',
    });
    expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Revision', uid: 'r-1' });
    const container = pod.spec?.containers[0];
    expect(container?.name).toBe('function');
    expect(container?.readinessProbe?.httpGet?.port).toBe(8080);
    expect(pod.spec?.nodeSelector).toEqual({ type: 'kwok' });
    expect(pod.spec).not.toHaveProperty('timeoutSeconds');
    const logs = buildLogs(
      { ...pod, metadata: { ...pod.metadata, uid: 'p-1' } },
      '/x/container.log',
    );
    expect(logs.spec.logs).toEqual([
      { containers: ['function'], logsFile: '/x/container.log', follow: true },
    ]);
    expect(logs.metadata.ownerReferences[0]).toMatchObject({ kind: 'Pod', uid: 'p-1' });
  });
});

describe('local runtime plan', () => {
  test('ConfigMap files under the revision folder, mount paths rewritten, secrets resolved', async () => {
    const { service, configMap } = functionObjects();
    const plan = await planLocalRuntime(service.spec.template.spec, '/state/rev', {
      configMap: async (name) => (name === configMap.metadata.name ? configMap.data : undefined),
      secret: async (name) => (name === 'keys' ? { api: 's3cret' } : undefined),
    });
    expect(plan).toMatchObject({
      runnable: true,
      program: 'python3',
      args: ['/state/rev/runtime/bootstrap.py'],
      env: {
        HKS_FUNCTION_DIR: '/state/rev/function',
        HKS_HANDLER: 'main.handler',
        GREETING: 'hi',
        API_KEY: 's3cret',
      },
    });
    expect(Object.keys(plan.runnable ? plan.files : {}).sort()).toEqual([
      '/state/rev/function/lib/util.py',
      '/state/rev/function/main.py',
      '/state/rev/runtime/bootstrap.py',
    ]);
  });

  test('a missing Secret and an image container are not runnable, with the reason', async () => {
    const { service, configMap } = functionObjects();
    const lookup = { configMap: async () => configMap.data, secret: async () => undefined };
    expect(await planLocalRuntime(service.spec.template.spec, '/s', lookup)).toEqual({
      runnable: false,
      reason: 'CreateContainerConfigError',
      message: 'secret "keys" not found (env API_KEY)',
    });
    const image: RevisionSpec = { containers: [{ name: 'function', image: 'ghcr.io/acme/x:1' }] };
    expect(await planLocalRuntime(image, '/s', lookup)).toMatchObject({
      runnable: false,
      reason: 'ImageNotSupported',
    });
  });
});

test('CRI log file: one timestamped line per output line and stream, partial lines at close', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'hks-cri-')), 'container.log');
  const log = new CriLogFile(file, 2);
  log.write('stdout', 'one\ntw');
  log.write('stderr', 'err\n');
  log.write('stdout', 'o\nthree');
  log.close();
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  expect(lines.map((l) => l.replace(/^\S+ /, ''))).toEqual([
    'stdout F one',
    'stderr F err',
    'stdout F two',
    'stdout F three',
  ]);
  expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /);
  expect(log.tail()).toBe('two\nthree');
});
