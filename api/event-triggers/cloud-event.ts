/**
 * A JetStream message as a CloudEvent in binary mode (CloudEvents 1.0 HTTP binding): the
 * attributes as `ce-*` headers, the message's data as the body, its own headers passed on where
 * HTTP can carry them and the platform does not set them itself.
 */

/** What of a JetStream message its CloudEvent is made from. */
export interface EventMessage {
  readonly stream: string;
  readonly subject: string;
  readonly streamSequence: number;
  /** When the stream stored it, in nanoseconds since the epoch. */
  readonly timestampNanos: number;
  /** Attempt of this delivery, from 1. */
  readonly deliveryCount: number;
  /** The message's headers, each name with its values. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
}

/** The CloudEvent type of every message. */
export const EVENT_TYPE = 'io.nats.jetstream.message';

/** Most message headers passed on, and their largest total size. */
const MAX_PASSED_HEADERS = 32;
const MAX_PASSED_HEADER_BYTES = 8192;

/** Names the platform sets, or that mean something to HTTP, Knative or the API: never taken from a message. */
const OWN_PREFIXES = ['ce-', 'x-hks-', 'knative-', 'k-', 'x-forwarded-', 'proxy-'];
const OWN_NAMES = new Set([
  'authorization',
  'connection',
  'content-length',
  'content-type',
  'cookie',
  'expect',
  'forwarded',
  'host',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'via',
  'x-real-ip',
  'x-request-id',
]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** The message's id: its `Nats-Msg-Id` (what its publisher deduplicates on), else stream and sequence. */
export function eventId(message: EventMessage): string {
  const msgId = header(message, 'nats-msg-id');
  return msgId && msgId.length <= 256 && FIELD_VALUE.test(msgId)
    ? msgId
    : `${message.stream}-${message.streamSequence}`;
}

/** The request headers of a message's delivery. */
export function cloudEventHeaders(message: EventMessage): Record<string, string> {
  const headers = passedHeaders(message);
  const contentType = header(message, 'content-type');
  return {
    ...headers,
    'ce-specversion': '1.0',
    'ce-id': eventId(message),
    'ce-source': `nats://${encodeURIComponent(message.stream)}/${encodeURI(message.subject)}`,
    'ce-type': EVENT_TYPE,
    'ce-subject': message.subject,
    'ce-time': new Date(Math.floor(message.timestampNanos / 1e6)).toISOString(),
    // Extension attributes: lower-case letters and digits only (CloudEvents 1.0 naming).
    'ce-natsstream': message.stream,
    'ce-natssequence': String(message.streamSequence),
    'ce-natsdelivery': String(message.deliveryCount),
    'content-type':
      contentType && FIELD_VALUE.test(contentType) ? contentType : 'application/octet-stream',
  };
}

function header(message: EventMessage, name: string): string | undefined {
  for (const [key, values] of message.headers) if (key.toLowerCase() === name) return values[0];
  return undefined;
}

function passedHeaders(message: EventMessage): Record<string, string> {
  const passed: Record<string, string> = {};
  let count = 0;
  let bytes = 0;
  for (const [key, values] of message.headers) {
    const name = key.toLowerCase();
    const value = values.join(', ');
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) continue;
    if (OWN_NAMES.has(name) || OWN_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    bytes += name.length + value.length;
    if (++count > MAX_PASSED_HEADERS || bytes > MAX_PASSED_HEADER_BYTES) break;
    passed[name] = value;
  }
  return passed;
}
