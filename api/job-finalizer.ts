import type { V1Job } from '@kubernetes/client-node';

/**
 * The finalizer that keeps a Job (and, through the garbage collector, its pods) until the
 * recorder has stored its execution with its logs.
 */
export const RECORD_FINALIZER = 'hks.hexabase.io/execution-record';

/**
 * Where a held Job keeps its `ttlSecondsAfterFinished` until it is recorded. The TTL
 * controller deletes with foreground propagation, which removes the pods even while a finalizer
 * keeps the Job; so the TTL is parked here and restored once the logs are stored.
 */
export const PARKED_TTL_ANNOTATION = 'hks.hexabase.io/ttl-seconds-after-finished';

/** One operation of a JSON patch (RFC 6902). */
export type JsonPatchOperation =
  | { readonly op: 'test' | 'add' | 'replace'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

/** The metadata and spec fields a held Job is created with (the trigger route's Jobs). */
export function heldJobFields(spec: NonNullable<V1Job['spec']>): {
  finalizers: string[];
  annotations: Record<string, string>;
  spec: NonNullable<V1Job['spec']>;
} {
  const { ttlSecondsAfterFinished, ...rest } = spec;
  return {
    finalizers: [RECORD_FINALIZER],
    annotations:
      ttlSecondsAfterFinished === undefined
        ? {}
        : { [PARKED_TTL_ANNOTATION]: String(ttlSecondsAfterFinished) },
    spec: rest,
  };
}

/** Whether the Job carries the record finalizer. */
export function isHeld(job: V1Job): boolean {
  return job.metadata?.finalizers?.includes(RECORD_FINALIZER) ?? false;
}

/**
 * The patch that holds a Job: adds the finalizer and parks its TTL; undefined when it is held
 * already or cannot be (Kubernetes refuses new finalizers on an object being deleted). The
 * resourceVersion test makes it fail instead of overwriting a concurrent change.
 */
export function holdPatch(job: V1Job): JsonPatchOperation[] | undefined {
  if (isHeld(job) || job.metadata?.deletionTimestamp) return undefined;
  const ops: JsonPatchOperation[] = [
    { op: 'test', path: '/metadata/resourceVersion', value: job.metadata?.resourceVersion },
    job.metadata?.finalizers
      ? { op: 'add', path: '/metadata/finalizers/-', value: RECORD_FINALIZER }
      : { op: 'add', path: '/metadata/finalizers', value: [RECORD_FINALIZER] },
  ];
  const ttl = job.spec?.ttlSecondsAfterFinished;
  if (ttl !== undefined) {
    if (!job.metadata?.annotations)
      ops.push({ op: 'add', path: '/metadata/annotations', value: {} });
    ops.push(
      { op: 'add', path: annotationPath(PARKED_TTL_ANNOTATION), value: String(ttl) },
      { op: 'remove', path: '/spec/ttlSecondsAfterFinished' },
    );
  }
  return ops;
}

/**
 * The patch that releases a recorded Job: removes the finalizer (tested at its index, so a
 * concurrent change of the list fails the patch instead of removing another finalizer) and
 * gives the Job its TTL back; undefined when it is not held.
 */
export function releasePatch(job: V1Job): JsonPatchOperation[] | undefined {
  const index = job.metadata?.finalizers?.indexOf(RECORD_FINALIZER) ?? -1;
  if (index < 0) return undefined;
  const path = `/metadata/finalizers/${index}`;
  const ops: JsonPatchOperation[] = [
    { op: 'test', path, value: RECORD_FINALIZER },
    { op: 'remove', path },
  ];
  const parked = job.metadata?.annotations?.[PARKED_TTL_ANNOTATION];
  if (parked !== undefined) {
    ops.push({ op: 'remove', path: annotationPath(PARKED_TTL_ANNOTATION) });
    const ttl = Number(parked);
    // A Job being deleted needs no TTL (and its spec may still be changed, but to no purpose).
    if (Number.isInteger(ttl) && ttl >= 0 && !job.metadata?.deletionTimestamp)
      ops.push({ op: 'add', path: '/spec/ttlSecondsAfterFinished', value: ttl });
  }
  return ops;
}

/** JSON pointer of an annotation (RFC 6901 escapes `~` and `/`). */
function annotationPath(key: string): string {
  return `/metadata/annotations/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}
