import { setTimeout as sleep } from 'node:timers/promises';
import type { JetStreamClient, JsMsg } from 'nats';
import type { EventMessage } from './cloud-event';
import { type DeadLetterPublisher, deliver, type TriggerInvoker } from './delivery';
import type { NatsTrigger } from './triggers';

/** How long one pull waits for messages on an idle stream. */
const PULL_EXPIRES_MS = 5000;
/** Pause after a failed pull (server gone, consumer deleted) before the next. */
const RETRY_PAUSE_MS = 2000;

/** Time the server waits for an acknowledgement: the function's time limit and a margin. */
export function ackWaitMs(trigger: NatsTrigger): number {
  return (trigger.timeoutSeconds + 30) * 1000;
}

/**
 * Pulls one trigger's messages from its durable consumer and delivers them, at most
 * `concurrency` at once. It asks only for as many messages as it has free slots, so that none
 * waits in this replica's buffer while its ack wait runs: every replica pulls from the same
 * durable consumer, and the server gives each message to one of them.
 */
export class TriggerConsumer {
  private stopped = false;
  private active = 0;
  private slotFreed?: () => void;
  private pull?: { stop(): void };
  private readonly running: Promise<void>;

  constructor(
    public readonly trigger: NatsTrigger,
    private readonly js: JetStreamClient,
    private readonly invoke: TriggerInvoker,
    private readonly publishDeadLetter: DeadLetterPublisher,
    private readonly concurrency: number,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void,
  ) {
    this.running = this.loop();
  }

  /** Stops pulling and waits for the deliveries in flight. */
  public async stop(): Promise<void> {
    this.stopped = true;
    this.pull?.stop();
    this.slotFreed?.();
    await this.running;
    while (this.active > 0) await new Promise<void>((resolve) => (this.slotFreed = resolve));
  }

  private async loop(): Promise<void> {
    const { stream, durable } = this.trigger;
    while (!this.stopped) {
      if (this.active >= this.concurrency) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      try {
        const consumer = await this.js.consumers.get(stream, durable);
        const batch = await consumer.fetch({
          max_messages: this.concurrency - this.active,
          expires: PULL_EXPIRES_MS,
        });
        this.pull = batch;
        for await (const message of batch) this.start(message);
      } catch (error) {
        if (this.stopped) break;
        this.log('event trigger pull failed; pulling again', { stream, durable, err: error });
        await sleep(RETRY_PAUSE_MS);
      }
    }
  }

  private start(message: JsMsg): void {
    this.active++;
    const delivered = {
      message: eventMessage(message),
      data: message.data,
      ack: async () => {
        await message.ackAck();
      },
      nak: (delayMs: number) => message.nak(delayMs),
      term: (reason: string) => message.term(reason),
      working: () => message.working(),
    };
    void deliver(
      delivered,
      this.trigger,
      this.invoke,
      this.publishDeadLetter,
      ackWaitMs(this.trigger),
    )
      .then((outcome) => {
        if (outcome === 'dead-letter-failed' || outcome === 'dead-lettered')
          this.log(`event trigger message ${outcome}`, {
            stream: this.trigger.stream,
            durable: this.trigger.durable,
            sequence: message.info.streamSequence,
            deadLetterSubject: this.trigger.deadLetterSubject,
          });
      })
      .catch((error: unknown) =>
        // Unacknowledged: the server delivers it again after its ack wait.
        this.log('event trigger delivery failed', {
          stream: this.trigger.stream,
          sequence: message.info.streamSequence,
          err: error,
        }),
      )
      .finally(() => {
        this.active--;
        const freed = this.slotFreed;
        this.slotFreed = undefined;
        freed?.();
      });
  }
}

function eventMessage(message: JsMsg): EventMessage {
  const headers = new Map<string, string[]>();
  for (const name of message.headers?.keys() ?? [])
    headers.set(name, message.headers?.values(name) ?? []);
  return {
    stream: message.info.stream,
    subject: message.subject,
    streamSequence: message.info.streamSequence,
    timestampNanos: message.info.timestampNanos,
    deliveryCount: message.info.deliveryCount,
    headers,
  };
}
