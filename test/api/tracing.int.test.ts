import { randomBytes } from 'node:crypto';
import { API_VERSION } from '../../constructs';
import { waitFor } from '../cluster/wait';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import {
  type ExportedSpan,
  type RunningCollector,
  startOtelCollector,
} from '../support/otel-collector';
import { startScript } from '../support/script-process';
import { freePorts } from '../support/own-cluster';
import { testApiKubeconfig } from '../support/api-identity';
import {
  ApiProcess,
  internalToken,
  projectRequest,
  startApi,
  TEST_JWT_SECRET,
  testStores,
  token,
} from './api-process';

jest.setTimeout(300_000);

/**
 * Traces through the real OpenTelemetry Collector (test/cluster/go/otelcol: the OTLP receiver
 * and the file exporter, whose JSON this test reads): a real API process exporting over OTLP
 * and functions run by the real bootstraps (the Knative stand-in's local processes). One trace
 * from the caller's `traceparent` through the API's server span and its invoke span to the
 * function's span, with the FaaS attributes, and the runtime's log records naming the trace;
 * without OTEL_* no span leaves the API, and a bad setting is logged while the API serves.
 */

const prefix = `t${randomBytes(2).toString('hex')}-`;
const project = 'tracing-spans';
let standIn: StandInProcess;
let collector: RunningCollector;

const traceId = randomBytes(16).toString('hex');
const callerSpanId = randomBytes(8).toString('hex');

const definition = (name: string, runtime: 'python3.12' | 'nodejs20') => ({
  apiVersion: API_VERSION,
  kind: 'Function',
  metadata: { name, project },
  spec:
    runtime === 'python3.12'
      ? {
          runtime,
          code: [
            'def handler(event, context):',
            '    context.logger.info("traced", word=event.get("word"))',
            '    return {"word": event.get("word")}',
            '',
          ].join('\n'),
        }
      : {
          runtime,
          code: 'exports.handler = async (event, context) => { context.logger.info("traced"); return { word: event.word }; };\n',
        },
});

