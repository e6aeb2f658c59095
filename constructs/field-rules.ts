/**
 * Field rules shared by every door (YAML files, construct props, API JSON).
 *
 * Each rule returns `undefined` when the value is fine, or a sentence saying what was given
 * and what is expected, so that the schema and the constructs report problems the same way.
 */

/** Longest application name: CronJob names must leave 11 characters for the Job suffix. */
export const MAX_APP_NAME_LENGTH = 52;

/** Longest project name, leaving room for a namespace prefix within 63 characters. */
export const MAX_PROJECT_NAME_LENGTH = 40;

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
// A container image reference: [registry[:port]/]path[:tag][@digest].
const IMAGE =
  /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** Labels the platform sets itself; definitions may not override them. */
export const RESERVED_LABEL_PREFIXES = ['hks.hexabase.io/', 'app.kubernetes.io/'];

/** Renders a value for an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

function dnsLabel(value: string, maxLength: number, what: string): string | undefined {
  if (!DNS_LABEL.test(value)) {
    return `given ${describeValue(value)}, expected ${what}: a DNS-1123 label of lower-case letters, digits and '-', starting with a letter and ending with a letter or digit`;
  }
  if (value.length > maxLength) {
    return `given ${describeValue(value)} (${value.length} characters), expected at most ${maxLength} characters`;
  }
  return undefined;
}

/** An application name: a DNS label short enough for generated Job and Pod suffixes. */
export function checkAppName(value: string): string | undefined {
  return dnsLabel(value, MAX_APP_NAME_LENGTH, 'a name');
}

/** A project name: becomes (part of) the namespace. */
export function checkProjectName(value: string): string | undefined {
  return dnsLabel(value, MAX_PROJECT_NAME_LENGTH, 'a project name');
}

/** A namespace name, after the project-to-namespace mapping. */
export function checkNamespaceName(value: string): string | undefined {
  return dnsLabel(value, 63, 'a namespace');
}

/** A reference to a Secret, ConfigMap or ServiceAccount by name. */
export function checkObjectName(value: string): string | undefined {
  if (value.length > 253 || !DNS_SUBDOMAIN.test(value)) {
    return `given ${describeValue(value)}, expected a Kubernetes object name: lower-case letters, digits, '-' and '.', at most 253 characters`;
  }
  return undefined;
}

/** A key inside a Secret or ConfigMap. */
export function checkDataKey(value: string): string | undefined {
  if (value.length > 253 || !SECRET_KEY.test(value)) {
    return `given ${describeValue(value)}, expected a key of letters, digits, '-', '_' and '.'`;
  }
  return undefined;
}

/** An environment variable name as Kubernetes accepts it. */
export function checkEnvName(value: string): string | undefined {
  if (!ENV_NAME.test(value)) {
    return `given ${describeValue(value)}, expected an environment variable name of letters, digits, '_', '-' and '.', not starting with a digit`;
  }
  return undefined;
}

/** A label key (optionally prefixed) that the platform does not reserve. */
export function checkLabelKey(value: string): string | undefined {
  const slash = value.lastIndexOf('/');
  const prefix = slash >= 0 ? value.slice(0, slash) : undefined;
  const name = slash >= 0 ? value.slice(slash + 1) : value;
  const prefixOk = prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix));
  if (!prefixOk || name.length > 63 || !LABEL_NAME.test(name)) {
    return `given ${describeValue(value)}, expected a label key: [prefix/]name, name at most 63 letters, digits, '-', '_' and '.'`;
  }
  const reserved = RESERVED_LABEL_PREFIXES.find((p) => value.startsWith(p));
  if (reserved) {
    return `given ${describeValue(value)}, expected a key outside ${reserved}, which the platform sets itself`;
  }
  return undefined;
}

/** A label value. */
export function checkLabelValue(value: string): string | undefined {
  if (value.length > 63 || (value !== '' && !LABEL_NAME.test(value))) {
    return `given ${describeValue(value)}, expected a label value: at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** A container image reference such as `ghcr.io/acme/api:1.4.2`. */
export function checkImage(value: string): string | undefined {
  if (!IMAGE.test(value)) {
    return `given ${describeValue(value)}, expected an image reference such as ghcr.io/acme/api:1.4.2 (lower-case repository, optional :tag and @sha256:digest)`;
  }
  return undefined;
}

/** Kubernetes' own pull-policy rule: always pull a moving `latest` (or untagged) image. */
export function pullsAlways(image: string): boolean {
  if (image.includes('@')) return false;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : '';
  return tag === '' || tag === 'latest';
}
