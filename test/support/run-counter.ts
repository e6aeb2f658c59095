import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One run of a function as it reported itself. */
export interface ReportedRun {
  /** The caller's item number (from the function's event). */
  readonly n: number;
  /** The function's `context.request_id`. */
  readonly requestId: string;
  /** This run's serial number, what the function answers with when it succeeds. */
  readonly serial: number;
  /** When the run reported, `Date.now()`. */
  readonly at: number;
  /** Whether it was told to fail. */
  readonly fail: boolean;
}

/** A function's runs counted by an HTTP server of the test, which also decides who fails. */
export interface RunCounter {
  readonly url: string;
  readonly runs: ReportedRun[];
  close(): Promise<void>;
}

/** mulberry32: a small seeded generator, so that a run's failures are the same each time. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Starts the counter on 127.0.0.1. A function POSTs `{n, requestId}` to it before it answers;
 * the answer `{fail, serial}` says whether this run fails (`failRate` of the runs, drawn from
 * a generator seeded with `seed`).
 */
export async function startRunCounter(failRate = 0, seed = 17): Promise<RunCounter> {
  const runs: ReportedRun[] = [];
  const random = seeded(seed);
  const server: Server = createServer((req, res) => {
    void readJson(req).then((body) => {
      const fail = random() < failRate;
      const run = {
        n: Number(body.n),
        requestId: String(body.requestId),
        serial: runs.length + 1,
        at: Date.now(),
        fail,
      };
      runs.push(run);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ fail, serial: run.serial }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/run`,
    runs,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

/**
 * Python source of a function that reports each run to a {@link RunCounter} (its URL in the
 * event's `counter`) and fails with 500 when told to, else answers `{n, serial}`.
 */
export const COUNTED_FUNCTION_CODE = [
  'import json, urllib.request',
  '',
  'def handler(event, context):',
  '    request = urllib.request.Request(event["counter"], data=json.dumps({"n": event["n"], "requestId": context.request_id}).encode(), headers={"content-type": "application/json"})',
  '    with urllib.request.urlopen(request, timeout=10) as answer:',
  '        told = json.loads(answer.read())',
  '    if told["fail"]:',
  '        return {"statusCode": 500, "body": {"n": event["n"], "failed": told["serial"]}}',
  '    return {"n": event["n"], "serial": told["serial"]}',
  '',
].join('\n');
