import type { Request, Response } from 'express';
import { z } from 'zod';
import type { AgentAudit } from '../agent-audit';
import type { ExecuteProgress } from '../execute-stream';
import type { ExecutionResult } from '../operations';
import { Problem, problemDocument } from '../problem';
import type { RequestLogLocals } from '../request-log';
import { EventStream } from '../sse';

/** Runs one execute-once call: `progress` set when it is streamed. */
export type ExecuteCall = (
  respond: (result: ExecutionResult) => void,
  progress?: ExecuteProgress,
) => Promise<void>;

const millis = z.number().min(0);

/**
 * The events of a streamed execute, for the OpenAPI document: each is `event: <name>` and
 * `data: <JSON>` of the shape named here.
 */
export function executeStreamEvent(result: z.ZodType<ExecutionResult>): z.ZodType {
  return z
    .discriminatedUnion('event', [
      z.object({
        event: z.literal('phase'),
        data: z.object({
          phase: z.enum(['deploying', 'ready', 'running']).meta({
            description:
              'deploying: validated and applied, Knative starts it; ready: about to be invoked; running: the runtime took the invocation',
          }),
          timings: z.record(z.string(), millis).meta({ description: 'Milliseconds so far' }),
        }),
      }),
      z.object({
        event: z.literal('output'),
        data: z.object({
          stream: z.enum(['stdout', 'stderr']),
          text: z.string().meta({ description: 'One write of the code, as it wrote it' }),
          truncated: z.literal(true).optional().meta({
            description:
              'On the last output event: the output reached HKS_EXECUTE_OUTPUT_LIMIT_BYTES; no more follow',
          }),
        }),
      }),
      z.object({
        event: z.literal('result'),
        data: result.meta({ description: 'The same result as without streaming; the last event' }),
      }),
      z.object({
        event: z.literal('error'),
        data: z
          .object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string() })
          .meta({ description: 'The platform failed mid-way (RFC 9457 problem); the last event' }),
      }),
    ])
    .meta({
      description:
        'Server-Sent Events: phase events, output events as the code writes, then exactly one result (or error). A comment line every 15 s keeps an idle stream open.',
    });
}

/**
 * Runs `call` as a streamed execute (`Accept: text/event-stream`): Server-Sent Events opened at
 * the first phase, so that a refused request is still a plain problem response. A failure after
 * that is an `error` event. A client that goes makes the call's invocation abandoned (the
 * request's signal) and so the function deleted; the audit trail records it as `disconnected`.
 */
export async function streamExecution(
  req: Request,
  res: Response,
  audit: AgentAudit,
  call: ExecuteCall,
): Promise<void> {
  const events = new EventStream(res);
  const progress: ExecuteProgress = {
    phase: (phase, timings) => events.send('phase', { phase, timings }),
    output: (chunk) => events.send('output', chunk),
  };
  try {
    await audit.execute(
      req,
      res,
      (respond) => call(respond, progress),
      (result) => {
        events.send('result', result);
        events.end();
      },
    );
  } catch (error) {
    if (!events.opened) throw error;
    if (!(error instanceof Problem))
      (res.locals as Partial<RequestLogLocals>).log?.error(
        { err: error, url: req.originalUrl },
        'a streamed execute failed',
      );
    const problem =
      error instanceof Problem
        ? error
        : new Problem(
            500,
            'Internal error',
            'The server failed to handle the request; see its logs.',
          );
    events.send('error', problemDocument(problem, req.originalUrl));
    events.end();
  }
}
