import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { AgentExecutionRecord } from '../../api/store/agent-executions';
import type { FunctionInvocation } from '../../api/store/invocation-store';
import { kubectlJson, kubectlOk } from '../cluster/kubectl';
import { waitFor } from '../cluster/wait';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import {
  ApiProcess,
  internalToken,
  metricsText,
  projectRequest,
  startApi,
  testStores,
  TEST_JWT_SECRET,
} from './api-process';

jest.setTimeout(240_000);

/**
 * What is recorded of a streamed execute (`Accept: text/event-stream`), whose response is a
 * 200 before the outcome is known: the audit trail, the function invocation history and the
 * FaaS metrics carry the outcome of its result event — failed, timeout, succeeded — as they do
 * for the same code unstreamed; a client that goes mid-run has its code stopped and is
 * recorded as gone. Real API processes on SQLite and PostgreSQL, the Knative stand-in running
 * the real Python runtime.
 */
const prefix = `sr${randomBytes(2).toString('hex')}-`;
const PROJECT = 'streamrecords';
const TEMPORARY = `project="${PROJECT}",faas_name="(temporary)",faas_trigger="execute"`;
let standIn: StandInProcess;

const CODE = {
  raises: 'def handler(event):\n    print("dividing", flush=True)\n    return 1 / event["by"]\n',
  timeout:
    'import time\n\ndef handler(event):\n    print("sleeping", flush=True)\n    time.sleep(60)\n    return 1\n',
  succeeds:
    'def handler(event):\n    print("adding", flush=True)\n    return {"sum": event["a"] + event["b"]}\n',
} as const;

type Case = keyof typeof CODE;
const INPUT: Record<Case, unknown> = { raises: { by: 0 }, timeout: {}, succeeds: { a: 2, b: 3 } };
const TIMEOUT_SECONDS: Record<Case, number> = { raises: 30, timeout: 2, succeeds: 30 };
const EXPECTED: Record<
  Case,
  { status: string; invocation: string; httpStatus: number; errorType?: string; metric: string }
> = {
  raises: {
    status: 'failed',
    invocation: 'failed',
    httpStatus: 500,
    errorType: 'ZeroDivisionError',
    metric: `faas_errors_total{${TEMPORARY},error_type="failed"}`,
  },
  timeout: {
    status: 'timeout',
    invocation: 'timeout',
    httpStatus: 504,
    errorType: 'Timeout',
    metric: `faas_timeouts_total{${TEMPORARY}}`,
  },
  succeeds: {
    status: 'succeeded',
    invocation: 'succeeded',
    httpStatus: 200,
    metric: `faas_invocations_total{${TEMPORARY}}`,
  },
};

/** The value of one series (`name{labels}`) in a scrape, 0 when it has none. */
function seriesValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** The events of a Server-Sent Events body, `onEvent` told of each as it arrives. */
async function readEvents(
  response: Response,
  onEvent: (event: string, data: Record<string, unknown>) => void = () => undefined,
): Promise<{ event: string; data: Record<string, unknown>; raw: string }[]> {
  const events: { event: string; data: Record<string, unknown>; raw: string }[] = [];
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = pending.indexOf('\n\n')) >= 0) {
      const lines = pending.slice(0, end).split('\n');
      pending = pending.slice(end + 2);
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
      const raw = lines.find((l) => l.startsWith('data: '))?.slice(6);
      if (event === undefined || raw === undefined) continue;
      events.push({ event, raw, data: JSON.parse(raw) as Record<string, unknown> });
      onEvent(event, events.at(-1)!.data);
    }
  }
  return events;
}

/** Knative Services of the project's namespace. */
async function services(): Promise<string[]> {
  const list = await kubectlJson<{ items: { metadata: { name: string } }[] }>([
    'get',
    'services.serving.knative.dev',
    '-n',
    `${prefix}${PROJECT}`,
  ]);
  return list.items.map((s) => s.metadata.name);
}

beforeAll(async () => {
  standIn = await startStandIn(prefix);
}, 120_000);

afterAll(async () => {
  await standIn?.stop();
  await kubectlOk([
    'delete',
    'namespace',
    `${prefix}${PROJECT}`,
    '--wait=false',
    '--ignore-not-found',
  ]);
});

