import { App } from 'cdk8s';
import {
  API_VERSION,
  buildProjectCharts,
  checkDefinitions,
  EPHEMERAL_POD_LABEL,
} from '../constructs';
import type { EPHEMERAL_LABEL as API_EPHEMERAL_LABEL } from '../api/functions';
import type { KubeObject } from '../api/kube';
import { withPlatformLabels } from '../api/platform-labels';
import { statelessDoc } from './support/definitions';
import { at } from './support/manifests';
import { PolicyModel, Pod, selects } from './support/network-policy';

/**
 * The project's NetworkPolicies evaluated as Kubernetes defines them (test/support/network-policy.ts),
 * over the synthesized objects and the pod labels the constructs and the API produce. This shows
 * what the policies say, not that a cluster enforces it: that needs a network plugin (CNI) with
 * NetworkPolicy support, which the test cluster has not (see the evaluator's notes).
 */

/** The API's label (its module loads the Kubernetes client, so only its type is read here). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameLabel: Same<typeof API_EPHEMERAL_LABEL, typeof EPHEMERAL_POD_LABEL> = true;
const EPHEMERAL_LABEL = EPHEMERAL_POD_LABEL;

const functionDoc = (name: string) => ({
  apiVersion: API_VERSION,
  kind: 'Function',
  metadata: { name, project: 'shop' },
  spec: { runtime: 'python3.12', code: 'def handler(e, c):\n    return 1\n' },
});

const objects = buildProjectCharts(
  new App(),
  checkDefinitions(
    [statelessDoc('web'), functionDoc('fn'), functionDoc('tmp')].map((document, i) => ({
      document,
      source: { file: 'test', document: i + 1 },
    })),
  ).map((c) => c.definition),
)[0].toJson() as KubeObject[];

/** Labels of the pods a workload's template makes, plus the ones Knative adds. */
function podOf(object: KubeObject, name: string): Pod {
  const labels = at(object, 'spec.template.metadata.labels') as Record<string, string>;
  const knative: Record<string, string> =
    object.apiVersion === 'serving.knative.dev/v1'
      ? { 'serving.knative.dev/service': object.metadata.name }
      : {};
  return { name, namespace: 'shop', labels: { ...labels, ...knative } };
}

