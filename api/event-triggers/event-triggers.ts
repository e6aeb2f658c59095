import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Knex } from 'knex';
import {
  AckPolicy,
  connect,
  type ConnectionOptions,
  credsAuthenticator,
  DeliverPolicy,
  headers as natsHeaders,
  type JetStreamManager,
  nanos,
  type NatsConnection,
} from 'nats';
import { type ApplicationDefinition, subjectWithin } from '../../constructs';
import type { Functions } from '../functions';
import { Problem } from '../problem';
import { outsideRequest } from '../request-signal';
import { ackWaitMs, TriggerConsumer } from './consumer';
import type { DeadLetterPublisher, TriggerInvoker } from './delivery';
import type { EventTriggerSettings } from './settings';
import { checkStreamGrants, StreamNotGranted } from './stream-grants';
import { appliedTriggers, consumerKey, type NatsTrigger, natsTriggers } from './triggers';

/** How long an apply waits for the NATS connection before it is refused. */
const CONNECT_WAIT_MS = 10_000;

/**
 * The event triggers of this replica (docs/event-triggers.md): it reads the applied triggers
 * from the store every `reconcileMs` and runs one {@link TriggerConsumer} per trigger, pulling
 * from the trigger's durable consumer. Every replica does the same; the durable consumer gives
 * each message to one of them.
 */
export class EventTriggers {
  private connection?: Promise<NatsConnection>;
  private functions?: Functions;
  private readonly consumers = new Map<string, TriggerConsumer>();
  private timer?: NodeJS.Timeout;
  private stopped = true;

  constructor(
    public readonly settings: EventTriggerSettings,
    private readonly db: Knex,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void,
  ) {}

  /** The functions messages go to (the API's routes make them); once. */
  public useFunctions(functions: Functions): void {
    this.functions ??= functions;
  }

  /**
   * Checks a definition's triggers before it is applied, and creates or updates their durable
   * consumers, so that the server's own checks (the stream exists, the subject is one of its
   * subjects) refuse a bad trigger with the field named.
   * @throws Problem 400 naming the field; 503 when the NATS server cannot be reached
   */
  public async check(definition: ApplicationDefinition): Promise<void> {
    if (definition.kind !== 'Function') return;
    const triggers = natsTriggers(definition);
    if (triggers.length === 0) return;
    if (!this.settings.url)
      throw new Problem(
        400,
        'Invalid definition',
        'spec.triggers: event triggers need HKS_NATS_URL: this API is not connected to a NATS server',
        [{ path: 'spec.triggers', message: 'event triggers need HKS_NATS_URL' }],
      );
    const jsm = await this.manager();
    for (const [i, trigger] of triggers.entries()) {
      try {
        await ensureConsumer(jsm, trigger);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const field =
          error instanceof StreamNotGranted
            ? error.field
            : error instanceof ConsumerTaken
              ? 'durable'
              : /stream not found/i.test(message)
                ? 'stream'
                : 'subject';
        const path = `spec.triggers[${i}].nats.${field}`;
        const given = trigger[field];
        const detail =
          error instanceof StreamNotGranted
            ? `given ${JSON.stringify(given)}: ${message}`
            : `given ${JSON.stringify(given)}, the NATS server refused the consumer ${JSON.stringify(trigger.durable)}: ${message}`;
        throw new Problem(400, 'Invalid definition', `${path}: ${detail}`, [
          { path, message: detail },
        ]);
      }
    }
  }

  /** Starts reading the applied triggers; nothing without HKS_NATS_URL. */
  public start(): void {
    if (!this.settings.url) return;
    if (!this.functions) throw new Error('EventTriggers.start: useFunctions was not called');
    this.stopped = false;
    outsideRequest(() => void this.reconcile());
  }

