/**
 * Kubernetes NetworkPolicy semantics (networking.k8s.io/v1) over plain objects, to test the
 * project's policies as data: the test cluster has no network plugin that enforces them.
 *
 * What it models: policies select pods of their own namespace by `podSelector`; a pod selected
 * by any policy of a type (Ingress, Egress) is isolated for it and then allows exactly the union
 * of those policies' rules; a connection needs the sender's egress and the receiver's ingress.
 * Peers are `podSelector` (own namespace), `namespaceSelector` (all pods there) or both (those
 * pods there); an absent or empty `from`/`to` matches every peer, absent or empty `ports` every
 * port. Selectors: `matchLabels` and `matchExpressions` (In, NotIn, Exists, DoesNotExist),
 * ANDed; `{}` selects everything.
 *
 * What it cannot show: that a cluster enforces any of it. That needs a network plugin (CNI)
 * implementing NetworkPolicy; without one every connection is allowed whatever the policies
 * say. Nor does it model `ipBlock` (it refuses such policies), named ports, host-network pods,
 * traffic to Services' virtual IPs as some plugins see it, or node-local DNS caches outside
 * `kube-system` pods.
 */

/** A label selector as in a NetworkPolicy. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: string;
    readonly values?: readonly string[];
  }[];
}

interface Peer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: unknown;
}

interface PortRule {
  readonly protocol?: string;
  readonly port?: number | string;
  readonly endPort?: number;
}

interface Rule {
  readonly from?: readonly Peer[];
  readonly to?: readonly Peer[];
  readonly ports?: readonly PortRule[];
}

/** A NetworkPolicy as synthesized. */
export interface NetworkPolicy {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec?: {
    readonly podSelector: LabelSelector;
    readonly policyTypes?: readonly string[];
    readonly ingress?: readonly Rule[];
    readonly egress?: readonly Rule[];
  };
}

/** A pod: where it runs and its labels. */
export interface Pod {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A connection attempt. */
export interface Connection {
  readonly port: number;
  /** @default "TCP" */
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
}

/** Does the selector select these labels? */
export function selects(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>>,
): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        return has && values.includes(labels[e.key]);
      case 'NotIn':
        return !has || !values.includes(labels[e.key]);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        throw new Error(
          `matchExpressions operator: given ${e.operator}, expected In, NotIn, Exists or DoesNotExist`,
        );
    }
  });
  return byLabels && byExpressions;
}

/** The policy types of a policy: as given, or Ingress plus Egress when it has egress rules. */
function typesOf(policy: NetworkPolicy): readonly string[] {
  const spec = policy.spec;
  if (!spec) return [];
  return spec.policyTypes ?? ['Ingress', ...(spec.egress ? ['Egress'] : [])];
}

/** The cluster as the policies see it: namespaces with labels, and their NetworkPolicies. */
export class PolicyModel {
  private readonly policies: readonly NetworkPolicy[];

  constructor(
    /** Namespace labels by name (`kubernetes.io/metadata.name` is added, as the API server does). */
    private readonly namespaces: Readonly<Record<string, Readonly<Record<string, string>>>>,
    objects: readonly { kind?: string }[],
  ) {
    this.policies = objects.filter((o): o is NetworkPolicy => o.kind === 'NetworkPolicy');
    for (const p of this.policies) {
      const rules = [...(p.spec?.ingress ?? []), ...(p.spec?.egress ?? [])];
      const peers = rules.flatMap((r) => [...(r.from ?? []), ...(r.to ?? [])]);
      if (peers.some((peer) => peer.ipBlock !== undefined))
        throw new Error(`NetworkPolicy ${p.metadata.name}: ipBlock peers are not modelled`);
      if (!p.metadata.namespace || !(p.metadata.namespace in namespaces))
        throw new Error(
          `NetworkPolicy ${p.metadata.name}: namespace ${p.metadata.namespace} is not in the model`,
        );
    }
  }

  /** May `from` open a connection to `to` (its egress and the other's ingress)? */
  public allows(from: Pod, to: Pod, connection: Connection): boolean {
    return (
      this.permitted(from, 'Egress', to, connection) &&
      this.permitted(to, 'Ingress', from, connection)
    );
  }

  /** Names of the policies that select `pod` for a direction. */
  public selecting(pod: Pod, type: 'Ingress' | 'Egress'): string[] {
    return this.policiesFor(pod, type).map((p) => p.metadata.name);
  }

  private policiesFor(pod: Pod, type: 'Ingress' | 'Egress'): NetworkPolicy[] {
    return this.policies.filter(
      (p) =>
        p.metadata.namespace === pod.namespace &&
        typesOf(p).includes(type) &&
        selects(p.spec?.podSelector ?? {}, pod.labels),
    );
  }

  private permitted(
    pod: Pod,
    type: 'Ingress' | 'Egress',
    peer: Pod,
    connection: Connection,
  ): boolean {
    const policies = this.policiesFor(pod, type);
    // Not isolated in this direction: everything is allowed.
    if (policies.length === 0) return true;
    return policies.some((p) =>
      ((type === 'Ingress' ? p.spec?.ingress : p.spec?.egress) ?? []).some((rule) => {
        const peers = (type === 'Ingress' ? rule.from : rule.to) ?? [];
        const peerMatches = peers.length === 0 || peers.some((q) => this.peerMatches(q, p, peer));
        const ports = rule.ports ?? [];
        return peerMatches && (ports.length === 0 || ports.some((r) => portMatches(r, connection)));
      }),
    );
  }

  private peerMatches(peer: Peer, policy: NetworkPolicy, pod: Pod): boolean {
    const labels = {
      ...this.namespaces[pod.namespace],
      'kubernetes.io/metadata.name': pod.namespace,
    };
    const inNamespace = peer.namespaceSelector
      ? selects(peer.namespaceSelector, labels)
      : pod.namespace === policy.metadata.namespace;
    return inNamespace && (peer.podSelector ? selects(peer.podSelector, pod.labels) : true);
  }
}

function portMatches(rule: PortRule, connection: Connection): boolean {
  if ((rule.protocol ?? 'TCP') !== (connection.protocol ?? 'TCP')) return false;
  if (rule.port === undefined) return true;
  if (typeof rule.port === 'string')
    throw new Error(`port: given ${rule.port}, named ports are not modelled`);
  return rule.endPort === undefined
    ? rule.port === connection.port
    : connection.port >= rule.port && connection.port <= rule.endPort;
}
