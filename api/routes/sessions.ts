import { z } from 'zod';
import { AgentAudit, auditAs } from '../agent-audit';
import {
  AgentSessions,
  DEFAULT_SESSION_IDLE_SECONDS,
  OpenedSession,
  SessionExecutionResult,
  SessionView,
} from '../agent-sessions';
import { callerOf } from '../auth';
import { parseRequest } from '../validate-request';
import { executeBody, executionResult } from './operations';
import { Route } from './route';

/** The body of POST sessions (also the MCP open_session tool's arguments). */
export function openSessionBody(maxIdleSeconds: number) {
  return executeBody
    .pick({ project: true, runtime: true, env: true, timeoutSeconds: true })
    .extend({
      idleTimeoutSeconds: z
        .number()
        .int()
        .min(1)
        .max(maxIdleSeconds)
        .optional()
        .meta({
          description: `Seconds without an execute after which the session ends and its function is deleted, at most HKS_SESSION_MAX_IDLE_SECONDS (${maxIdleSeconds}). Default ${DEFAULT_SESSION_IDLE_SECONDS}`,
        }),
    });
}

/** The body of POST sessions/:id/execute (also the MCP execute_in_session tool's, less sessionId). */
export const sessionExecuteBody = executeBody
  .pick({ code: true, handler: true, input: true, inputFiles: true })
  .extend({
    timeoutSeconds: z.number().int().min(1).optional().meta({
      description:
        "Time limit of this execution, at most the session's timeoutSeconds. Default the session's",
    }),
  });

const sessionView = z.object({
  id: z.string(),
  project: z.string(),
  runtime: executeBody.shape.runtime,
  state: z.enum(['idle', 'running']),
  executions: z.number().int().min(0),
  createdAt: z.string(),
  expiresAt: z
    .string()
    .meta({ description: 'When the session ends unless an execute comes first' }),
  idleTimeoutSeconds: z.number().int(),
  timeoutSeconds: z.number().int(),
  createdBy: z.string().optional().meta({ description: 'The subject of the token that opened it' }),
}) satisfies z.ZodType<SessionView>;

const openedSession = sessionView.extend({
  timings: z.record(z.string(), z.number()).meta({ description: 'Milliseconds of each phase' }),
}) satisfies z.ZodType<OpenedSession>;

const sessionResult: z.ZodType<SessionExecutionResult> = z.intersection(
  executionResult,
  z.object({
    sessionId: z.string(),
    sessionEnded: z.literal(true).optional().meta({
      description:
        'This execution ended the session (timeout, killed): its function was deleted; the next call answers 410',
    }),
  }),
);

/**
 * Routes of `/internal/v1/operations/sessions`: agent sessions. Every execute is recorded by
 * `audit` as kind `session`.
 */
export function sessionRoutes(
  sessions: AgentSessions,
  audit: AgentAudit,
  maxIdleSeconds: number,
): Route[] {
  const openBody = openSessionBody(maxIdleSeconds);
  const id = (params: Record<string, unknown>) => String(params.id);
  return [
    {
      method: 'post',
      path: '/operations/sessions',
      summary:
        'Open an agent session: a warm temporary function that successive executes reuse (new code each time, files under the session folder kept); it ends after idleTimeoutSeconds without an execute, on DELETE, or when an execute times out',
      body: openBody,
      status: 201,
      responses: { 201: openedSession },
      handle: async (req, res) => {
        const body = parseRequest(openBody, req.body, 'body');
        res.status(201).json(await sessions.open(callerOf(res), body));
      },
    },
    {
      method: 'post',
      path: '/operations/sessions/:id/execute',
      summary:
        "Run code in a session's function; answers as execute, with sessionId (and sessionEnded when a timeout ended the session)",
      body: sessionExecuteBody,
      responses: { 200: sessionResult },
      errors: [409, 410],
      handle: async (req, res) => {
        const caller = callerOf(res);
        // Read once: the audit record needs its project and runtime, the execute the rest.
        const session = await sessions.find(caller, id(req.params));
        auditAs(req, { kind: 'session', project: session.project, runtime: session.runtime });
        await audit.execute(req, res, async (respond) => {
          const body = parseRequest(sessionExecuteBody, req.body, 'body');
          respond(await sessions.execute(caller, session, body));
        });
      },
    },
    {
      method: 'get',
      path: '/operations/sessions/:id',
      summary: 'A session: state (idle, running), executions so far, when it ends unless used',
      responses: { 200: sessionView },
      errors: [410],
      handle: async (req, res) => {
        res.json(await sessions.view(callerOf(res), id(req.params)));
      },
    },
    {
      method: 'delete',
      path: '/operations/sessions/:id',
      summary: 'Close a session: its function is deleted',
      status: 204,
      errors: [410],
      handle: async (req, res) => {
        await sessions.close(callerOf(res), id(req.params));
        res.status(204).end();
      },
    },
  ];
}
