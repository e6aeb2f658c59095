import { cloudEventHeaders, EventTriggers, readEventTriggerSettings } from '../api/event-triggers';
import { backoffMs, deliveryId } from '../api/event-triggers/delivery';
import { natsTriggers } from '../api/event-triggers/triggers';
import {
  API_VERSION,
  checkPublishSubject,
  checkSubjectFilter,
  type FunctionDefinition,
  parseDefinition,
  subjectMatches,
  subjectWithin,
} from '../constructs';

const definition = (trigger: Record<string, unknown>): FunctionDefinition =>
  ({
    apiVersion: API_VERSION,
    kind: 'Function',
    metadata: { name: 'orders', project: 'evtunit' },
    spec: { runtime: 'python3.12', code: 'x', triggers: [{ nats: trigger }] },
  }) as FunctionDefinition;

describe('NATS subjects', () => {
  test.each(['orders', 'orders.*.created', 'orders.>', '*', '>', 'a-b_c.ü'])(
    '%s is a filter',
    (s) => expect(checkSubjectFilter(s)).toBeUndefined(),
  );
  test.each([
    '',
    'orders created',
    'orders..created',
    'orders.>.x',
    'orders.a*',
    '.orders',
    'orders.',
  ])('%j is not', (s) => expect(checkSubjectFilter(s)).toMatch(/expected a NATS subject/));
  test('a publish subject has no wildcards', () => {
    expect(checkPublishSubject('orders.dead')).toBeUndefined();
    expect(checkPublishSubject('orders.*')).toMatch(/without wildcards/);
  });
  test.each([
    ['orders.*', 'orders.dead', true],
    ['orders.>', 'orders.a.b', true],
    ['orders.>', 'orders', false],
    ['orders.*', 'orders.a.b', false],
    ['orders.created', 'orders.created', true],
    ['orders.created', 'hks.dead-letter.S.d', false],
  ])('%s matches %s: %s', (filter, subject, matches) =>
    expect(subjectMatches(filter, subject)).toBe(matches),
  );
});

describe('trigger definitions', () => {
  const problems = (trigger: Record<string, unknown>) => {
    const parsed = parseDefinition(definition(trigger));
    return parsed.ok ? [] : parsed.problems.map((p) => `${p.path.join('.')}: ${p.message}`);
  };
  const valid = { subject: 'orders.*', stream: 'ORDERS', durable: 'orders-fn' };

  test('defaults', () => {
    expect(problems(valid)).toEqual([]);
    expect(natsTriggers(definition(valid))[0]).toMatchObject({
      maxDeliver: 5,
      backoffSeconds: [1, 10, 60],
      deadLetterSubject: 'hks.dead-letter.ORDERS.orders-fn',
      timeoutSeconds: 30,
    });
  });
  test.each([
    [{ stream: 'OR DERS' }, 'spec.triggers.0.nats.stream: given "OR DERS", expected a NATS name'],
    [{ durable: 'a.b' }, 'spec.triggers.0.nats.durable: given "a.b", expected a NATS name'],
    [{ maxDeliver: 101 }, 'spec.triggers.0.nats.maxDeliver'],
    [{ backoffSeconds: [] }, 'spec.triggers.0.nats.backoffSeconds'],
    [{ backoffSeconds: [0] }, 'spec.triggers.0.nats.backoffSeconds.0'],
    [
      { deadLetterSubject: 'orders.dead' },
      'spec.triggers.0.nats.deadLetterSubject: given "orders.dead", which the trigger',
    ],
    [{ extra: 1 }, 'spec.triggers.0.nats'],
  ])('%j is refused', (change, message) => {
    expect(problems({ ...valid, ...change }).join('\n')).toContain(message);
  });
});

describe('deliveries', () => {
  const trigger = natsTriggers(
    definition({ subject: 'o.*', stream: 'S', durable: 'd', backoffSeconds: [2, 5] }),
  )[0];
  const message = {
    stream: 'S',
    subject: 'o.created',
    streamSequence: 42,
    timestampNanos: Date.UTC(2026, 0, 2, 3, 4, 5) * 1e6,
    deliveryCount: 2,
    headers: new Map([
      ['Content-Type', ['application/json']],
      ['X-Trace', ['a']],
      ['Authorization', ['secret']],
      ['ce-id', ['forged']],
      ['Bad Name', ['x']],
      ['X-Bad-Value', ['a\r\nb']],
    ]),
  };

  test('a message is a binary-mode CloudEvent; its headers pass where safe', () => {
    expect(cloudEventHeaders(message)).toEqual({
      'x-trace': 'a',
      'ce-specversion': '1.0',
      'ce-id': 'S-42',
      'ce-source': 'nats://S/o.created',
      'ce-type': 'io.nats.jetstream.message',
      'ce-subject': 'o.created',
      'ce-time': '2026-01-02T03:04:05.000Z',
      'ce-natsstream': 'S',
      'ce-natssequence': '42',
      'ce-natsdelivery': '2',
      'content-type': 'application/json',
    });
    const withId = { ...message, headers: new Map([['Nats-Msg-Id', ['order-1']]]) };
    expect(cloudEventHeaders(withId)['ce-id']).toBe('order-1');
    expect(cloudEventHeaders(withId)['content-type']).toBe('application/octet-stream');
  });
  test('the backoff list repeats its last entry; each attempt has its own stable id', () => {
    expect([1, 2, 3, 4].map((a) => backoffMs(trigger, a))).toEqual([2000, 5000, 5000, 5000]);
    expect(deliveryId(trigger, message)).toBe(deliveryId(trigger, { ...message }));
    expect(deliveryId(trigger, message)).not.toBe(
      deliveryId(trigger, { ...message, deliveryCount: 3 }),
    );
    expect(deliveryId(trigger, message)).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});

describe('settings', () => {
  test('triggers are refused at apply without HKS_NATS_URL', async () => {
    const triggers = new EventTriggers(readEventTriggerSettings({}), undefined as never, () => {});
    await expect(
      triggers.check(definition({ subject: 'o.*', stream: 'S', durable: 'd' })),
    ).rejects.toMatchObject({
      status: 400,
      detail: expect.stringContaining('event triggers need HKS_NATS_URL'),
    });
  });
  test('bad settings are named', () => {
    expect(() =>
      readEventTriggerSettings({
        HKS_NATS_URL: 'http://x',
        HKS_EVENT_TRIGGER_CONCURRENCY: '0',
        HKS_NATS_USER: 'u',
      }),
    ).toThrow(
      /HKS_NATS_URL: given "http:\/\/x".*\n.*HKS_NATS_USER and HKS_NATS_PASSWORD.*\n.*HKS_EVENT_TRIGGER_CONCURRENCY: given "0"/s,
    );
    expect(readEventTriggerSettings({ HKS_NATS_URL: 'nats://a:4222,nats://b:4222' })).toMatchObject(
      {
        url: 'nats://a:4222,nats://b:4222',
        concurrency: 4,
        reconcileMs: 5000,
      },
    );
  });
});

describe('a trigger subject within a stream subject', () => {
  test.each([
    ['orders.created', 'orders.>', true],
    ['orders.*', 'orders.>', true],
    ['orders.>', 'orders.>', true],
    ['orders.>', 'orders.*', false],
    ['orders.*', 'orders.*', true],
    ['orders', 'orders.>', false],
    ['elsewhere.orders', 'orders.>', false],
    ['orders.a', 'orders.b', false],
    ['>', 'orders.>', false],
  ])('%s within %s: %s', (filter, subject, within) =>
    expect(subjectWithin(filter, subject)).toBe(within),
  );
});
