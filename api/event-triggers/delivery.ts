import { createHash } from 'node:crypto';
import { Problem } from '../problem';
import { cloudEventHeaders, type EventMessage, eventId } from './cloud-event';
import type { NatsTrigger } from './triggers';

/** One delivery of a JetStream message, as the consumer hands it over. */
export interface Delivered {
  readonly message: EventMessage;
  readonly data: Uint8Array;
  /** Acknowledges it and waits for the server to confirm. */
  ack(): Promise<void>;
  /** Asks for a redelivery after `delayMs`. */
  nak(delayMs: number): void;
  /** Tells the server never to deliver it again. */
  term(reason: string): void;
  /** Restarts the server's ack wait, so that a long call is not redelivered meanwhile. */
  working(): void;
}

/** Invokes the trigger's function with a message; resolves with the status it answered. */
export type TriggerInvoker = (
  trigger: NatsTrigger,
  request: { headers: Record<string, string>; body: Buffer; requestId: string },
) => Promise<number>;

/** Stores a dead letter (JetStream publish, deduplicated on `msgId`). */
export type DeadLetterPublisher = (
  subject: string,
  data: Uint8Array,
  headers: Readonly<Record<string, string>>,
  msgId: string,
) => Promise<void>;

/** How a delivery ended. */
export type DeliveryOutcome = 'acked' | 'redelivering' | 'dead-lettered' | 'dead-letter-failed';

/**
 * The invocation-history id of one delivery: a UUID-shaped digest (version 8) of the stream,
 * consumer, sequence and attempt, the same on every replica.
 */
export function deliveryId(trigger: NatsTrigger, message: EventMessage): string {
  const hex = createHash('sha256')
    .update(
      `${trigger.stream}/${trigger.durable}/${message.streamSequence}#${message.deliveryCount}`,
    )
    .digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Wait before the redelivery that follows attempt `attempt` (from 1): the last entry repeats. */
export function backoffMs(trigger: NatsTrigger, attempt: number): number {
  const list = trigger.backoffSeconds;
  return list[Math.min(attempt, list.length) - 1] * 1000;
}

/**
 * Handles one delivery: invokes the function; acknowledges after a 2xx answer only; after a
 * failure asks for a redelivery after the trigger's backoff, or, on its `maxDeliver`th attempt,
 * publishes the message with its failure to the dead-letter subject and then terminates it.
 * A delivery past `maxDeliver` (its dead letter was not stored last time) is dead-lettered
 * without a call.
 */
export async function deliver(
  delivered: Delivered,
  trigger: NatsTrigger,
  invoke: TriggerInvoker,
  publishDeadLetter: DeadLetterPublisher,
  ackWaitMs: number,
): Promise<DeliveryOutcome> {
  const attempt = delivered.message.deliveryCount;
  if (attempt > trigger.maxDeliver)
    return deadLetter(
      delivered,
      trigger,
      publishDeadLetter,
      attempt - 1,
      'no dead letter stored yet',
    );
  let failure: string;
  const keepAlive = setInterval(() => delivered.working(), ackWaitMs / 3);
  try {
    const status = await invoke(trigger, {
      headers: {
        ...cloudEventHeaders(delivered.message),
        'x-request-id': eventId(delivered.message),
      },
      body: Buffer.from(delivered.data),
      requestId: deliveryId(trigger, delivered.message),
    });
    if (status >= 200 && status < 300) {
      await delivered.ack();
      return 'acked';
    }
    failure = `the function answered ${status}`;
  } catch (error) {
    failure = error instanceof Problem ? `${error.title}: ${error.detail}` : String(error);
  } finally {
    clearInterval(keepAlive);
  }
  if (attempt < trigger.maxDeliver) {
    delivered.nak(backoffMs(trigger, attempt));
    return 'redelivering';
  }
  return deadLetter(delivered, trigger, publishDeadLetter, attempt, failure);
}

async function deadLetter(
  delivered: Delivered,
  trigger: NatsTrigger,
  publish: DeadLetterPublisher,
  attempts: number,
  failure: string,
): Promise<DeliveryOutcome> {
  const { message } = delivered;
  const original: Record<string, string> = {};
  for (const [name, values] of message.headers) original[name] = values.join(', ');
  const headers = {
    ...original,
    'Hks-Project': trigger.project,
    'Hks-Function': trigger.function,
    'Hks-Stream': message.stream,
    'Hks-Subject': message.subject,
    'Hks-Stream-Sequence': String(message.streamSequence),
    'Hks-Attempts': String(attempts),
    // Header values are one line: a failure's detail may not be.
    'Hks-Failure': failure.replace(/[\r\n]+/g, ' ').slice(0, 1024),
  };
  try {
    await publish(
      trigger.deadLetterSubject,
      delivered.data,
      headers,
      `${message.stream}-${message.streamSequence}-dead-letter`,
    );
  } catch {
    // Not stored: delivered again later and dead-lettered then, never dropped.
    delivered.nak(backoffMs(trigger, attempts));
    return 'dead-letter-failed';
  }
  delivered.term(`dead-lettered to ${trigger.deadLetterSubject} after ${attempts} attempts`);
  return 'dead-lettered';
}
