import type { IncomingHttpHeaders, OutgoingHttpHeader } from 'node:http';

/** Header values as Node reads them (request or response side). */
export type HeaderInput = IncomingHttpHeaders | Readonly<Record<string, OutgoingHttpHeader>>;

/**
 * Request headers never sent to a function (RFC 9110 §7.6.1 and the platform's own):
 * - the caller's credentials for the API: `authorization`, `cookie`;
 * - hop-by-hop headers: `connection` and the names it lists, `keep-alive`, `te`, `trailer`,
 *   `transfer-encoding`, `upgrade`, `expect`, `proxy-*`;
 * - what the proxy itself sets: `host`, `content-length`, and `content-encoding`, since the
 *   API has already decoded the body it forwards;
 * - claims about the client's address that the function could trust: `forwarded`, `via`,
 *   `x-forwarded-*`, `x-real-ip`;
 * - Knative's routing and probing headers: `knative-*` (the API sets `knative-serving-tag`
 *   itself for `?tag=`), `k-network-*`, `k-proxy-request`;
 * - the platform's own protocol with the runtime, which only the API speaks: `x-hks-stream`
 *   (a caller's would get raw NDJSON and be recorded as the stream's 200), `x-hks-files`,
 *   `x-hks-session-secret`, and a timer's `x-hks-faas-*`.
 */
const REQUEST_DENIED = new Set([
  'authorization',
  'cookie',
  'connection',
  'content-encoding',
  'content-length',
  'expect',
  'forwarded',
  'host',
  'keep-alive',
  'k-proxy-request',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'via',
  'x-real-ip',
  'x-hks-stream',
  'x-hks-files',
  'x-hks-session-secret',
]);
// x-hks-faas-*: a timer's attributes, which only the platform's scheduler may claim.
const REQUEST_DENIED_PREFIXES = ['proxy-', 'x-forwarded-', 'knative-', 'k-network-', 'x-hks-faas-'];

/**
 * Response headers a function may set, besides `x-*` ones: what describes the body and its
 * version. Everything else is dropped, notably headers a browser honours for the API's whole
 * origin or for the response as a document: `set-cookie`, `strict-transport-security`,
 * `content-security-policy*`, `permissions-policy`, `cross-origin-*`, `access-control-*`,
 * `clear-site-data`, `location`, `refresh`, `link`, `www-authenticate`, `alt-svc`,
 * `cache-control`, and hop-by-hop headers.
 */
const RESPONSE_ALLOWED = new Set([
  'content-type',
  'content-encoding',
  'content-language',
  'etag',
  'last-modified',
  'retry-after',
  'vary',
]);
/** `x-*` response headers that are still dropped: browsers act on them, or the API sets them. */
const RESPONSE_DENIED_X = new Set([
  'x-content-type-options',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-powered-by',
  'x-request-id',
  'x-xss-protection',
]);

/**
 * Content types a browser runs script in or renders as a document (HTML, XML and SVG,
 * JavaScript, XSLT): such responses are also sent as attachments.
 */
const ACTIVE_CONTENT = [
  /^text\/html$/,
  /^application\/xhtml\+xml$/,
  /^(text|application)\/xml$/,
  /^[a-z0-9.+-]+\/[a-z0-9.-]*\+xml$/,
  /^(text|application)\/(x-)?(java|ecma)script$/,
  /^(text|application)\/xsl(t\+xml)?$/,
  /^multipart\//,
];

/** Headers the API adds to every function response, over whatever the function sent. */
export const RESPONSE_HARDENING: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  // A response opened as a document gets a unique origin: no script runs on the API's.
  'content-security-policy': 'sandbox',
};

/** Lower-cased single-string headers; arrays joined with `, `. */
function normalised(headers: HeaderInput): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : String(value));
  }
  return out;
}

/**
 * The caller's request headers that go on to a function: all but those in
 * {@link REQUEST_DENIED}, the `proxy-*`, `x-forwarded-*`, `knative-*`, `k-network-*` and `x-hks-faas-*`
 * families and the names the `connection` header lists.
 */
export function requestHeadersForFunction(headers: HeaderInput): Record<string, string> {
  const all = normalised(headers);
  const listed = new Set(
    (all.get('connection') ?? '')
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== ''),
  );
  const kept: Record<string, string> = {};
  for (const [name, value] of all) {
    if (REQUEST_DENIED.has(name) || listed.has(name)) continue;
    if (REQUEST_DENIED_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    kept[name] = value;
  }
  return kept;
}

/** Whether a browser would run script in a body of this `content-type`. */
export function isActiveContent(contentType: string): boolean {
  const essence = contentType.split(';')[0].trim().toLowerCase();
  return ACTIVE_CONTENT.some((pattern) => pattern.test(essence));
}

/**
 * The function's response headers as the API sends them to the caller: only
 * {@link RESPONSE_ALLOWED} and `x-*` headers (but not {@link RESPONSE_DENIED_X}), plus
 * {@link RESPONSE_HARDENING}. A missing `content-type` becomes `application/octet-stream` (not
 * sniffed); active content (HTML, XML, SVG, JavaScript) gets `content-disposition: attachment`.
 */
export function responseHeadersFromFunction(headers: HeaderInput): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of normalised(headers)) {
    const allowed = RESPONSE_ALLOWED.has(name) || name.startsWith('x-');
    if (allowed && !RESPONSE_DENIED_X.has(name) && !name.startsWith('x-forwarded-'))
      kept[name] = value;
  }
  kept['content-type'] ||= 'application/octet-stream';
  if (isActiveContent(kept['content-type'])) kept['content-disposition'] = 'attachment';
  return { ...kept, ...RESPONSE_HARDENING };
}
