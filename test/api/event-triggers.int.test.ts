import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  connect,
  headers as natsHeaders,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
} from 'nats';
import { PROJECT_METADATA_KEY } from '../../api/event-triggers';
import { API_VERSION } from '../../constructs';
import { sleep, waitFor } from '../cluster/wait';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import { type RunningNatsServer, startNatsServer } from '../support/nats-server';
import { ApiProcess, projectRequest, startApi, testStores, token } from './api-process';

jest.setTimeout(600_000);

/**
 * NATS JetStream triggers through two real API processes sharing one store, a real nats-server
 * (built from its Go module) and functions run by the Knative stand-in: every message invokes
 * the function once across both replicas as a binary-mode CloudEvent, a failing one is
 * redelivered with its backoff, one failing every attempt is dead-lettered after maxDeliver,
 * a removed trigger stops and a re-applied one resumes, and bad triggers are refused naming
 * the field.
 */

const prefix = `n${randomBytes(2).toString('hex')}-`;
const STREAM = 'HKSEVT';
const DEAD_STREAM = 'HKSEVTDEAD';

/**
 * The function reports each call to the test's recorder: its request id, the request headers
 * its runtime received (read from the serving thread's request: handlers are not given
 * headers) and the message; the recorder answers whether this call fails.
 */
const RECORDING_CODE = (recorder: string) =>
  [
    'import json, sys, urllib.request',
    '',
    'def request_headers(request_id):',
    '    for frame in list(sys._current_frames().values()):',
    '        while frame is not None:',
    '            h = getattr(frame.f_locals.get("self"), "headers", None)',
    '            if h is not None and hasattr(h, "items") and h.get("X-Request-Id") == request_id:',
    '                return {k.lower(): v for k, v in h.items()}',
    '            frame = frame.f_back',
    '    return {}',
    '',
    'def handler(event, context):',
    '    report = {"requestId": context.request_id, "event": event, "cloudEvent": context.cloud_event, "headers": request_headers(context.request_id)}',
    `    req = urllib.request.Request(${JSON.stringify(recorder)}, data=json.dumps(report).encode(), headers={"content-type": "application/json"})`,
    '    answer = json.loads(urllib.request.urlopen(req, timeout=10).read())',
    '    if answer["fail"]:',
    '        return {"statusCode": 500, "body": {"failed": event.get("n")}}',
    '    return {"ok": event.get("n")}',
    '',
  ].join('\n');

interface Call {
  readonly requestId: string;
  readonly event: { n: number; mode: string };
  /** The attributes the handler's context gives it. */
  readonly cloudEvent: Record<string, string> | null;
  readonly headers: Record<string, string>;
  readonly failed: boolean;
}

