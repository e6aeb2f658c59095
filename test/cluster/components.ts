import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubernetesVersion } from './config';

/** One Go wrapper module under test/cluster/go and the binaries built from it. */
export interface Component {
  /** Prefix of the cache folder. */
  readonly name: string;
  /** Folder of the wrapper module under test/cluster/go. */
  readonly wrapper: string;
  /** Upstream release; part of the cache key. Must match the wrapper's go.mod. */
  readonly version: string;
  /** Module the wrapper requires at `version`. */
  readonly module: string;
  /** Packages built, each into `bin/<binary>`. */
  readonly packages: readonly { readonly pkg: string; readonly binary: string }[];
  /** Extra `-X` linker settings, e.g. the version a binary reports. */
  readonly linkerVariables: Readonly<Record<string, string>>;
}

function kubernetesVersionVariables(version: string): Record<string, string> {
  const [major, minor] = version.replace(/^v/, '').split('.');
  const variables: Record<string, string> = {};
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    variables[`${pkg}.gitVersion`] = version;
    variables[`${pkg}.gitMajor`] = major;
    variables[`${pkg}.gitMinor`] = minor;
    variables[`${pkg}.gitTreeState`] = 'clean';
    variables[`${pkg}.buildDate`] = '1970-01-01T00:00:00Z';
  }
  return variables;
}

/** kube-apiserver, kube-controller-manager and kube-scheduler from k8s.io/kubernetes. */
export const kubernetes: Component = {
  name: 'kubernetes',
  wrapper: 'kubernetes',
  version: kubernetesVersion,
  module: 'k8s.io/kubernetes',
  packages: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((binary) => ({
    pkg: `k8s.io/kubernetes/cmd/${binary}`,
    binary,
  })),
  linkerVariables: kubernetesVersionVariables(kubernetesVersion),
};

/**
 * kubectl of the same release, so the tests need nothing but Go on the machine.
 * Cached apart from the server binaries, from the same wrapper module.
 */
export const kubectl: Component = {
  name: 'kubectl',
  wrapper: 'kubernetes',
  version: kubernetesVersion,
  module: 'k8s.io/kubernetes',
  packages: [{ pkg: 'k8s.io/kubernetes/cmd/kubectl', binary: 'kubectl' }],
  linkerVariables: kubernetesVersionVariables(kubernetesVersion),
};

/**
 * kubelet and kube-proxy of the same release, for the optional real node
 * (`HKS_CLUSTER_REAL_NODE=1`); built only when that node is asked for.
 */
export const nodeAgents: Component = {
  name: 'kubelet',
  wrapper: 'kubernetes',
  version: kubernetesVersion,
  module: 'k8s.io/kubernetes',
  packages: ['kubelet', 'kube-proxy'].map((binary) => ({
    pkg: `k8s.io/kubernetes/cmd/${binary}`,
    binary,
  })),
  linkerVariables: kubernetesVersionVariables(kubernetesVersion),
};

/** The etcd server. */
export const etcd: Component = {
  name: 'etcd',
  wrapper: 'etcd',
  version: 'v3.6.16',
  module: 'go.etcd.io/etcd/server/v3',
  packages: [{ pkg: 'go.etcd.io/etcd/server/v3', binary: 'etcd' }],
  linkerVariables: {},
};

/** The kwok controller: fake nodes whose pods run to completion. */
export const kwok: Component = {
  name: 'kwok',
  wrapper: 'kwok',
  version: 'v0.7.0',
  module: 'sigs.k8s.io/kwok',
  packages: [{ pkg: 'sigs.k8s.io/kwok/cmd/kwok', binary: 'kwok' }],
  linkerVariables: { 'sigs.k8s.io/kwok/pkg/consts.Version': '0.7.0' },
};

/**
 * cron-next, the test helper printing the run times robfig/cron gives as kube-controller-manager
 * calls it (test/schedule-controller.test.ts builds it; no cluster needs it). It is built from
 * its own main.go, so the cache folder also names a hash of that file and an edit rebuilds it.
 */
export const cronNext: Component = {
  name: `cron-next-${createHash('sha256')
    .update(readFileSync(join(__dirname, 'go', 'cron-next', 'main.go')))
    .digest('hex')
    .slice(0, 12)}`,
  wrapper: 'cron-next',
  version: 'v3.0.1',
  module: 'github.com/robfig/cron/v3',
  packages: [{ pkg: '.', binary: 'cron-next' }],
  linkerVariables: {},
};

/** Every component, in build order (largest first). */
export const components: readonly Component[] = [kubernetes, etcd, kwok, kubectl];

/** Folder of the Go wrapper module of a component. */
export function moduleDir(component: Component): string {
  return join(__dirname, 'go', component.wrapper);
}