/** The JSON records of a log tail header (`x-hks-log-result`). */
function tailRecords(value: string | null): Record<string, unknown>[] {
  return Buffer.from(value ?? '', 'base64')
    .toString('utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The nearest server span above `span` (the express instrumentation's spans come between). */
function serverSpanOf(spans: ExportedSpan[], span: ExportedSpan): ExportedSpan | undefined {
  const parent = spans.find((s) => s.spanId === span.parentSpanId);
  if (!parent || parent.kind === 2) return parent;
  return serverSpanOf(spans, parent);
}

beforeAll(async () => {
  [standIn, collector] = await Promise.all([startStandIn(prefix), startOtelCollector()]);
}, 300_000);

afterAll(async () => {
  await Promise.all([standIn?.stop(), collector?.stop()]);
});

describe('with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  let api: ApiProcess;
  let headers: Record<string, string>;
  const request = (method: string, path: string, body?: unknown) =>
    projectRequest(api, project, headers, method, path, body);
  const invoke = (name: string, extra: Record<string, string>) =>
    fetch(`${api.url}/api/v1/projects/${project}/functions/${name}/invoke`, {
      method: 'POST',
      headers: { ...headers, 'x-hks-log': 'tail', ...extra },
      body: JSON.stringify({ word: 'hello' }),
    });

  beforeAll(async () => {
    api = await startApi({
      ...(await testStores()[0].env()),
      HKS_NAMESPACE_PREFIX: prefix,
      HKS_RECORDER: 'off',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '200',
    });
    headers = {
      authorization: `Bearer ${await token([project])}`,
      'content-type': 'application/json',
    };
    for (const [name, runtime] of [
      ['echo-py', 'python3.12'],
      ['echo-node', 'nodejs20'],
    ] as const) {
      expect((await request('POST', '/applications', definition(name, runtime))).status).toBe(201);
    }
    await waitFor('both functions ready', 90_000, async () => {
      const ready = await Promise.all(
        ['echo-py', 'echo-node'].map(async (name) => {
          const res = await request('GET', `/functions/${name}`);
          return res.status === 200 && res.json.ready === true;
        }),
      );
      return ready.every(Boolean);
    });
  }, 180_000);

  afterAll(() => api?.stop());

  it('logs that tracing is on', () => {
    expect(api.output()).toContain('"msg":"tracing on"');
  });

  it.each(['echo-py', 'echo-node'])(
    'one trace from the caller through the API to the function %s, with the FaaS attributes',
    async (name) => {
      const res = await invoke(name, { traceparent: `00-${traceId}-${callerSpanId}-01` });
      expect(res.status).toBe(200);
      await res.text();
      const invocationId = res.headers.get('x-request-id') ?? '';
      // The function's span header is the API's business, not the caller's.
      expect(res.headers.get('x-hks-span')).toBeNull();
      const { server, invokeSpan, fn } = await collector.waitFor((spans) => {
        const invokeSpan = spans.find(
          (s) => s.name === `invoke ${name}` && s.attributes['faas.invocation_id'] === invocationId,
        );
        const fn = spans.find((s) => s.service === name && s.parentSpanId === invokeSpan?.spanId);
        const server = invokeSpan && serverSpanOf(spans, invokeSpan);
        return invokeSpan && fn && server ? { server, invokeSpan, fn } : undefined;
      });
      // The caller's trace is continued: the API's server span is the child of its span.
      expect(server).toMatchObject({
        traceId,
        parentSpanId: callerSpanId,
        kind: 2,
        service: 'hks-api',
        attributes: expect.objectContaining({
          'http.route': '/api/v1/projects/:project/functions/:name/invoke',
        }),
      });
      expect(invokeSpan).toMatchObject({
        traceId,
        kind: 3,
        service: 'hks-api',
        attributes: expect.objectContaining({
          'faas.invoked_name': name,
          'faas.invocation_id': invocationId,
          'faas.trigger': 'http',
          'http.response.status_code': 200,
        }),
      });
      expect(fn).toMatchObject({
        traceId,
        kind: 2,
        name,
        attributes: expect.objectContaining({
          'faas.name': name,
          'faas.invocation_id': invocationId,
          'faas.trigger': 'http',
          'faas.coldstart': true,
        }),
      });
      // The function ran within the API's invoke span.
      expect(BigInt(fn.startTimeUnixNano)).toBeGreaterThanOrEqual(
        BigInt(invokeSpan.startTimeUnixNano) - 5_000_000n,
      );
      expect(BigInt(fn.endTimeUnixNano)).toBeLessThanOrEqual(
        BigInt(invokeSpan.endTimeUnixNano) + 5_000_000n,
      );
      // The runtime's log records name the trace and the function's span.
      const records = tailRecords(res.headers.get('x-hks-log-result'));
      expect(records.length).toBeGreaterThanOrEqual(1);
      for (const record of records)
        expect(record).toMatchObject({ trace_id: traceId, span_id: fn.spanId });
      // A second call of the same instance is warm.
      const again = await invoke(name, {});
      await again.text();
      const secondId = again.headers.get('x-request-id') ?? '';
      const warm = await collector.waitFor((spans) =>
        spans.find((s) => s.service === name && s.attributes['faas.invocation_id'] === secondId),
      );
      expect(warm.attributes['faas.coldstart']).toBe(false);
      // Without a caller's traceparent the API starts the trace.
      expect(warm.traceId).not.toBe(traceId);
    },
  );

  it('traces the store and an execute-once, whose trigger is other (hks.trigger execute)', async () => {
    const res = await fetch(`${api.url}/internal/v1/operations/execute`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await internalToken([project])}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        runtime: 'python3.12',
        code: 'def handler(event, context):\n    return {"id": context.request_id}\n',
        input: {},
      }),
    });
    expect(res.status).toBe(200);
    const result = (await res.json()) as { id: string; result: { id: string } };
    const fn = await collector.waitFor((spans) =>
      spans.find((s) => s.service === result.id && s.parentSpanId !== undefined),
    );
    expect(fn.attributes).toMatchObject({
      'faas.name': result.id,
      'faas.invocation_id': result.result.id,
      'faas.trigger': 'other',
      'hks.trigger': 'execute',
      'faas.coldstart': true,
    });
    const trace = (spans: ExportedSpan[]) => spans.filter((s) => s.traceId === fn.traceId);
    const spans = await collector.waitFor((all) => {
      const found = trace(all);
      return found.some((s) => s.kind === 2 && s.service === 'hks-api') ? found : undefined;
    });
    const names = spans.map((s) => s.name);
    // The store's queries (knex) are in it too.
    expect(names.some((n) => /^(insert|select|update) /.test(n))).toBe(true);
    expect(
      spans.find((s) => s.kind === 2 && s.service === 'hks-api')?.attributes['http.route'],
    ).toBe('/internal/v1/operations/execute');
    expect(names).toContain(`invoke ${result.id}`);
    // Its Kubernetes calls (outgoing HTTP to the API server) are in the trace as client spans.
    expect(
      spans.filter((s) => s.kind === 3 && s.name !== `invoke ${result.id}`).length,
    ).toBeGreaterThan(0);
  });
});

