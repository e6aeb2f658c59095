import type { InvocationTarget } from './function-proxy';
import { Problem } from './problem';

/** How the API reaches functions, and which addresses it accepts from their Knative status. */
export interface InvocationRouting {
  /**
   * Gateway that routes by `Host` (Kourier); every invocation connects to it.
   * @default - each function's cluster-local address (`status.address.url`)
   */
  readonly gateway?: URL;
  /** The cluster's DNS domain, in `<name>.<namespace>.svc.<domain>`. @default "cluster.local" */
  readonly clusterDomain?: string;
  /**
   * Loopback host names (no port) also accepted as a function's address, at any port: the
   * Knative stand-in of development and tests serves functions on `127.0.0.1:<port>`.
   * @default - none
   */
  readonly devHosts?: readonly string[];
}

/** The parts of a Knative Service's status that name where it is served. */
export interface ServiceAddress {
  readonly name: string;
  readonly namespace: string;
  /** `status.url`: the route's host (public or cluster-local). */
  readonly url: string;
  /** `status.address.url`: the cluster-local address. @default - `url` */
  readonly address?: string;
}

const DNS_SUFFIX = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Where an invocation of the function goes, from its Knative status, refusing any status that
 * would send it elsewhere than this function of this namespace (SSRF):
 * - without a gateway, the address must be `http(s)://<name>.<namespace>.svc[.<clusterDomain>]`
 *   with no port, user or path, or a {@link InvocationRouting.devHosts} host at any port;
 * - with a gateway, the connection always goes to the gateway and the `Host` header is the
 *   host of `status.url`, which must be `<name>.<namespace>.svc[.<clusterDomain>]` or
 *   `<name>.<namespace>.<domain>` (Knative's domain template), with no port.
 * @throws Problem 502 naming the expected host, not the one found (it may be another project's)
 */
export function invocationTarget(
  service: ServiceAddress,
  routing: InvocationRouting,
): InvocationTarget {
  const clusterDomain = routing.clusterDomain ?? 'cluster.local';
  const local = `${service.name}.${service.namespace}.svc`;
  const localHosts = [local, `${local}.${clusterDomain}`];
  if (routing.gateway) {
    const url = parsed(service.url);
    const own = `${service.name}.${service.namespace}.`;
    const host = url?.hostname ?? '';
    const ok =
      url !== undefined &&
      plain(url) &&
      url.port === '' &&
      (localHosts.includes(host) ||
        (host.startsWith(own) && DNS_SUFFIX.test(host.slice(own.length))));
    if (!ok) throw refused(service, `${own}<domain> or ${localHosts[1]}`);
    return { url: routing.gateway, host };
  }
  const url = parsed(service.address ?? service.url);
  const host = url?.hostname ?? '';
  const ok =
    url !== undefined &&
    plain(url) &&
    ((url.port === '' && localHosts.includes(host)) || (routing.devHosts ?? []).includes(host));
  if (!ok) throw refused(service, localHosts[1]);
  return { url };
}

function parsed(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** No credentials, path, query or fragment: only scheme, host and port say where it goes. */
function plain(url: URL): boolean {
  return (
    url.username === '' &&
    url.password === '' &&
    (url.pathname === '/' || url.pathname === '') &&
    url.search === '' &&
    url.hash === ''
  );
}

function refused(service: ServiceAddress, expected: string): Problem {
  return new Problem(
    502,
    'Function address refused',
    `The Knative status of function ${JSON.stringify(service.name)} names an unexpected host; expected ${expected}. Nothing was sent.`,
  );
}
