/**
 * The API's OpenTelemetry tracing: when {@link readTracingSettings} says it is on, a Node
 * tracer provider with the W3C propagators, the HTTP (server and outgoing: Kubernetes calls,
 * function invocations), express and knex instrumentations and a batch span processor over
 * OTLP/HTTP (protobuf). Off, no OpenTelemetry module is loaded at all, not even the API
 * package with its no-op tracer.
 *
 * `api/tracing-start.ts` calls {@link startTracing} before anything requires http or express,
 * since the instrumentations patch those modules as they are loaded.
 */
import type { Attributes } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { readTracingSettings, type TracingSettings } from './tracing-settings';

/** How tracing started, for the API's start-up log line. */
export interface TracingState {
  readonly settings: TracingSettings;
  /** Ends pending exports (at most 5 s); resolves at once when tracing is off. */
  shutdown(): Promise<void>;
}

let processor: SpanProcessor | undefined;
let makeResource: ((attributes: Attributes) => Resource) | undefined;
let loaded: OpenTelemetryModules | undefined;

/** The OpenTelemetry modules the spans are made with, loaded only when tracing is on. */
export interface OpenTelemetryModules {
  readonly api: typeof import('@opentelemetry/api');
  readonly core: typeof import('@opentelemetry/core');
}

/**
 * The loaded OpenTelemetry modules. Off, not even `@opentelemetry/api` is loaded (40-60 ms of
 * start-up on a busy machine).
 * @throws Error when tracing is off
 */
export function openTelemetry(): OpenTelemetryModules {
  if (!loaded) throw new Error('tracing is off');
  return loaded;
}
let state: TracingState = {
  settings: { enabled: false, reason: 'not started' },
  shutdown: () => Promise.resolve(),
};

/** Whether spans are exported: when off, callers skip the work of making them. */
export function tracingEnabled(): boolean {
  return processor !== undefined;
}

/** How {@link startTracing} left tracing. */
export function tracingState(): TracingState {
  return state;
}

/**
 * Exports a span made elsewhere (a function runtime's invocation, which the runtime reports
 * in a response header) through the same batch processor as the API's own spans.
 */
export function exportFinishedSpan(span: ReadableSpan): void {
  processor?.onEnd(span);
}

/**
 * A resource for spans exported with {@link exportFinishedSpan} (a function's own).
 * @throws Error when tracing is off
 */
export function resourceOf(attributes: Attributes): Resource {
  if (!makeResource) throw new Error('tracing is off');
  return makeResource(attributes);
}

// Watches last as long as the informer runs them: one span of minutes says nothing.
function isWatch(path: string | undefined): boolean {
  return /[?&]watch=(true|1)(&|$)/.test(path ?? '');
}

/** Reads the settings and, when tracing is on, loads and registers the SDK. Never throws. */
export function startTracing(env: NodeJS.ProcessEnv = process.env): TracingState {
  const settings = readTracingSettings(env);
  if (!settings.enabled) {
    state = { settings, shutdown: () => Promise.resolve() };
    return state;
  }
  // Loaded only here, so that an API without tracing pays nothing for the SDK.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const core = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const { diag, DiagLogLevel } = api;
  const { NodeTracerProvider, BatchSpanProcessor } =
    require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node');
  const { OTLPTraceExporter } =
    require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto');
  const { resourceFromAttributes } =
    require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { registerInstrumentations } =
    require('@opentelemetry/instrumentation') as typeof import('@opentelemetry/instrumentation');
  const { HttpInstrumentation } =
    require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { ExpressInstrumentation } =
    require('@opentelemetry/instrumentation-express') as typeof import('@opentelemetry/instrumentation-express');
  const { KnexInstrumentation } =
    require('@opentelemetry/instrumentation-knex') as typeof import('@opentelemetry/instrumentation-knex');
  /* eslint-enable @typescript-eslint/no-require-imports */
  // Export failures and the SDK's own complaints go to stderr as JSON lines, like the logs.
  diag.setLogger(
    {
      error: (message, ...args) => writeDiag('error', message, args),
      warn: (message, ...args) => writeDiag('warn', message, args),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
  );
  // The exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout) and the processor
  // OTEL_BSP_* itself, as every OpenTelemetry SDK does.
  const batch = new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
    spanProcessors: [batch],
  });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreOutgoingRequestHook: (request) => isWatch(request.path ?? undefined),
        ignoreIncomingRequestHook: (request) => request.url === '/healthz',
      }),
      new ExpressInstrumentation(),
      new KnexInstrumentation(),
    ],
  });
  processor = batch;
  makeResource = resourceFromAttributes;
  loaded = { api, core };
  state = {
    settings,
    shutdown: () =>
      Promise.race([
        provider.shutdown(),
        new Promise<void>((resolve) => setTimeout(resolve, 5000).unref()),
      ]),
  };
  return state;
}

function writeDiag(level: 'error' | 'warn', message: string, args: unknown[]): void {
  const detail = args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
  process.stderr.write(
    `${JSON.stringify({ level, time: new Date().toISOString(), component: 'tracing', msg: detail ? `${message} ${detail}` : message })}\n`,
  );
}

/** Logs how tracing started: on with its endpoint, off and why, or a bad setting at `error`. */
export function reportTracing(logger: {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}): void {
  const { settings } = state;
  if (settings.enabled) {
    logger.info({ endpoint: settings.endpoint, serviceName: settings.serviceName }, 'tracing on');
  } else if ('error' in settings) {
    logger.error({ error: settings.error }, `tracing is off: ${settings.error}`);
  }
}