describe('a CronJob run, recorded with tracing on', () => {
  it('is a span of its own with faas.name, faas.cron and the Job as faas.invocation_id', async () => {
    const runs = 'tracing-runs';
    const api = await startApi({
      ...(await testStores()[0].env()),
      HKS_NAMESPACE_PREFIX: prefix,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '200',
    });
    try {
      const headers = {
        authorization: `Bearer ${await token([runs])}`,
        'content-type': 'application/json',
      };
      const request = (method: string, path: string, body?: unknown) =>
        projectRequest(api, runs, headers, method, path, body);
      const cronjob = {
        apiVersion: API_VERSION,
        kind: 'CronJob',
        metadata: { name: 'nightly', project: runs },
        spec: { image: 'ghcr.io/acme/job:1', schedule: '0 3 * * *', backoffLimit: 0 },
      };
      expect((await request('POST', '/applications', cronjob)).status).toBe(201);
      expect((await request('POST', '/cronjobs/nightly/trigger')).status).toBe(201);
      const span = await collector.waitFor(
        (spans) =>
          spans.find((s) => s.name === 'cronjob nightly' && s.attributes['hks.project'] === runs),
        120_000,
      );
      expect(span).toMatchObject({
        kind: 2,
        service: 'hks-api',
        parentSpanId: undefined,
        attributes: expect.objectContaining({
          'faas.name': 'nightly',
          'faas.cron': '0 3 * * *',
          'faas.trigger': 'other',
          'hks.trigger': 'manual',
          'faas.invocation_id': expect.stringMatching(/^[0-9a-f-]{36}$/),
          'k8s.namespace.name': `${prefix}${runs}`,
        }),
      });
      expect(BigInt(span.endTimeUnixNano)).toBeGreaterThan(BigInt(span.startTimeUnixNano));
    } finally {
      await api.stop();
    }
  });
});

describe('without OTEL_* settings', () => {
  it('exports nothing: the function still gets the caller\u2019s traceparent, no span reaches the collector', async () => {
    const api = await startApi({
      ...(await testStores()[0].env()),
      HKS_NAMESPACE_PREFIX: prefix,
      HKS_RECORDER: 'off',
    });
    try {
      const headers = {
        authorization: `Bearer ${await token([project])}`,
        'content-type': 'application/json',
      };
      await waitFor('echo-py ready', 60_000, async () => {
        const res = await projectRequest(api, project, headers, 'GET', '/functions/echo-py');
        return res.status === 200 && res.json.ready === true;
      });
      const offTrace = randomBytes(16).toString('hex');
      const res = await fetch(`${api.url}/api/v1/projects/${project}/functions/echo-py/invoke`, {
        method: 'POST',
        headers: {
          ...headers,
          traceparent: `00-${offTrace}-${callerSpanId}-01`,
          'x-hks-log': 'tail',
        },
        body: '{}',
      });
      expect(res.status).toBe(200);
      await res.text();
      expect(tailRecords(res.headers.get('x-hks-log-result'))[0]).toMatchObject({
        trace_id: offTrace,
      });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(collector.spans().filter((s) => s.traceId === offTrace)).toEqual([]);
      expect(api.output()).not.toContain('"component":"tracing"');
    } finally {
      await api.stop();
    }
  });
});

describe('a bad OTEL setting', () => {
  it('is logged as an error naming the variable, the value and what is expected; the API serves', async () => {
    const [port] = await freePorts(1);
    const url = `http://127.0.0.1:${port}`;
    const api = await startScript(
      'the API with a bad OTLP endpoint',
      'api/main.ts',
      [],
      {
        KUBECONFIG: await testApiKubeconfig(),
        PORT: String(port),
        HKS_JWT_SECRET: TEST_JWT_SECRET,
        HKS_RECORDER: 'off',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
        ...(await testStores()[0].env()),
      },
      async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true,
    );
    try {
      const line = api
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.component === 'tracing');
      expect(line).toMatchObject({
        level: 'error',
        msg: expect.stringContaining(
          'OTEL_EXPORTER_OTLP_ENDPOINT: given "collector:4318", expected an http:// or https:// URL',
        ),
      });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await api.stop();
    }
  });
});
