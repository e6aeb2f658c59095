import type { JetStreamManager, StreamConfig } from 'nats';
import { defaultDeadLetterSubject } from '../../constructs';
import type { NatsTrigger } from './triggers';

/**
 * Stream metadata naming the project a stream is granted to. The API reads every stream with
 * one NATS identity, so without a grant any project could subscribe to another's messages (or
 * send its dead letters into another's stream): the operator grants a stream by creating it
 * with `metadata: {"hks.project": "<project>"}`.
 */
export const PROJECT_METADATA_KEY = 'hks.project';

/** A trigger names a stream (or a dead-letter subject in one) not granted to its project. */
export class StreamNotGranted extends Error {
  constructor(
    readonly field: 'stream' | 'deadLetterSubject',
    message: string,
  ) {
    super(message);
  }
}

function grantOf(config: Pick<StreamConfig, 'metadata'>): string | undefined {
  return config.metadata?.[PROJECT_METADATA_KEY];
}

function refusal(stream: string, grant: string | undefined, project: string): string {
  return (
    `stream ${JSON.stringify(stream)} is ${grant === undefined ? 'granted to no project' : `granted to project ${JSON.stringify(grant)}`}, ` +
    `expected one whose metadata has "${PROJECT_METADATA_KEY}": ${JSON.stringify(project)}`
  );
}

/**
 * Checks that the trigger's stream is granted to its project, and so is the stream holding its
 * dead-letter subject. A dead-letter subject no stream holds is refused when the definition
 * named it (it would reach whoever subscribes to it); the default one
 * (`hks.dead-letter.<stream>.<durable>`, unique to a granted stream) may go to core NATS.
 *
 * @throws StreamNotGranted naming the field
 */
export async function checkStreamGrants(
  jsm: JetStreamManager,
  trigger: NatsTrigger,
  stream: Pick<StreamConfig, 'metadata'>,
): Promise<void> {
  const grant = grantOf(stream);
  if (grant !== trigger.project)
    throw new StreamNotGranted('stream', refusal(trigger.stream, grant, trigger.project));
  const holder = await jsm.streams.find(trigger.deadLetterSubject).catch(() => undefined);
  if (holder === undefined) {
    if (trigger.deadLetterSubject === defaultDeadLetterSubject(trigger.stream, trigger.durable))
      return;
    throw new StreamNotGranted(
      'deadLetterSubject',
      `no stream holds ${JSON.stringify(trigger.deadLetterSubject)}, expected a subject of a stream granted to project ${JSON.stringify(trigger.project)}`,
    );
  }
  if (holder === trigger.stream) return;
  const holderGrant = grantOf((await jsm.streams.info(holder)).config);
  if (holderGrant !== trigger.project)
    throw new StreamNotGranted('deadLetterSubject', refusal(holder, holderGrant, trigger.project));
}
