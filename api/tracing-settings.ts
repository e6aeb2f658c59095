/**
 * Whether the API exports traces, from the standard OpenTelemetry variables: on when an OTLP
 * endpoint is set (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`), off
 * otherwise, and off with a named error for settings this API cannot honour.
 */

/** What {@link readTracingSettings} found. */
export type TracingSettings =
  | { readonly enabled: false; readonly reason: string }
  | { readonly enabled: false; readonly error: string }
  | {
      readonly enabled: true;
      /** Where spans go, as the variable gave it. */
      readonly endpoint: string;
      /** The resource's `service.name`. */
      readonly serviceName: string;
    };

/** The API's `service.name` unless `OTEL_SERVICE_NAME` says otherwise. */
export const DEFAULT_SERVICE_NAME = 'hks-api';

const PROTOCOLS = new Set(['http/protobuf']);

function badValue(variable: string, given: string, expected: string) {
  return {
    enabled: false as const,
    error: `${variable}: given ${JSON.stringify(given)}, expected ${expected}; tracing is off`,
  };
}

/** Reads the OTEL_* variables the API honours; never throws. */
export function readTracingSettings(env: NodeJS.ProcessEnv): TracingSettings {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true')
    return { enabled: false, reason: 'OTEL_SDK_DISABLED=true' };
  const exporter = (env.OTEL_TRACES_EXPORTER ?? '').trim();
  if (exporter === 'none') return { enabled: false, reason: 'OTEL_TRACES_EXPORTER=none' };
  const variable = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'
    : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  const endpoint = (env[variable] ?? '').trim();
  if (endpoint === '') return { enabled: false, reason: 'no OTEL_EXPORTER_OTLP_ENDPOINT' };
  if (exporter !== '' && exporter !== 'otlp')
    return badValue('OTEL_TRACES_EXPORTER', exporter, '"otlp" or "none"');
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    return badValue(variable, endpoint, 'an http:// or https:// URL such as http://collector:4318');
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = (env[name] ?? '').trim();
    if (protocol !== '' && !PROTOCOLS.has(protocol))
      return badValue(
        name,
        protocol,
        '"http/protobuf" (OTLP over HTTP, the only one the API sends)',
      );
  }
  const delay = (env.OTEL_BSP_SCHEDULE_DELAY ?? '').trim();
  if (delay !== '' && !/^\d+$/.test(delay))
    return badValue('OTEL_BSP_SCHEDULE_DELAY', delay, 'a whole number of milliseconds');
  return {
    enabled: true,
    endpoint,
    serviceName: (env.OTEL_SERVICE_NAME ?? '').trim() || DEFAULT_SERVICE_NAME,
  };
}
