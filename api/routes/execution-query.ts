import { z } from 'zod';
import { checkAppName, describeValue } from '../../constructs';
import { Problem } from '../problem';
import { CursorError, ExecutionStatus } from '../store/store';

/** Executions per page at most, and when `limit` is not given. */
export const MAX_EXECUTION_PAGE = 100;
export const DEFAULT_EXECUTION_PAGE = 20;

/** Paging and filters of an execution history. */
export interface ExecutionQuery {
  /** Items per page, 1 to 100. @default 20 */
  readonly limit?: number;
  /** `nextCursor` of the previous page. @default - the first page */
  readonly cursor?: string;
  /** Only executions in this status. @default - all */
  readonly status?: ExecutionStatus;
  /**
   * Only executions that started at or after this instant: ISO 8601 with seconds and `Z` or an
   * offset (`2026-01-31T02:30:00Z`). @default - no lower bound
   */
  readonly since?: string;
  /** Only executions that started before this instant (ISO 8601, as `since`). @default - no upper bound */
  readonly until?: string;
}

/** Paging and filters of a project's executions. */
export interface ProjectExecutionQuery extends ExecutionQuery {
  /** Only this CronJob's executions. @default - every CronJob of the project */
  readonly cronjob?: string;
}

const INSTANT_EXAMPLE = '2026-01-31T02:30:00Z';

/** An instant on the start time, normalized to the store's form (UTC, milliseconds). */
export const instant = z
  .string()
  .pipe(
    z.iso.datetime({
      offset: true,
      error: (issue) =>
        `given ${describeValue(issue.input)}, expected an ISO 8601 instant with seconds and Z or an offset such as +09:00, e.g. ${INSTANT_EXAMPLE}`,
    }),
  )
  .transform((value) => new Date(value).toISOString())
  .optional();

/** `since` and `until` on the start time (the agent executions' route takes them too). */
export const timeBounds = {
  since: instant.meta({
    description: `Executions that started at or after this instant (ISO 8601 with Z or an offset, e.g. ${INSTANT_EXAMPLE})`,
  }),
  until: instant.meta({
    description: 'Executions that started before this instant (ISO 8601, as since)',
  }),
};

const paging = {
  limit: z.coerce.number().int().min(1).max(MAX_EXECUTION_PAGE).optional(),
  cursor: z.string().optional().meta({
    description: 'nextCursor of the previous page (base64url, unpadded)',
    pattern: '^[A-Za-z0-9_-]+$',
  }),
  status: z.enum(['running', 'succeeded', 'failed', 'unknown']).optional(),
};

/** `since` after `until` selects nothing: a mistake worth naming. */
export function checkTimeRange(
  query: { since?: string; until?: string },
  ctx: z.RefinementCtx,
): void {
  if (query.since === undefined || query.until === undefined || query.since <= query.until) return;
  ctx.addIssue({
    code: 'custom',
    path: ['since'],
    message: `given since ${query.since} after until ${query.until}, expected since at or before until`,
    input: query.since,
  });
}

/** The query of a CronJob's executions. */
export const executionsQuery = z
  .strictObject({ ...paging, ...timeBounds })
  .superRefine(checkTimeRange);

/** The query of a project's executions: the same, and a CronJob's name. */
export const projectExecutionsQuery = z
  .strictObject({
    ...paging,
    ...timeBounds,
    cronjob: z
      .string()
      .superRefine((value, ctx) => {
        const problem = checkAppName(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
      })
      .optional()
      .meta({ description: "Only this CronJob's executions" }),
  })
  .superRefine(checkTimeRange);

/** Runs `read`, answering a malformed cursor with a 400 problem naming it. */
export async function withCursorChecked<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof CursorError)
      throw new Problem(400, 'Invalid request query', `query.cursor: ${error.message}`, [
        { path: 'cursor', message: error.message },
      ]);
    throw error;
  }
}
