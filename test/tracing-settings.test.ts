import { parseReportedSpan } from '../api/tracing-invoke';
import { readTracingSettings } from '../api/tracing-settings';

describe('readTracingSettings', () => {
  it('is off without an endpoint, and when disabled', () => {
    expect(readTracingSettings({})).toEqual({
      enabled: false,
      reason: 'no OTEL_EXPORTER_OTLP_ENDPOINT',
    });
    const endpoint = 'http://collector:4318';
    expect(
      readTracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: 'true' })
        .enabled,
    ).toBe(false);
    expect(
      readTracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_EXPORTER: 'none' })
        .enabled,
    ).toBe(false);
  });

  it('is on with an http(s) endpoint, the traces one first, and the service name', () => {
    expect(readTracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({
      enabled: true,
      endpoint: 'http://collector:4318',
      serviceName: 'hks-api',
    });
    expect(
      readTracingSettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/v1/traces',
        OTEL_SERVICE_NAME: 'api-eu',
      }),
    ).toEqual({ enabled: true, endpoint: 'https://b/v1/traces', serviceName: 'api-eu' });
  });

  it.each([
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      'OTEL_EXPORTER_OTLP_ENDPOINT: given "collector:4318", expected an http:// or https:// URL',
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      'OTEL_EXPORTER_OTLP_PROTOCOL: given "grpc", expected "http/protobuf"',
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'zipkin' },
      'OTEL_TRACES_EXPORTER: given "zipkin", expected "otlp" or "none"',
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_BSP_SCHEDULE_DELAY: '1s' },
      'OTEL_BSP_SCHEDULE_DELAY: given "1s", expected a whole number of milliseconds',
    ],
  ])('names a bad setting: %j', (env, message) => {
    const settings = readTracingSettings(env);
    expect(settings.enabled).toBe(false);
    expect('error' in settings && settings.error).toContain(message);
  });
});

describe('parseReportedSpan', () => {
  it('reads a runtime’s X-Hks-Span', () => {
    expect(
      parseReportedSpan(
        '0eb635ee1f17f708;start=1796163315699467;end=1796163315700124;coldstart=true',
      ),
    ).toEqual({
      spanId: '0eb635ee1f17f708',
      startMicros: 1796163315699467,
      endMicros: 1796163315700124,
      coldstart: true,
    });
  });

  it.each([
    undefined,
    '',
    '0000000000000000;start=1;end=2;coldstart=true',
    'xyz;start=1;end=2;coldstart=true',
    '0eb635ee1f17f708;start=3;end=2;coldstart=false',
    '0eb635ee1f17f708;start=1;end=2',
  ])('refuses %j', (value) => {
    expect(parseReportedSpan(value)).toBeUndefined();
  });
});