describe.each(testStores().map((s, i) => ({ ...s, first: i === 0 })))(
  'records of a streamed execute ($name store)',
  ({ env, first }) => {
    let api: ApiProcess;
    let internal: string;
    let admin: string;

    beforeAll(async () => {
      api = await startApi({
        ...(await env()),
        HKS_NAMESPACE_PREFIX: prefix,
        HKS_RECORDER: 'off',
        HKS_JANITOR_INTERVAL_SECONDS: '0',
      });
      internal = await internalToken([PROJECT]);
      admin = await new SignJWT({ projects: [PROJECT], admin: [PROJECT] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('stream-records-auditor')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    }, 120_000);

    afterAll(async () => {
      await api?.stop();
    });

    function execute(
      body: unknown,
      requestId: string,
      streamed: boolean,
      signal?: AbortSignal,
    ): Promise<Response> {
      return fetch(`${api.url}/internal/v1/operations/execute`, {
        method: 'POST',
        signal,
        headers: {
          authorization: `Bearer ${internal}`,
          'content-type': 'application/json',
          'x-request-id': requestId,
          ...(streamed ? { accept: 'text/event-stream' } : {}),
        },
        body: JSON.stringify(body),
      });
    }

    const adminGet = (path: string) =>
      projectRequest(api, PROJECT, { authorization: `Bearer ${admin}` }, 'GET', path);

    /** The audit record of the call with `requestId`, once it is no longer running. */
    async function auditRecord(requestId: string): Promise<AgentExecutionRecord> {
      let found: AgentExecutionRecord | undefined;
      await waitFor(`the audit record of ${requestId}`, 30_000, async () => {
        const list = await adminGet('/agent-executions?kind=execute&limit=100');
        const items = list.json.items as AgentExecutionRecord[];
        found = items.find((r) => r.requestId === requestId && r.status !== 'running');
        return found !== undefined;
      });
      return found!;
    }

    /** The one invocation of the temporary function `id` in the history, with its logs. */
    async function invocationOf(id: string): Promise<FunctionInvocation> {
      let found: FunctionInvocation | undefined;
      await waitFor(`the invocation of ${id} in the history`, 30_000, async () => {
        const page = await adminGet(`/functions/${id}/invocations`);
        const items = (page.json.items ?? []) as FunctionInvocation[];
        found = items[0];
        return items.length === 1;
      });
      const one = await adminGet(`/functions/${id}/invocations/${found!.id}`);
      expect(one.status).toBe(200);
      return one.json as unknown as FunctionInvocation;
    }

    /** What two records of the same code must share, streamed or not. */
    function outcomeOf(invocation: FunctionInvocation) {
      return {
        trigger: invocation.trigger,
        status: invocation.status,
        httpStatus: invocation.httpStatus,
        responseBytes: invocation.responseBytes,
        errorType: invocation.error?.type,
        logs: invocation.logs,
      };
    }

    test.each(['raises', 'timeout', 'succeeds'] as const)(
      'streamed code that %s: the audit, the history and /metrics say what its result says',
      async (which) => {
        const expected = EXPECTED[which];
        const body = {
          runtime: 'python3.12',
          code: CODE[which],
          input: INPUT[which],
          timeoutSeconds: TIMEOUT_SECONDS[which],
        };
        const before = await metricsText(api);
        const requestId = `records-${which}-${randomBytes(3).toString('hex')}`;
        const response = await execute(body, requestId, true);
        expect(response.status).toBe(200);
        const events = await readEvents(response);
        const result = events.at(-1)!;
        expect(result.event).toBe('result');
        expect(result.data.status).toBe(expected.status);
        const id = String(result.data.id);

        const audit = await auditRecord(requestId);
        expect(audit).toMatchObject({
          kind: 'execute',
          status: expected.status,
          httpStatus: 200,
          executionId: id,
          // The result event's data is the JSON an unstreamed call answers.
          outputBytes: Buffer.byteLength(result.raw),
        });
        if (expected.errorType) expect(audit.errorTitle).toBe(expected.errorType);
        else expect(audit.errorTitle ?? undefined).toBeUndefined();
        expect(audit.durationMs).toBeGreaterThanOrEqual(Number(result.data.durationMs) - 1);

        const invocation = await invocationOf(id);
        expect(invocation).toMatchObject({
          trigger: 'execute',
          status: expected.invocation,
          httpStatus: expected.httpStatus,
        });
        expect(invocation.error?.type).toBe(expected.errorType);
        expect(invocation.logs).toContain(String(result.data.stdout).split('\n')[0]);
        expect(invocation.responseBytes).toBeGreaterThan(0);
        // The call's time, not the moment the stream's 200 arrived.
        if (which === 'timeout') expect(invocation.durationMs).toBeGreaterThanOrEqual(2000);

        let after = '';
        await waitFor(`${expected.metric} to count the call`, 10_000, async () => {
          after = await metricsText(api);
          return seriesValue(after, expected.metric) === seriesValue(before, expected.metric) + 1;
        });
        const others = Object.values(EXPECTED).filter((e) => e.metric !== expected.metric);
        for (const other of others)
          expect(seriesValue(after, other.metric)).toBe(seriesValue(before, other.metric));
        const outcome = { raises: 'error', timeout: 'timeout', succeeds: 'success' }[which];
        const deprecated = `hks_function_invocations_total{project="${PROJECT}",function="(temporary)",outcome="${outcome}"}`;
        expect(seriesValue(after, deprecated)).toBe(seriesValue(before, deprecated) + 1);
        console.log(
          `${which}: audit ${audit.status} ${audit.errorTitle ?? '-'} ${audit.outputBytes} B ${Math.round(audit.durationMs ?? 0)} ms; history ${invocation.status} ${invocation.httpStatus} ${invocation.error?.type ?? '-'} ${invocation.responseBytes} B ${invocation.durationMs} ms`,
        );

        if (!first) return;
        // The same code unstreamed: the same records.
        const plainId = `records-plain-${which}-${randomBytes(3).toString('hex')}`;
        const plain = await execute(body, plainId, false);
        expect(plain.status).toBe(200);
        const plainText = await plain.text();
        const plainResult = JSON.parse(plainText) as { id: string; status: string };
        expect(plainResult.status).toBe(expected.status);
        const plainAudit = await auditRecord(plainId);
        expect(plainAudit).toMatchObject({ status: audit.status, httpStatus: audit.httpStatus });
        expect(plainAudit.errorTitle).toBe(audit.errorTitle);
        expect(plainAudit.outputBytes).toBe(Buffer.byteLength(plainText));
        expect(outcomeOf(await invocationOf(plainResult.id))).toEqual(outcomeOf(invocation));
      },
    );

    test('a client that goes mid-run: its code stops, the records say client gone', async () => {
      const folder = mkdtempSync(join(tmpdir(), 'hks-stream-records-'));
      // The runtime's process runs as another user.
      chmodSync(folder, 0o777);
      const ticks = join(folder, 'ticks');
      // Appends to a file of the host (the stand-in runs the runtime as a process here).
      const code =
        'import time\n\ndef handler(event):\n    print("started", flush=True)\n    while True:\n        with open(event["ticks"], "a") as f:\n            f.write(".")\n        time.sleep(0.2)\n';
      const before = await metricsText(api);
      const requestId = `records-gone-${randomBytes(3).toString('hex')}`;
      const controller = new AbortController();
      const response = await execute(
        { runtime: 'python3.12', code, input: { ticks }, timeoutSeconds: 120 },
        requestId,
        true,
        controller.signal,
      );
      let printed!: () => void;
      const started = new Promise<void>((resolve) => (printed = resolve));
      const seen: string[] = [];
      const reading = readEvents(response, (event, data) => {
        seen.push(`${event} ${JSON.stringify(data)}`);
        if (event === 'output') printed();
      }).catch((error: unknown) => error);
      await started;
      const id = (await services()).find((n) => n.startsWith('exec-'))!;
      if (id === undefined) console.log(seen);
      expect(id).toBeDefined();
      controller.abort();
      await reading;
      await waitFor('the temporary function to be deleted', 20_000, async () =>
        (await services()).every((s) => s !== id),
      );

      const invocation = await invocationOf(id);
      expect(invocation).toMatchObject({ status: 'client-gone', error: { type: 'ClientGone' } });
      const audit = await auditRecord(requestId);
      expect(audit).toMatchObject({ status: 'disconnected', errorTitle: 'Client gone' });
      const goneMetric = `faas_errors_total{${TEMPORARY},error_type="client-gone"}`;
      await waitFor('the client-gone call in the metrics', 10_000, async () => {
        const text = await metricsText(api);
        return seriesValue(text, goneMetric) === seriesValue(before, goneMetric) + 1;
      });

      // The code has stopped: its file no longer grows (it grew every 0.2 s).
      let size = -1;
      await waitFor('the code to stop writing', 30_000, async () => {
        const now = statSync(ticks).size;
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const later = statSync(ticks).size;
        size = later;
        return now === later;
      });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(readFileSync(ticks, 'utf8').length).toBe(size);
      console.log(
        `client gone: history ${invocation.status} after ${invocation.durationMs} ms, audit ${audit.status}; the code wrote ${size} ticks`,
      );
    });
  },
);