const byName = (kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name}`);
  return found;
};

const web = podOf(byName('Deployment', 'web'), 'web');
const fn = podOf(byName('Service', 'fn'), 'fn');
// The API labels a temporary function's objects like this (Applications.applyUnstored).
const tmp = podOf(
  withPlatformLabels(byName('Service', 'tmp'), {
    [EPHEMERAL_LABEL]: 'true',
    'hks.hexabase.io/expires-at': '1900000000',
  }),
  'tmp',
);
const otherTmp = { ...tmp, name: 'tmp-2' };
const dns: Pod = { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
const activator: Pod = {
  name: 'activator',
  namespace: 'knative-serving',
  labels: { app: 'activator' },
};
const kourier: Pod = {
  name: 'gateway',
  namespace: 'kourier-system',
  labels: { app: '3scale-kourier-gateway' },
};
const api: Pod = { name: 'hks-api', namespace: 'hks-system', labels: { app: 'hks-api' } };
const stranger: Pod = { name: 'x', namespace: 'billing', labels: {} };

const model = new PolicyModel(
  {
    shop: {},
    'kube-system': {},
    'knative-serving': {},
    'kourier-system': {},
    'hks-system': {},
    billing: {},
  },
  objects,
);

const HTTP = { port: 8080 };
const QUEUE_PROXY = { port: 8012 };

test('the label the policies select is the one the API sets, on the pods too', () => {
  expect(sameLabel).toBe(true);
  expect(tmp.labels[EPHEMERAL_LABEL]).toBe('true');
  expect(fn.labels[EPHEMERAL_LABEL]).toBeUndefined();
});

test('a temporary pod is reachable from the Knative data plane only', () => {
  for (const from of [activator, kourier]) {
    expect(model.allows(from, tmp, QUEUE_PROXY)).toBe(true);
    expect(model.allows(from, tmp, HTTP)).toBe(true);
  }
  for (const from of [web, fn, otherTmp, dns, api, stranger]) {
    expect({ from: from.name, allowed: model.allows(from, tmp, HTTP) }).toEqual({
      from: from.name,
      allowed: false,
    });
  }
});

test('a temporary pod reaches DNS in kube-system and nothing else', () => {
  expect(model.allows(tmp, dns, { port: 53, protocol: 'UDP' })).toBe(true);
  expect(model.allows(tmp, dns, { port: 53, protocol: 'TCP' })).toBe(true);
  expect(model.allows(tmp, dns, { port: 443 })).toBe(false);
  for (const to of [web, fn, otherTmp, activator, kourier, api, stranger]) {
    for (const connection of [HTTP, QUEUE_PROXY, { port: 53, protocol: 'UDP' as const }]) {
      expect({ to: to.name, ...connection, allowed: model.allows(tmp, to, connection) }).toEqual({
        to: to.name,
        ...connection,
        allowed: false,
      });
    }
  }
  expect(model.selecting(tmp, 'Egress')).toContain('hks-temporary-functions');
  expect(model.selecting(tmp, 'Ingress')).toContain('hks-temporary-functions');
});

test('ordinary pods of the project still reach each other; the data plane reaches functions', () => {
  for (const [from, to] of [
    [web, fn],
    [fn, web],
    [web, { ...web, name: 'web-2' }],
  ]) {
    expect(model.allows(from, to, HTTP)).toBe(true);
  }
  expect(model.allows(activator, fn, QUEUE_PROXY)).toBe(true);
  expect(model.allows(activator, web, HTTP)).toBe(false);
  expect(model.allows(stranger, web, HTTP)).toBe(false);
  expect(model.allows(web, dns, { port: 53, protocol: 'UDP' })).toBe(true);
  expect(model.allows(web, stranger, HTTP)).toBe(false);
});

test('with hks-allow-same-project selecting every pod (as before), project pods would reach temporary ones', () => {
  const everyPod = objects.map((o) =>
    o.metadata.name === 'hks-allow-same-project'
      ? {
          ...o,
          spec: {
            podSelector: {},
            policyTypes: ['Ingress', 'Egress'],
            ingress: [{ from: [{ podSelector: {} }] }],
            egress: [{ to: [{ podSelector: {} }] }],
          },
        }
      : o,
  );
  const before = new PolicyModel({ shop: {} }, everyPod);
  expect(before.allows(web, tmp, HTTP)).toBe(true);
  expect(before.allows(tmp, web, HTTP)).toBe(true);
});

describe('the evaluator', () => {
  test('selectors: matchLabels and matchExpressions are ANDed; {} selects all', () => {
    const labels = { a: '1', b: '2' };
    expect(selects({}, labels)).toBe(true);
    expect(selects({ matchLabels: { a: '1' } }, labels)).toBe(true);
    expect(selects({ matchLabels: { a: '2' } }, labels)).toBe(false);
    expect(
      selects({ matchExpressions: [{ key: 'c', operator: 'NotIn', values: ['x'] }] }, labels),
    ).toBe(true);
    expect(
      selects({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, labels),
    ).toBe(false);
    expect(
      selects({ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '3'] }] }, labels),
    ).toBe(true);
    expect(selects({ matchExpressions: [{ key: 'c', operator: 'Exists' }] }, labels)).toBe(false);
    expect(selects({ matchExpressions: [{ key: 'c', operator: 'DoesNotExist' }] }, labels)).toBe(
      true,
    );
    expect(
      selects(
        {
          matchLabels: { a: '1' },
          matchExpressions: [{ key: 'b', operator: 'In', values: ['3'] }],
        },
        labels,
      ),
    ).toBe(false);
  });

  test('policies are a union; no policy means not isolated; both sides must allow', () => {
    const pod = (name: string, namespace: string, labels: Record<string, string> = {}): Pod => ({
      name,
      namespace,
      labels,
    });
    const policy = (name: string, spec: Record<string, unknown>) => ({
      kind: 'NetworkPolicy',
      metadata: { name, namespace: 'a' },
      spec,
    });
    const m = new PolicyModel({ a: {}, b: { team: 'x' } }, [
      policy('deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
      policy('in-from-b', {
        podSelector: { matchLabels: { role: 'db' } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchLabels: { team: 'x' } },
                podSelector: { matchLabels: { app: 'c' } },
              },
            ],
            ports: [{ port: 5432 }],
          },
        ],
      }),
      // Egress types implied by egress rules.
      policy('out-any', { podSelector: { matchLabels: { role: 'client' } }, egress: [{}] }),
    ]);
    const db = pod('db', 'a', { role: 'db' });
    expect(m.allows(pod('c', 'b', { app: 'c' }), db, { port: 5432 })).toBe(true);
    expect(m.allows(pod('c', 'b', { app: 'c' }), db, { port: 5433 })).toBe(false);
    expect(m.allows(pod('d', 'b', { app: 'd' }), db, { port: 5432 })).toBe(false);
    expect(m.allows(pod('c', 'a', { app: 'c' }), db, { port: 5432 })).toBe(false);
    expect(m.allows(pod('client', 'a', { role: 'client' }), pod('x', 'b'), { port: 1 })).toBe(true);
    expect(m.allows(pod('other', 'a'), pod('x', 'b'), { port: 1 })).toBe(false);
    expect(m.selecting(pod('client', 'a', { role: 'client' }), 'Egress')).toEqual([
      'deny',
      'out-any',
    ]);
    expect(
      () =>
        new PolicyModel({ a: {} }, [
          policy('ip', {
            podSelector: {},
            ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }],
          }),
        ]),
    ).toThrow(/ipBlock/);
  });
});
