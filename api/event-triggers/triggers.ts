import type { Knex } from 'knex';
import {
  DEFAULT_BACKOFF_SECONDS,
  DEFAULT_MAX_DELIVER,
  defaultDeadLetterSubject,
  FUNCTION_DEFAULTS,
  type FunctionDefinition,
  type FunctionTriggerSpec,
} from '../../constructs';

/** A NATS trigger of an applied function, with its defaults filled in. */
export interface NatsTrigger {
  readonly project: string;
  readonly function: string;
  readonly subject: string;
  readonly stream: string;
  readonly durable: string;
  readonly maxDeliver: number;
  readonly backoffSeconds: readonly number[];
  readonly deadLetterSubject: string;
  /** The function's request time limit: the consumer's ack wait is longer. */
  readonly timeoutSeconds: number;
}

/** The consumer a trigger pulls from: one per stream and durable name. */
export function consumerKey(trigger: Pick<NatsTrigger, 'stream' | 'durable'>): string {
  return `${trigger.stream}/${trigger.durable}`;
}

/** The triggers of a definition, with the defaults of docs/event-triggers.md. */
export function natsTriggers(definition: FunctionDefinition): NatsTrigger[] {
  return (definition.spec.triggers ?? []).map(({ nats }: FunctionTriggerSpec) => ({
    project: definition.metadata.project,
    function: definition.metadata.name,
    subject: nats.subject,
    stream: nats.stream,
    durable: nats.durable,
    maxDeliver: nats.maxDeliver ?? DEFAULT_MAX_DELIVER,
    backoffSeconds: nats.backoffSeconds ?? DEFAULT_BACKOFF_SECONDS,
    deadLetterSubject:
      nats.deadLetterSubject ?? defaultDeadLetterSubject(nats.stream, nats.durable),
    timeoutSeconds: definition.spec.timeoutSeconds ?? FUNCTION_DEFAULTS.timeoutSeconds,
  }));
}

/**
 * Every trigger of every applied function: the store's definitions are what the API applied,
 * so a trigger runs exactly while its definition is applied.
 */
export async function appliedTriggers(db: Knex): Promise<NatsTrigger[]> {
  const rows = (await db('applications')
    .select('definition')
    .where({ kind: 'Function' })
    .andWhere('version', '>', 0)
    // Most functions have none: only those whose stored JSON names triggers are parsed.
    .andWhere('definition', 'like', '%"triggers":[%')) as { definition: string }[];
  return rows.flatMap((row) => natsTriggers(JSON.parse(row.definition) as FunctionDefinition));
}
