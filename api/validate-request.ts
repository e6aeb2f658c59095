import { z } from 'zod';
import { describeIssue, formatPath } from '../constructs';
import { Problem } from './problem';

/**
 * Parses a request part (body or query) with a schema.
 * @throws Problem 400 naming every failing field, the value given and what is expected
 */
export function parseRequest<S extends z.ZodType>(
  schema: S,
  value: unknown,
  part: 'body' | 'query',
): z.infer<S> {
  const result = schema.safeParse(value, { error: describeIssue });
  if (result.success) return result.data;
  const errors = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          path: formatPath([...issue.path, key]),
          message: issue.message,
        }))
      : [{ path: formatPath(issue.path), message: issue.message }],
  );
  throw new Problem(
    400,
    `Invalid request ${part}`,
    errors.map((e) => `${part}${e.path ? `.${e.path}` : ''}: ${e.message}`).join('; '),
    errors,
  );
}

/** A boolean query flag: `true`/`false`/`1`/`0`. */
export const queryFlag = z
  .enum(['true', 'false', '1', '0'])
  .optional()
  .transform((v) => v === 'true' || v === '1');