  /** Stops every consumer (deliveries in flight end first) and closes the connection. */
  public async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.all([...this.consumers.values()].map((c) => c.stop()));
    this.consumers.clear();
    const connection = this.connection;
    this.connection = undefined;
    await connection?.then((nc) => nc.drain()).catch(() => undefined);
  }

  private async reconcile(): Promise<void> {
    try {
      const wanted = new Map((await appliedTriggers(this.db)).map((t) => [keyOf(t), t]));
      for (const [key, consumer] of this.consumers) {
        const trigger = wanted.get(key);
        if (trigger && sameTrigger(trigger, consumer.trigger)) continue;
        this.consumers.delete(key);
        await consumer.stop();
        this.log('event trigger stopped', { key });
      }
      const nc = await this.connect();
      const jsm = await nc.jetstreamManager();
      for (const [key, trigger] of wanted) {
        if (this.stopped || this.consumers.has(key)) continue;
        await ensureConsumer(jsm, trigger);
        this.consumers.set(
          key,
          new TriggerConsumer(
            trigger,
            nc.jetstream(),
            this.invoker(),
            this.deadLetterPublisher(nc),
            this.settings.concurrency,
            this.log,
          ),
        );
        this.log('event trigger started', { key, subject: trigger.subject });
      }
    } catch (error) {
      this.log('could not start the applied event triggers; trying again', { err: error });
    } finally {
      if (!this.stopped)
        this.timer = setTimeout(() => void this.reconcile(), this.settings.reconcileMs);
    }
  }

  private invoker(): TriggerInvoker {
    const functions = this.functions as Functions;
    return async (trigger, request) => {
      const { response } = await functions.invoke(trigger.project, trigger.function, {
        headers: request.headers,
        body: request.body,
        trigger: 'event',
        requestId: request.requestId,
      });
      return response.status;
    };
  }

  private deadLetterPublisher(nc: NatsConnection): DeadLetterPublisher {
    const js = nc.jetstream();
    return async (subject, data, given, msgID) => {
      const h = natsHeaders();
      for (const [name, value] of Object.entries(given)) h.set(name, value);
      await js.publish(subject, data, { headers: h, msgID });
    };
  }

  private async manager(): Promise<JetStreamManager> {
    const nc = await Promise.race([
      this.connect(),
      new Promise<never>((_, reject) =>
        setTimeout(
          () =>
            reject(
              new Problem(
                503,
                'NATS unreachable',
                `The NATS server at HKS_NATS_URL (${this.settings.url}) did not answer within ${CONNECT_WAIT_MS / 1000} s; event triggers cannot be checked`,
              ),
            ),
          CONNECT_WAIT_MS,
        ).unref(),
      ),
    ]);
    return nc.jetstreamManager();
  }

  /** The one connection of this replica, reconnecting for ever once made. */
  private connect(): Promise<NatsConnection> {
    this.connection ??= connect(this.connectionOptions()).catch((error: unknown) => {
      this.connection = undefined;
      throw error;
    });
    return this.connection;
  }

  private connectionOptions(): ConnectionOptions {
    const s = this.settings;
    return {
      servers: (s.url ?? '').split(',').map((server) => server.trim()),
      name: `hks-api ${hostname()} ${process.pid}`,
      maxReconnectAttempts: -1,
      token: s.token,
      user: s.user,
      pass: s.password,
      authenticator: s.credentialsFile
        ? credsAuthenticator(readFileSync(s.credentialsFile))
        : undefined,
    };
  }
}

/** A durable consumer that another function (or another client) already pulls from. */
class ConsumerTaken extends Error {}

function keyOf(trigger: NatsTrigger): string {
  return `${trigger.project}/${trigger.function}/${consumerKey(trigger)}`;
}

function sameTrigger(a: NatsTrigger, b: NatsTrigger): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Creates the trigger's durable pull consumer, or updates it to the trigger's subject and ack
 * wait: an existing one keeps its position, so that a re-apply resumes where it stopped.
 * Redelivery is the trigger's own (`nak` with its backoff, dead letter after `maxDeliver`), so
 * the server delivers without limit: a message whose dead letter could not be stored yet is
 * delivered again rather than dropped.
 */
async function ensureConsumer(jsm: JetStreamManager, trigger: NatsTrigger): Promise<void> {
  const stream = await jsm.streams.info(trigger.stream);
  const subjects = stream.config.subjects ?? [];
  if (!subjects.some((subject) => subjectWithin(trigger.subject, subject)))
    throw new Error(
      `stream ${JSON.stringify(trigger.stream)} holds ${JSON.stringify(subjects)}, expected a subject within them`,
    );
  await checkStreamGrants(jsm, trigger, stream.config);
  const settings = {
    filter_subject: trigger.subject,
    ack_wait: nanos(ackWaitMs(trigger)),
    max_deliver: -1,
    description: `HKS event trigger of function ${trigger.project}/${trigger.function}`,
  };
  const existing = await jsm.consumers.info(trigger.stream, trigger.durable).catch((error) => {
    if (/consumer not found/i.test(String(error))) return undefined;
    throw error;
  });
  if (existing) {
    if (existing.config.description !== settings.description)
      throw new ConsumerTaken(
        `it exists for ${existing.config.description ?? 'another client'}, expected a durable name no other function of any project uses`,
      );
    await jsm.consumers.update(trigger.stream, trigger.durable, settings);
    return;
  }
  await jsm.consumers.add(trigger.stream, {
    ...settings,
    durable_name: trigger.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
  });
}
