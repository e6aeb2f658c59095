import { createHash } from 'node:crypto';

/**
 * The invocation-history id of an asynchronous invocation's attempt (from 1): the
 * invocation's own id for the first, a UUID-shaped digest of the id and the attempt for the
 * others (version 8: custom), the same on every replica, so that an attempt run again after
 * its replica died keeps its id.
 */
export function attemptId(invocationId: string, attempt: number): string {
  if (attempt === 1) return invocationId;
  const hex = createHash('sha256').update(`${invocationId}#${attempt}`).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
