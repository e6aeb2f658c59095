import type { Knex } from 'knex';
import { z } from 'zod';
import {
  AGENT_EXECUTION_STATUSES,
  AgentExecutionPage,
  AgentExecutionRecord,
  listAgentExecutions,
  MAX_AUDIT_TEXT,
} from '../store/agent-executions';
import { parseRequest } from '../validate-request';
import {
  checkTimeRange,
  DEFAULT_EXECUTION_PAGE,
  MAX_EXECUTION_PAGE,
  timeBounds,
  withCursorChecked,
} from './execution-query';
import { isoTime } from './response-schemas';
import { Route } from './route';

/** The query of a project's agent executions. */
export const agentExecutionsQuery = z
  .strictObject({
    limit: z.coerce.number().int().min(1).max(MAX_EXECUTION_PAGE).optional(),
    cursor: z.string().optional().meta({
      description: 'nextCursor of the previous page (base64url, unpadded)',
      pattern: '^[A-Za-z0-9_-]+$',
    }),
    status: z.enum(AGENT_EXECUTION_STATUSES).optional(),
    subject: z
      .string()
      .min(1)
      .max(MAX_AUDIT_TEXT)
      .optional()
      .meta({ description: "Only this caller's calls (the token's sub)" }),
    kind: z.enum(['execute', 'session']).optional(),
    ...timeBounds,
  })
  .superRefine(checkTimeRange);

const count = z.number().int().min(0);

/** One audited call, as the route answers it. */
export const agentExecutionView: z.ZodType<AgentExecutionRecord> = z.object({
  id: z.string(),
  kind: z.enum(['execute', 'session']),
  sessionId: z
    .string()
    .optional()
    .meta({ description: 'The session of a session call; absent for execute-once' }),
  project: z.string(),
  subject: z.string().optional().meta({ description: "The token's sub" }),
  startedAt: isoTime,
  completedAt: isoTime.optional(),
  status: z.enum(AGENT_EXECUTION_STATUSES).meta({
    description:
      "succeeded, failed, timeout: the execute result's status; refused: a 4xx problem (nothing ran); error: a 5xx problem; disconnected: the client went before the answer; running: under way, or left by an API that stopped mid-call",
  }),
  runtime: z.string().optional(),
  codeSha256: z
    .string()
    .optional()
    .meta({ description: 'SHA-256 (hex) of the code as sent, UTF-8; the code is never kept' }),
  codeBytes: count.optional(),
  inputBytes: count.optional().meta({
    description: "Bytes of the input's JSON as the function receives it; the input is never kept",
  }),
  outputBytes: count.optional().meta({ description: 'Bytes of the body answered' }),
  httpStatus: z.number().int().optional(),
  durationMs: count.optional().meta({ description: 'From the call to its answer' }),
  errorTitle: z.string().optional().meta({
    description:
      "The problem's title (refused, error) or the error's type (failed, timeout); never a message",
  }),
  requestId: z.string().optional().meta({ description: "The client's X-Request-Id" }),
  executionId: z
    .string()
    .optional()
    .meta({ description: 'The id the execute result named (its temporary function)' }),
});

export const agentExecutionPage: z.ZodType<AgentExecutionPage> = z.object({
  items: z.array(agentExecutionView),
  nextCursor: z.string().optional(),
});

/** `GET /projects/{project}/agent-executions`: the project's audit trail, for its admins. */
export function agentExecutionRoutes(db: Knex): Route[] {
  return [
    {
      method: 'get',
      path: '/projects/:project/agent-executions',
      summary:
        "The audit trail of the project's agent executions (execute-once calls), newest first, with cursor paging (?limit=&cursor=&status=&subject=&kind=&since=&until=); since and until bound the start time. Only for the project's admins (the token's admin claim)",
      roles: ['admin'],
      query: agentExecutionsQuery,
      responses: { 200: agentExecutionPage },
      handle: async (req, res) => {
        const query = parseRequest(agentExecutionsQuery, req.query, 'query');
        const page = await withCursorChecked(() =>
          listAgentExecutions(
            db,
            {
              project: String(req.params.project),
              status: query.status,
              subject: query.subject,
              kind: query.kind,
              since: query.since,
              until: query.until,
            },
            { limit: query.limit ?? DEFAULT_EXECUTION_PAGE, cursor: query.cursor },
          ),
        );
        res.json(page);
      },
    },
  ];
}
