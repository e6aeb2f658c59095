/**
 * The spans of a function invocation: the API's client span (`invoke <function>`), whose
 * context goes to the function as W3C `traceparent`, and the function's own span, which the
 * runtime reports back in {@link FUNCTION_SPAN_HEADER} and the API exports as the child of the
 * invoke span, with the OpenTelemetry FaaS attributes.
 */
import type { Attributes, HrTime, SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { InvocationTrigger } from './store/invocation-store';
import { exportFinishedSpan, openTelemetry, resourceOf, tracingEnabled } from './tracing';

/**
 * The response header a runtime reports its invocation's span in:
 * `<span id>;start=<unix µs>;end=<unix µs>;coldstart=<true|false>` (runtimes/*: bootstrap).
 */
export const FUNCTION_SPAN_HEADER = 'x-hks-span';

/** What the spans of one invocation say about it. */
export interface InvocationSpanInfo {
  readonly project: string;
  /** The function (`faas.name`, `faas.invoked_name`). */
  readonly name: string;
  /** The invocation's id (`faas.invocation_id`): the `X-Request-Id` the function is sent. */
  readonly invocationId: string;
  readonly trigger: InvocationTrigger;
  /** A timer's `faas.cron` and `faas.time`. @default - not a timer */
  readonly timer?: { readonly cron: string; readonly scheduledTime: string };
}

/** The spec's `faas.trigger` of each of the platform's triggers; `hks.trigger` keeps ours. */
const FAAS_TRIGGER: Readonly<Record<InvocationTrigger, string>> = {
  http: 'http',
  timer: 'timer',
  event: 'pubsub',
  execute: 'other',
  async: 'other',
};

/** A function's span as its runtime reported it. */
export interface ReportedSpan {
  readonly spanId: string;
  readonly startMicros: number;
  readonly endMicros: number;
  readonly coldstart: boolean;
}

/** Reads {@link FUNCTION_SPAN_HEADER}; undefined when absent or not of its form. */
export function parseReportedSpan(value: string | undefined): ReportedSpan | undefined {
  const match = /^([0-9a-f]{16});start=(\d{1,17});end=(\d{1,17});coldstart=(true|false)$/.exec(
    value?.trim() ?? '',
  );
  if (!match || /^0+$/.test(match[1])) return undefined;
  const [startMicros, endMicros] = [Number(match[2]), Number(match[3])];
  if (endMicros < startMicros) return undefined;
  return { spanId: match[1], startMicros, endMicros, coldstart: match[4] === 'true' };
}

function hrTime(micros: number): HrTime {
  return [Math.floor(micros / 1e6), (micros % 1e6) * 1000];
}

function faasAttributes(info: InvocationSpanInfo): Attributes {
  return {
    'faas.trigger': FAAS_TRIGGER[info.trigger],
    'faas.invocation_id': info.invocationId,
    'hks.trigger': info.trigger,
    'hks.project': info.project,
    ...(info.timer ? { 'faas.cron': info.timer.cron, 'faas.time': info.timer.scheduledTime } : {}),
  };
}

/** The function's span, a child of the invoke span, in a resource of its own (the function). */
function functionSpan(
  info: InvocationSpanInfo,
  parent: SpanContext,
  reported: ReportedSpan,
  status: number,
): ReadableSpan {
  const { SpanKind, SpanStatusCode } = openTelemetry().api;
  const start = hrTime(reported.startMicros);
  const spanContext: SpanContext = {
    traceId: parent.traceId,
    spanId: reported.spanId,
    traceFlags: parent.traceFlags,
  };
  return {
    name: info.name,
    kind: SpanKind.SERVER,
    spanContext: () => spanContext,
    parentSpanContext: parent,
    startTime: start,
    endTime: hrTime(reported.endMicros),
    duration: hrTime(reported.endMicros - reported.startMicros),
    status: status >= 500 ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.UNSET },
    attributes: {
      ...faasAttributes(info),
      'faas.name': info.name,
      'faas.coldstart': reported.coldstart,
      'http.response.status_code': status,
    },
    links: [],
    events: [],
    ended: true,
    resource: resourceOf({
      'service.name': info.name,
      'service.namespace': info.project,
      'faas.name': info.name,
    }),
    instrumentationScope: { name: 'hks-runtime' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/**
 * Runs `send` with the invocation's headers inside an `invoke <function>` client span: the
 * headers get the span's `traceparent` (and `tracestate`), over any the caller sent; the
 * function's reported span is exported as its child and its header taken out of the answer.
 * When tracing is off, `send` gets the headers as they are.
 */
export async function traceInvocation<
  R extends { readonly status: number; readonly headers: Readonly<Record<string, string>> },
>(
  info: InvocationSpanInfo,
  headers: Record<string, string>,
  send: (headers: Record<string, string>) => Promise<R>,
): Promise<R> {
  if (!tracingEnabled()) return send(headers);
  const { context, propagation, SpanKind, SpanStatusCode, trace } = openTelemetry().api;
  const { suppressTracing } = openTelemetry().core;
  const tracer = trace.getTracer('hks-api');
  const span = tracer.startSpan(
    `invoke ${info.name}`,
    {
      kind: SpanKind.CLIENT,
      attributes: { ...faasAttributes(info), 'faas.invoked_name': info.name },
    },
    context.active(),
  );
  const spanContext = trace.setSpan(context.active(), span);
  const { traceparent: _p, tracestate: _s, ...rest } = headers;
  const carrier: Record<string, string> = { ...rest };
  propagation.inject(spanContext, carrier);
  try {
    // The invoke span is this request's client span: the HTTP instrumentation makes none.
    const answer = await context.with(suppressTracing(spanContext), () => send(carrier));
    span.setAttribute('http.response.status_code', answer.status);
    if (answer.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    const reported = parseReportedSpan(answer.headers[FUNCTION_SPAN_HEADER]);
    if (reported)
      exportFinishedSpan(functionSpan(info, span.spanContext(), reported, answer.status));
    const { [FUNCTION_SPAN_HEADER]: _span, ...kept } = answer.headers;
    return { ...answer, headers: kept };
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

/** `transport` (a function-proxy send) with each call traced by {@link traceInvocation}. */
export function tracedTransport<
  T,
  F extends { readonly headers: Readonly<Record<string, string>> },
  R extends { readonly status: number; readonly headers: Readonly<Record<string, string>> },
>(info: InvocationSpanInfo, transport: (target: T, forwarded: F) => Promise<R>) {
  return (target: T, forwarded: F): Promise<R> =>
    traceInvocation(info, { ...forwarded.headers }, (headers) =>
      transport(target, { ...forwarded, headers }),
    );
}
