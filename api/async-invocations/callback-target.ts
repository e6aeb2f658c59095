import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { Problem } from '../problem';

/** The request header that names where an invocation's result is POSTed. */
export const CALLBACK_HEADER = 'x-callback-url';

/** Longest callback URL accepted. */
export const MAX_CALLBACK_URL_LENGTH = 2048;

/** Names of cloud metadata services, refused whatever they resolve to. */
const METADATA_HOSTS = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** How the API itself is reached: a callback to any of these is refused. */
export interface SelfAddress {
  /** The `Host` the request came to (`name:port`). */
  readonly host?: string;
  /** The port the API listens on (the request's local port). */
  readonly port: number;
}

function refused(url: string, expected: string): Problem {
  return new Problem(
    400,
    'Bad callback URL',
    `${CALLBACK_HEADER}: given ${JSON.stringify(url.length > 200 ? `${url.slice(0, 200)}…` : url)}, expected ${expected}`,
    [
      {
        path: CALLBACK_HEADER,
        message: `given ${JSON.stringify(url.slice(0, 200))}, expected ${expected}`,
      },
    ],
  );
}

/** Link-local (and so cloud metadata) addresses: 169.254.0.0/16, fe80::/10, fd00:ec2::254. */
export function isLinkLocal(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('169.254.');
  const lower = address.toLowerCase();
  return /^fe[89ab][0-9a-f]?:/.test(lower) || lower === 'fd00:ec2::254';
}

/** Addresses that reach this machine: loopback, unspecified and every interface's own. */
function ownAddresses(): Set<string> {
  const own = new Set(['0.0.0.0', '::', '::1', 'localhost']);
  for (const list of Object.values(networkInterfaces()))
    for (const entry of list ?? []) own.add(entry.address.toLowerCase());
  return own;
}

const bare = (hostname: string) => hostname.replace(/^\[|\]$/g, '').toLowerCase();

/**
 * Checks a callback URL given at submission: http(s), no credentials, not the API itself
 * (the host it was called by, or any address of this machine at its port) and not a
 * link-local or metadata address.
 * @throws Problem 400 naming the header, the value and what is expected
 */
export function checkCallbackUrl(raw: string, self: SelfAddress): URL {
  if (raw.length > MAX_CALLBACK_URL_LENGTH)
    throw refused(raw, `a URL of at most ${MAX_CALLBACK_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refused(raw, 'an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw refused(raw, `an http:// or https:// URL, not ${url.protocol}`);
  if (url.username || url.password)
    throw refused(raw, 'a URL without credentials (the request is signed instead)');
  checkAddress(url, [bare(url.hostname)], self, raw);
  return url;
}

/**
 * Checks the addresses a callback's host resolved to at delivery, so that a name that
 * resolves to a link-local or metadata address later is refused too.
 * @throws Problem 400 as {@link checkCallbackUrl}
 */
export function checkResolved(url: URL, addresses: readonly string[]): void {
  if (addresses.map(bare).some(isLinkLocal))
    throw refused(url.href, 'a URL outside link-local and cloud metadata addresses');
}

function checkAddress(url: URL, hosts: readonly string[], self: SelfAddress, raw: string): void {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const hostname = bare(url.hostname);
  if (METADATA_HOSTS.has(hostname) || hosts.some(isLinkLocal))
    throw refused(raw, 'a URL outside link-local and cloud metadata addresses');
  const selfHost = self.host?.toLowerCase();
  const own = ownAddresses();
  if (
    (selfHost !== undefined && url.host.toLowerCase() === selfHost) ||
    (port === self.port && hosts.some((h) => own.has(h) || h.startsWith('127.')))
  )
    throw refused(
      raw,
      `a URL of another service than this API (${selfHost ?? `port ${self.port}`})`,
    );
}
