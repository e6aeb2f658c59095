import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiMetrics,
  FAAS_DURATION_BUCKETS,
  OTHER_FUNCTIONS,
  TEMPORARY_FUNCTIONS,
} from '../api/metrics';
import type { FunctionInvocation, InvocationStatus } from '../api/store/invocation-store';

const invocation = (
  fn: string,
  status: InvocationStatus = 'succeeded',
  extra: Partial<FunctionInvocation> = {},
): FunctionInvocation => ({
  id: 'id',
  project: 'metrics-unit',
  function: fn,
  trigger: 'http',
  startedAt: new Date().toISOString(),
  durationMs: 120,
  status,
  requestBytes: 0,
  ...extra,
});

/** The label sets of one metric's series (of a histogram: its `_count` series). */
async function seriesOf(metrics: ApiMetrics, name: string): Promise<Record<string, unknown>[]> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`metric ${name} is not registered`);
  const { values } = await metric.get();
  return values
    .filter((v) => {
      const series = (v as { metricName?: string }).metricName;
      return series === undefined || series.endsWith('_count');
    })
    .map((v) => v.labels);
}

test('the FaaS metrics carry the OpenTelemetry names, the spec’s buckets and bounded labels', async () => {
  const metrics = new ApiMetrics();
  metrics.invoked(invocation('greet'), { temporary: false, handlerMs: 3 });
  metrics.invoked(invocation('greet', 'failed'), { temporary: false });
  metrics.invoked(invocation('greet', 'client-gone'), { temporary: false });
  metrics.invoked(invocation('greet', 'timeout'), { temporary: false });
  const text = await metrics.registry.metrics();
  const labels = 'project="metrics-unit",faas_name="greet",faas_trigger="http"';
  expect(text).toContain(`faas_invocations_total{${labels}} 1`);
  expect(text).toContain(`faas_errors_total{${labels},error_type="failed"} 1`);
  expect(text).toContain(`faas_errors_total{${labels},error_type="client-gone"} 1`);
  expect(text).toContain(`faas_timeouts_total{${labels}} 1`);
  expect(text).toContain(`faas_invoke_duration_seconds_count{${labels}} 4`);
  // The runtime's 3 ms in the handler, not the API's 120 ms, for the one that had it.
  expect(text).toContain(`faas_invoke_duration_seconds_bucket{le="0.005",${labels}} 1`);
  const buckets = [...text.matchAll(/faas_invoke_duration_seconds_bucket\{le="([^"]+)",project/g)]
    .map((m) => m[1])
    .filter((le) => le !== '+Inf')
    .map(Number);
  expect(buckets).toEqual(FAAS_DURATION_BUCKETS);
  expect(FAAS_DURATION_BUCKETS).toEqual([
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
  ]);
});

test('1000 temporary functions make one series, not one each', async () => {
  const metrics = new ApiMetrics();
  for (let i = 0; i < 1000; i++) {
    const name = `exec-${i.toString(16).padStart(12, '0')}`;
    metrics.invoked(invocation(name, 'succeeded', { trigger: 'execute' }), { temporary: true });
    metrics.timeInvocation('metrics-unit', name, true)('success');
  }
  expect(await seriesOf(metrics, 'faas_invocations_total')).toEqual([
    { project: 'metrics-unit', faas_name: TEMPORARY_FUNCTIONS, faas_trigger: 'execute' },
  ]);
  expect(await seriesOf(metrics, 'faas_invoke_duration_seconds')).toHaveLength(1);
  expect(await seriesOf(metrics, 'hks_function_invocations_total')).toEqual([
    { project: 'metrics-unit', function: TEMPORARY_FUNCTIONS, outcome: 'success' },
  ]);
  expect((await metrics.registry.metrics()).includes('exec-')).toBe(false);
});

test('past maxFunctions a function is counted as (other); the ones admitted keep their name', async () => {
  const metrics = new ApiMetrics({ maxFunctions: 3 });
  for (const name of ['a', 'b', 'c', 'd', 'e'])
    metrics.invoked(invocation(name), { temporary: false });
  metrics.invoked(invocation('a'), { temporary: false });
  metrics.timeInvocation('metrics-unit', 'e')('error');
  metrics.timeInvocation('metrics-unit', 'b')('error');
  const names = (await seriesOf(metrics, 'faas_invocations_total')).map((l) => l.faas_name);
  expect(names).toEqual(['a', 'b', 'c', OTHER_FUNCTIONS]);
  const text = await metrics.registry.metrics();
  expect(text).toContain(
    `faas_invocations_total{project="metrics-unit",faas_name="${OTHER_FUNCTIONS}",faas_trigger="http"} 2`,
  );
  expect(text).toContain(
    'faas_invocations_total{project="metrics-unit",faas_name="a",faas_trigger="http"} 2',
  );
  expect(
    (await seriesOf(metrics, 'hks_function_invocations_total')).map((l) => l.function),
  ).toEqual([OTHER_FUNCTIONS, 'b']);
});

test('maxFunctions must be a whole number', () => {
  expect(() => new ApiMetrics({ maxFunctions: -1 })).toThrow(
    'maxFunctions: given -1, expected a whole number of functions, 0 or more',
  );
});

test('schedule lag is start − scheduled time of scheduled runs; recorder lag is now − completion', async () => {
  const metrics = new ApiMetrics();
  const now = Date.parse('2026-01-01T00:01:00Z');
  metrics.finished(
    {
      trigger: 'scheduled',
      scheduledAt: '2026-01-01T00:00:00Z',
      startedAt: '2026-01-01T00:00:03Z',
      completedAt: '2026-01-01T00:00:58Z',
    },
    now,
  );
  // A manual run has no schedule to lag behind; one deleted before it ended, no completion.
  metrics.finished({ trigger: 'manual', startedAt: '2026-01-01T00:00:03Z' }, now);
  const text = await metrics.registry.metrics();
  expect(text).toContain('hks_schedule_lag_seconds_sum 3');
  expect(text).toContain('hks_schedule_lag_seconds_count 1');
  expect(text).toContain('hks_recorder_lag_seconds_sum 2');
  expect(text).toContain('hks_recorder_lag_seconds_count 1');
});

test('every metric the Grafana dashboard queries is one the API registers', async () => {
  const dashboard = JSON.parse(
    readFileSync(join(__dirname, '..', 'docs', 'grafana-dashboard.json'), 'utf8'),
  ) as {
    panels: { targets: { expr: string }[] }[];
    templating: { list: { definition?: string }[] };
  };
  const expressions = [
    ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ...dashboard.templating.list.flatMap((v) => (v.definition ? [v.definition] : [])),
  ];
  // The metric names: identifiers left once groupings, selectors and ranges are taken out,
  // except function calls.
  const queried = new Set(
    expressions.flatMap((e) =>
      [
        ...e
          // Grafana's label_values(metric, label): the label is not a metric.
          .replace(/label_values\(([^,)]+),[^)]*\)/g, '$1')
          .replace(/\b(by|without)\s*\([^)]*\)/g, '')
          .replace(/\{[^}]*\}|\[[^\]]*\]/g, '')
          .matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g),
      ].map((m) => m[1].replace(/_(bucket|count|sum)$/, '')),
    ),
  );
  const registered = new Set(
    (await new ApiMetrics().registry.getMetricsAsJSON()).map((m) => m.name),
  );
  expect(queried.size).toBeGreaterThanOrEqual(8);
  expect([...queried].filter((name) => !registered.has(name))).toEqual([]);
});
