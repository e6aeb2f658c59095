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

/** Longest namespace prefix: prefix + the longest project name fit a namespace's 63 characters. */
export const MAX_NAMESPACE_PREFIX_LENGTH = 63 - MAX_PROJECT_NAME_LENGTH;

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
// A container image reference: [registry[:port]/]path[:tag][@digest].
const IMAGE =
  /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/**
 * Namespaces no project may become: Kubernetes' own and those the platform's stack installs
 * (Knative Serving, Kourier, the API's). Exact names, then prefixes.
 */
export const RESERVED_NAMESPACES = {
  names: ['default', 'hks-system', 'kourier-system'],
  prefixes: ['kube-', 'knative-', 'kourier-'],
} as const;

/** Application names starting so are the platform's own objects in a project (hks-workload...). */
export const RESERVED_APP_NAME_PREFIX = 'hks-';

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

/** The reserved-namespace rule a name breaks, if any. */
function reservedNamespace(value: string): string | undefined {
  if ((RESERVED_NAMESPACES.names as readonly string[]).includes(value)) return value;
  const prefix = RESERVED_NAMESPACES.prefixes.find((p) => value.startsWith(p));
  return prefix === undefined ? undefined : `${prefix}*`;
}

const RESERVED_SET = [
  ...RESERVED_NAMESPACES.names,
  ...RESERVED_NAMESPACES.prefixes.map((p) => `${p}*`),
].join(', ');

/**
 * An application name: a DNS label short enough for generated Job and Pod suffixes, and not one
 * of the platform's own object names.
 */
export function checkAppName(value: string): string | undefined {
  const problem = dnsLabel(value, MAX_APP_NAME_LENGTH, 'a name');
  if (problem || !value.startsWith(RESERVED_APP_NAME_PREFIX)) return problem;
  return `given ${describeValue(value)}, expected a name not starting with "${RESERVED_APP_NAME_PREFIX}", which the platform's own objects in a project use (hks-workload, hks-quota, hks-default-deny, ...)`;
}

/** A project name: becomes (part of) the namespace, so none of the reserved namespaces. */
export function checkProjectName(value: string): string | undefined {
  const problem = dnsLabel(value, MAX_PROJECT_NAME_LENGTH, 'a project name');
  const reserved = problem ? undefined : reservedNamespace(value);
  if (!reserved) return problem;
  return `given ${describeValue(value)}, expected a project name outside the reserved namespaces (${RESERVED_SET})`;
}

/** A namespace name, after the project-to-namespace mapping (prefix + project). */
export function checkNamespaceName(value: string): string | undefined {
  const problem = dnsLabel(value, 63, 'a namespace');
  const reserved = problem ? undefined : reservedNamespace(value);
  if (!reserved) return problem;
  return `given ${describeValue(value)}, expected a namespace outside the reserved ones (${RESERVED_SET}): choose another namespace prefix or project`;
}

/**
 * A namespace prefix (namespace = prefix + project): lower-case letters, digits and '-', and
 * not one that makes every namespace a reserved one.
 */
export function checkNamespacePrefix(value: string): string | undefined {
  if (!/^([a-z][-a-z0-9]*)?$/.test(value) || value.length > MAX_NAMESPACE_PREFIX_LENGTH) {
    return `given ${describeValue(value)}, expected lower-case letters, digits and '-', starting with a letter, at most ${MAX_NAMESPACE_PREFIX_LENGTH} characters`;
  }
  const reserved = RESERVED_NAMESPACES.prefixes.find((p) => value.startsWith(p));
  if (reserved === undefined) return undefined;
  return `given ${describeValue(value)}, expected a prefix not starting with "${reserved}": namespaces ${reserved}* are reserved (${RESERVED_SET})`;
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
