/**
 * The OpenTelemetry Collector of the tracing tests: a distribution of our own
 * (test/cluster/go/otelcol: the OTLP receiver, the batch processor and the contrib file
 * exporter) built from Go modules into the test cluster's cache like the control plane's
 * binaries, then started on a free loopback port with its config and its JSON output in a
 * temporary folder. `tsx test/support/otel-collector.ts build` builds it ahead (.ci/run does,
 * in the background).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Component, moduleDir } from '../cluster/components';
import { type Log, stderrLog } from '../cluster/log';
import { buildFromCommandLine, ensureGoTool, stopChild, waitUntilReady } from './go-tool';
import { freePorts } from './own-cluster';

/**
 * The collector, at one release of every collector module (the contrib file exporter passes
 * at v0.161.0). Built from its own main.go, so the cache folder names a hash of that file and
 * of go.mod: an edit rebuilds it.
 */
export const otelCollector: Component = {
  name: `otelcol-${createHash('sha256')
    .update(readFileSync(join(__dirname, '..', 'cluster', 'go', 'otelcol', 'main.go')))
    .update(readFileSync(join(__dirname, '..', 'cluster', 'go', 'otelcol', 'go.mod')))
    .digest('hex')
    .slice(0, 12)}`,
  wrapper: 'otelcol',
  version: 'v0.161.0',
  module: 'go.opentelemetry.io/collector/otelcol',
  packages: [{ pkg: '.', binary: 'otelcol' }],
  linkerVariables: {},
};

/**
 * Builds the collector unless cached (about 3 min cold on 2 busy cores). One build at a time on
 * the machine: a test started while .ci/run's background build runs waits for it.
 * @returns the binary's path
 */
export async function ensureOtelCollector(log: Log = stderrLog): Promise<string> {
  if (!existsSync(moduleDir(otelCollector))) throw new Error('test/cluster/go/otelcol is missing');
  return ensureGoTool(otelCollector, 'otelcol', 'otelcol-build', log);
}

/** One span as the file exporter writes it (OTLP JSON: ids in hex, times in nanoseconds). */
export interface ExportedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  /** 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly startTimeUnixNano: string;
  readonly endTimeUnixNano: string;
  /** The span's attributes, flattened to their values. */
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  readonly status?: { readonly code?: number; readonly message?: string };
  /** The `service.name` of the span's resource. */
  readonly service: string;
}

/** A running collector of a test. */
export interface RunningCollector {
  /** `http://127.0.0.1:<port>`: OTEL_EXPORTER_OTLP_ENDPOINT for OTLP over HTTP. */
  readonly endpoint: string;
  /** The JSON lines file the file exporter writes. */
  readonly outputFile: string;
  /** The config it was started with (YAML). */
  readonly config: string;
  /** Its own log. */
  readonly logFile: string;
  /** Every span written so far. */
  spans(): ExportedSpan[];
  /** Waits until `found` holds for the spans written so far (the exporter flushes each second). */
  waitFor<T>(found: (spans: ExportedSpan[]) => T | undefined, timeoutMs?: number): Promise<T>;
  /** Stops it (SIGTERM, then SIGKILL after 5 s) and removes its folder. */
  stop(): Promise<void>;
}

/** The collector's config: OTLP over HTTP on `port`, traces batched into a JSON lines file. */
export function collectorConfig(port: number, outputFile: string): string {
  return [
    'receivers:',
    '  otlp:',
    '    protocols:',
    '      http:',
    `        endpoint: 127.0.0.1:${port}`,
    'processors:',
    '  batch:',
    '    timeout: 200ms',
    'exporters:',
    '  file:',
    `    path: ${JSON.stringify(outputFile)}`,
    '    format: json',
    '    flush_interval: 200ms',
    'service:',
    '  telemetry:',
    // No metrics of its own: they would listen on :8888, which parallel tests share.
    '    metrics:',
    '      level: none',
    '    logs:',
    '      level: info',
    '  pipelines:',
    '    traces:',
    '      receivers: [otlp]',
    '      processors: [batch]',
    '      exporters: [file]',
    '',
  ].join('\n');
}

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
};
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: { key: string; value: AnyValue }[];
  status?: { code?: number; message?: string };
}
interface OtlpLine {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: AnyValue }[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

function valueOf(value: AnyValue): string | number | boolean {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  return value.boolValue ?? '';
}

function flatten(attributes: { key: string; value: AnyValue }[] = []) {
  return Object.fromEntries(attributes.map(({ key, value }) => [key, valueOf(value)]));
}

/** The spans of the file exporter's JSON lines (one ExportTraceServiceRequest a line). */
export function parseExportedSpans(text: string): ExportedSpan[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      const request = JSON.parse(line) as OtlpLine;
      return (request.resourceSpans ?? []).flatMap((resourceSpans) => {
        const service = String(flatten(resourceSpans.resource?.attributes)['service.name'] ?? '');
        return (resourceSpans.scopeSpans ?? []).flatMap((scope) =>
          (scope.spans ?? []).map((span) => ({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId || undefined,
            name: span.name,
            kind: span.kind,
            startTimeUnixNano: span.startTimeUnixNano,
            endTimeUnixNano: span.endTimeUnixNano,
            attributes: flatten(span.attributes),
            status: span.status,
            service,
          })),
        );
      });
    });
}

/** Starts the collector on a free loopback port; resolves once it accepts OTLP requests. */
export async function startOtelCollector(): Promise<RunningCollector> {
  const binary = await ensureOtelCollector();
  const dir = mkdtempSync(join(tmpdir(), 'hks-otelcol-'));
  const [port] = await freePorts(1);
  const outputFile = join(dir, 'traces.jsonl');
  const config = collectorConfig(port, outputFile);
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, config);
  const logFile = join(dir, 'otelcol.log');
  const out = openSync(logFile, 'a');
  const child = spawn(binary, ['--config', configFile], { stdio: ['ignore', out, out] });
  const endpoint = `http://127.0.0.1:${port}`;
  const spans = () =>
    existsSync(outputFile) ? parseExportedSpans(readFileSync(outputFile, 'utf8')) : [];
  const stop = async () => {
    await stopChild(child);
    // HKS_OTELCOL_KEEP=<file>: a copy of what it wrote (docs/tracing.md's example comes from one).
    if (process.env.HKS_OTELCOL_KEEP && existsSync(outputFile))
      copyFileSync(outputFile, process.env.HKS_OTELCOL_KEEP);
    rmSync(dir, { recursive: true, force: true });
  };
  const waitFor = async <T>(
    found: (spans: ExportedSpan[]) => T | undefined,
    timeoutMs = 20_000,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = found(spans());
      if (result !== undefined) return result;
      if (Date.now() > deadline) {
        throw new Error(
          `the collector wrote no matching spans within ${timeoutMs / 1000} s; it has ${spans()
            .map((s) => `${s.service}: ${s.name}`)
            .join(', ')}`,
        );
      }
      await sleep(200);
    }
  };
  try {
    await waitUntilReady('the collector', () => acceptsExports(endpoint), child, logFile);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, outputFile, config, logFile, spans, waitFor, stop };
}

/** Whether the OTLP receiver answers an empty export. */
function acceptsExports(endpoint: string): Promise<boolean> {
  return fetch(`${endpoint}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  }).then(
    (response) => response.ok,
    () => false,
  );
}

if (require.main === module && process.argv[2] === 'build')
  buildFromCommandLine(ensureOtelCollector);
