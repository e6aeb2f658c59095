/** A Kubernetes verb as the audit log names it, and `apply` for server-side apply. */
export type KubeVerb =
  'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'apply' | 'delete' | 'other';

/** One verb on one resource, e.g. `apply` `deployments.apps`, `create` `pods/log`. */
export interface KubeCall {
  readonly verb: KubeVerb;
  /** `resource[.group][/subresource]`, kubectl's spelling; `version` etc. for non-resource paths. */
  readonly resource: string;
}

/**
 * The verb and resource of a request path: `/apis/apps/v1/namespaces/shop/deployments/api`
 * with PATCH and an apply patch is `apply` `deployments.apps`. Only the path's fixed
 * positions are read, never a name, so the set of answers is bounded by the code.
 */
export function kubeCallOf(method: string, path: string, contentType?: string): KubeCall {
  const [pathname, query = ''] = path.split('?', 2);
  const parts = pathname.split('/').filter(Boolean);
  const core = parts[0] === 'api';
  const grouped = parts[0] === 'apis';
  if (!core && !grouped)
    return { verb: verbOf(method, true, query, contentType), resource: parts[0] ?? '' };
  const group = grouped ? parts[1] : '';
  let rest = parts.slice(grouped ? 3 : 2);
  // namespaces/<ns>/<resource>... is the resource's; namespaces[/<ns>] alone is the namespace's.
  if (rest[0] === 'namespaces' && rest.length > 2) rest = rest.slice(2);
  const [resource = '', name, subresource] = rest;
  const qualified = `${resource}${group ? `.${group}` : ''}${subresource ? `/${subresource}` : ''}`;
  return { verb: verbOf(method, name !== undefined, query, contentType), resource: qualified };
}

function verbOf(method: string, named: boolean, query: string, contentType?: string): KubeVerb {
  switch (method) {
    case 'GET':
      if (/(^|&)watch=(true|1)(&|$)/.test(query)) return 'watch';
      return named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return contentType === 'application/apply-patch+yaml' ? 'apply' : 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return 'other';
  }
}

/** Counts of the requests made, by verb and resource. */
export class KubeRequestCounts {
  private readonly counts = new Map<string, { call: KubeCall; count: number }>();
  private readonly listeners: ((call: KubeCall) => void)[] = [];

  public count(call: KubeCall): void {
    const key = `${call.verb} ${call.resource}`;
    const entry = this.counts.get(key);
    if (entry) entry.count += 1;
    else this.counts.set(key, { call, count: 1 });
    for (const listener of this.listeners) listener(call);
  }

  /** Calls `listener` for every request from now on (the `hks_kube_requests_total` metric). */
  public onRequest(listener: (call: KubeCall) => void): void {
    this.listeners.push(listener);
  }

  /** Every verb and resource seen so far, with its count. */
  public snapshot(): (KubeCall & { count: number })[] {
    return [...this.counts.values()].map(({ call, count }) => ({ ...call, count }));
  }
}