/** Records the function's calls; `flaky` messages fail their first 2 calls, `fail` every call. */
async function startRecorder(): Promise<{ url: string; calls: Call[]; close(): Promise<void> }> {
  const calls: Call[] = [];
  const server: Server = createServer((req, res) => {
    void readJson(req).then((body) => {
      const report = body as Omit<Call, 'failed'>;
      const before = calls.filter((c) => c.event.n === report.event.n).length;
      const failed = report.event.mode === 'fail' || (report.event.mode === 'flaky' && before < 2);
      calls.push({ ...report, failed });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ fail: failed }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const natsTrigger = (durable: string, extra: Record<string, unknown> = {}) => ({
  nats: {
    subject: 'hks-evt.orders.*',
    stream: STREAM,
    durable,
    maxDeliver: 3,
    backoffSeconds: [1],
    deadLetterSubject: 'hks-evt-dead.orders',
    ...extra,
  },
});

const fn = (project: string, name: string, code: string, triggers?: unknown[]) => ({
  apiVersion: API_VERSION,
  kind: 'Function',
  metadata: { name, project },
  spec: { runtime: 'python3.12', code, ...(triggers ? { triggers } : {}) },
});

describe.each(testStores())('event triggers (store: $name)', (store) => {
  const project = `${prefix}${store.name.slice(0, 2)}`;
  let nats: RunningNatsServer;
  let standIn: StandInProcess;
  let apis: ApiProcess[] = [];
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let recorder: Awaited<ReturnType<typeof startRecorder>>;
  let headers: Record<string, string>;
  const request = (method: string, path: string, body?: unknown, api = apis[0]) =>
    projectRequest(api, project, headers, method, path, body);

  beforeAll(async () => {
    [nats, standIn, recorder] = await Promise.all([
      startNatsServer(),
      startStandIn(prefix),
      startRecorder(),
    ]);
    nc = await connect({ servers: nats.url });
    js = nc.jetstream();
    jsm = await nc.jetstreamManager();
    // The operator grants each stream to a project (stream-grants.ts).
    const grantedTo = (owner: string) => ({ [PROJECT_METADATA_KEY]: owner });
    await jsm.streams.add({ name: STREAM, subjects: ['hks-evt.>'], metadata: grantedTo(project) });
    await jsm.streams.add({
      name: DEAD_STREAM,
      subjects: ['hks-evt-dead.>'],
      metadata: grantedTo(project),
    });
    await jsm.streams.add({
      name: 'HKSOTHER',
      subjects: ['hks-other.>'],
      metadata: grantedTo(`${project}-other`),
    });
    await jsm.streams.add({ name: 'HKSNOGRANT', subjects: ['hks-nogrant.>'] });
    const env = {
      ...(await store.env()),
      HKS_NAMESPACE_PREFIX: prefix,
      HKS_NATS_URL: nats.url,
      HKS_EVENT_TRIGGER_RECONCILE_MS: '500',
    };
    // The first creates the store's tables; the second starts on them.
    apis = [await startApi(env)];
    apis.push(await startApi(env));
    headers = {
      authorization: `Bearer ${await token([project])}`,
      'content-type': 'application/json',
    };
  });

  afterAll(async () => {
    await Promise.all(apis.map((api) => api.stop()));
    await nc?.close();
    await Promise.all([nats?.stop(), standIn?.stop(), recorder?.close()]);
  });

  const publish = async (subject: string, event: unknown, extra: Record<string, string> = {}) => {
    const h = natsHeaders();
    h.set('content-type', 'application/json');
    for (const [name, value] of Object.entries(extra)) h.set(name, value);
    return js.publish(subject, JSON.stringify(event), { headers: h });
  };
  const callsOf = (n: number) => recorder.calls.filter((c) => c.event.n === n);

  test('each message invokes the function once across both replicas, as a CloudEvent', async () => {
    const res = await request(
      'POST',
      '/applications',
      fn(project, 'orders', RECORDING_CODE(recorder.url), [natsTrigger('orders-fn')]),
      apis[1],
    );
    expect(res.status).toBe(201);
    await waitFor('orders ready', 120_000, async () => {
      const got = await request('GET', '/functions/orders');
      return got.status === 200 && got.json.ready === true;
    });
    const count = 20;
    const acks = [];
    for (let n = 1; n <= count; n++)
      acks.push(
        await publish(
          'hks-evt.orders.created',
          { n, mode: 'ok' },
          {
            'Nats-Msg-Id': `order-${n}`,
            'X-Order-Source': 'shop',
            Authorization: 'Bearer not-for-the-function',
          },
        ),
      );
    await waitFor(`${count} calls`, 120_000, async () =>
      Array.from({ length: count }, (_, i) => callsOf(i + 1).length).every((c) => c >= 1),
    );
    // Time for a double delivery to show, had there been one.
    await sleep(3000);
    for (let n = 1; n <= count; n++) expect(callsOf(n)).toHaveLength(1);

    const [call] = callsOf(7);
    expect(call.headers).toMatchObject({
      'ce-specversion': '1.0',
      'ce-id': 'order-7',
      'ce-source': `nats://${STREAM}/hks-evt.orders.created`,
      'ce-type': 'io.nats.jetstream.message',
      'ce-subject': 'hks-evt.orders.created',
      'ce-natsstream': STREAM,
      'ce-natssequence': String(acks[6].seq),
      'ce-natsdelivery': '1',
      'content-type': 'application/json',
      'x-order-source': 'shop',
    });
    expect(Date.parse(call.headers['ce-time'])).toBeGreaterThan(Date.now() - 600_000);
    expect(call.headers.authorization).toBeUndefined();
    // The handler reads the same attributes from its context.
    expect(call.cloudEvent).toMatchObject({
      specversion: '1.0',
      id: 'order-7',
      source: `nats://${STREAM}/hks-evt.orders.created`,
      type: 'io.nats.jetstream.message',
      subject: 'hks-evt.orders.created',
      datacontenttype: 'application/json',
    });

    // Acknowledged: nothing pending or waiting for an ack on the durable consumer.
    const info = await jsm.consumers.info(STREAM, 'orders-fn');
    expect(info.num_pending).toBe(0);
    expect(info.num_ack_pending).toBe(0);
    // Recorded in the history as event invocations.
    const history = await request('GET', '/functions/orders/invocations?trigger=event&limit=100');
    expect(history.status).toBe(200);
    const items = history.json.items as { id: string; status: string }[];
    expect(items.filter((i) => i.status === 'succeeded').length).toBeGreaterThanOrEqual(count);
    expect(items.map((i) => i.id)).toContain(call.requestId);
  });

  test('a message failing twice is redelivered with its backoff and then succeeds', async () => {
    await publish('hks-evt.orders.updated', { n: 100, mode: 'flaky' });
    await waitFor('3 calls of the flaky message', 60_000, async () => callsOf(100).length >= 3);
    await sleep(2500);
    const calls = callsOf(100);
    expect(calls.map((c) => c.failed)).toEqual([true, true, false]);
    expect(calls.map((c) => c.headers['ce-natsdelivery'])).toEqual(['1', '2', '3']);
    // One event id, one history id per attempt.
    expect(new Set(calls.map((c) => c.headers['ce-id'])).size).toBe(1);
    expect(new Set(calls.map((c) => c.requestId)).size).toBe(3);
    const info = await jsm.consumers.info(STREAM, 'orders-fn');
    expect(info.num_ack_pending).toBe(0);
  });

  test('a message failing every attempt is dead-lettered after maxDeliver', async () => {
    const published = await publish(
      'hks-evt.orders.created',
      { n: 200, mode: 'fail' },
      { 'X-Order-Source': 'shop' },
    );
    await waitFor('3 calls of the failing message', 60_000, async () => callsOf(200).length >= 3);
    const dead = await waitForDeadLetter();
    expect(callsOf(200)).toHaveLength(3);
    expect(JSON.parse(dead.data)).toEqual({ n: 200, mode: 'fail' });
    expect(dead.headers).toMatchObject({
      'Hks-Project': project,
      'Hks-Function': 'orders',
      'Hks-Stream': STREAM,
      'Hks-Subject': 'hks-evt.orders.created',
      'Hks-Stream-Sequence': String(published.seq),
      'Hks-Attempts': '3',
      'X-Order-Source': 'shop',
    });
    expect(dead.headers['Hks-Failure']).toContain('500');
    // Terminated: not delivered again.
    await sleep(3000);
    expect(callsOf(200)).toHaveLength(3);
    const history = await request(
      'GET',
      '/functions/orders/invocations?trigger=event&status=failed',
    );
    const failed = history.json.items as { id: string }[];
    for (const call of callsOf(200)) expect(failed.map((i) => i.id)).toContain(call.requestId);
  });

  async function waitForDeadLetter(): Promise<{ data: string; headers: Record<string, string> }> {
    let found: { data: string; headers: Record<string, string> } | undefined;
    await waitFor('a dead letter', 30_000, async () => {
      const info = await jsm.streams.info(DEAD_STREAM);
      if (info.state.messages === 0) return false;
      const message = await jsm.streams.getMessage(DEAD_STREAM, { seq: info.state.last_seq });
      const h: Record<string, string> = {};
      for (const name of message.header.keys()) h[name] = message.header.get(name);
      found = { data: new TextDecoder().decode(message.data), headers: h };
      return true;
    });
    return found as { data: string; headers: Record<string, string> };
  }

  test('a removed trigger stops its consumer; applied again, it resumes', async () => {
    const code = RECORDING_CODE(recorder.url);
    const removed = await request('PUT', '/applications/orders', fn(project, 'orders', code));
    expect(removed.status).toBe(200);
    // Both replicas read the applied triggers every 0.5 s.
    await sleep(3000);
    await publish('hks-evt.orders.created', { n: 300, mode: 'ok' });
    await sleep(4000);
    expect(callsOf(300)).toHaveLength(0);
    const again = await request(
      'PUT',
      '/applications/orders',
      fn(project, 'orders', code, [natsTrigger('orders-fn')]),
    );
    expect(again.status).toBe(200);
    await waitFor('the message published meanwhile', 60_000, async () => callsOf(300).length >= 1);
    await sleep(2000);
    expect(callsOf(300)).toHaveLength(1);
  });

  test.each([
    [
      'a subject with a space',
      { subject: 'hks-evt.orders created' },
      'spec.triggers[0].nats.subject',
      'hks-evt.orders created',
    ],
    ['a > that is not last', { subject: 'hks-evt.>.x' }, 'spec.triggers[0].nats.subject', '>'],
    ['a stream name with a dot', { stream: 'HKS.EVT' }, 'spec.triggers[0].nats.stream', 'HKS.EVT'],
    ['maxDeliver 0', { maxDeliver: 0 }, 'spec.triggers[0].nats.maxDeliver', '1'],
    [
      'a dead-letter subject the trigger matches',
      { deadLetterSubject: 'hks-evt.orders.dead' },
      'spec.triggers[0].nats.deadLetterSubject',
      'hks-evt.orders.dead',
    ],
    [
      'a stream the server does not have',
      { stream: 'NOSUCH' },
      'spec.triggers[0].nats.stream',
      'NOSUCH',
    ],
    [
      "another project's stream",
      { stream: 'HKSOTHER', subject: 'hks-other.orders.*' },
      'spec.triggers[0].nats.stream',
      'is granted to project',
    ],
    [
      'a stream granted to no project',
      { stream: 'HKSNOGRANT', subject: 'hks-nogrant.orders.*' },
      'spec.triggers[0].nats.stream',
      'granted to no project',
    ],
    [
      "a dead-letter subject in another project's stream",
      { deadLetterSubject: 'hks-other.dead' },
      'spec.triggers[0].nats.deadLetterSubject',
      'HKSOTHER',
    ],
    [
      'a dead-letter subject no stream holds',
      { deadLetterSubject: 'nowhere.dead' },
      'spec.triggers[0].nats.deadLetterSubject',
      'no stream holds',
    ],
    [
      'a subject outside the stream',
      { subject: 'elsewhere.orders' },
      'spec.triggers[0].nats.subject',
      'elsewhere.orders',
    ],
  ])('refuses %s, naming the field', async (_, change, field, named) => {
    const res = await request(
      'POST',
      '/applications',
      fn(project, 'badtrigger', 'def handler(event, context):\n    return 1\n', [
        natsTrigger('bad-fn', change),
      ]),
    );
    expect(res.status).toBe(400);
    expect(res.text).toContain(field);
    expect(res.text).toContain(named);
    expect((await request('GET', '/applications/badtrigger')).status).toBe(404);
  });

  test('a durable another function pulls from is refused', async () => {
    const res = await request(
      'POST',
      '/applications',
      fn(project, 'thief', 'def handler(event, context):\n    return 1\n', [
        natsTrigger('orders-fn'),
      ]),
    );
    expect(res.status).toBe(400);
    expect(res.text).toContain('spec.triggers[0].nats.durable');
  });
});
