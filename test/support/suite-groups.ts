/**
 * Which integration suites may share the test cluster with others at the same time.
 *
 * Most suites keep to namespaces of their own (a random `HKS_NAMESPACE_PREFIX`, a Knative
 * stand-in limited to that prefix, a store of their own, ports chosen by the system) and run
 * side by side. Two kinds do not:
 */

/**
 * Suites that put pods on the one real node (`hks-node-0`, 2 CPUs allocatable): run one at a
 * time, beside the other suites, so that their pods never queue behind another suite's for the
 * node's CPU and their time limits keep meaning what they say.
 */
export const REAL_NODE_SUITES: readonly string[] = [
  'test/api-deployment.int.test.ts',
  'test/api/execution-attempts.int.test.ts',
  'test/api/execution-reasons.int.test.ts',
  'test/api/real-node-executions.int.test.ts',
  'test/api/warm-pool-deployment.int.test.ts',
  'test/cluster/real-node.int.test.ts',
  'test/console.int.test.ts',
  'test/knative-real-pods.int.test.ts',
];

/**
 * Suites that change what every other suite relies on, run alone after all the others:
 * `pulumi-stack` applies Knative's admission webhooks (failurePolicy Fail, no webhook pod
 * behind them on kwok: every `serving.knative.dev` object in the cluster is refused until
 * they are deleted again) and deletes the platform's cluster-wide objects by label.
 */
export const EXCLUSIVE_SUITES: readonly string[] = ['test/pulumi-stack.int.test.ts'];
