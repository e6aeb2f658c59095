import { Problem } from './problem';
import type { StoredApplication } from './store/store';

/**
 * The strong entity tag (RFC 9110) of an application's stored version: the version and the
 * creation time, so that a name deleted and created again never repeats a tag.
 */
export function entityTag(application: StoredApplication): string {
  return `"${application.version}-${Date.parse(application.createdAt).toString(36)}"`;
}

/**
 * Checks an `If-Match` header against the current version (strong comparison: a weak tag never
 * matches). An absent header always passes.
 * @param current the applied version; none when the application does not exist
 * @throws Problem 412 naming the header, the value given and the current tag
 */
export function checkIfMatch(ifMatch: string | undefined, current?: StoredApplication): void {
  if (ifMatch === undefined) return;
  const given = ifMatch.trim();
  const tag = current && entityTag(current);
  const matches =
    tag !== undefined && (given === '*' || given.split(',').some((t) => t.trim() === tag));
  if (matches) return;
  throw new Problem(
    412,
    'Precondition failed',
    `If-Match: given ${JSON.stringify(ifMatch)}, expected ${tag ? `${tag} (the current version's ETag) or *` : 'no If-Match: the application does not exist'}`,
    [
      {
        path: 'If-Match',
        message: `given ${JSON.stringify(ifMatch)}, expected ${tag ?? 'no If-Match (the application does not exist)'}`,
      },
    ],
  );
}
