import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Request, Response } from 'express';
import { checkProjectName, DEFAULT_HANDLERS } from '../constructs';
import { Caller, callerOf, grants } from './auth';
import type { ExecutionResult } from './operations';
import { Problem } from './problem';
import {
  AgentExecutionEnd,
  AgentExecutionStart,
  completeAgentExecution,
  insertAgentExecution,
} from './store/agent-executions';

/** Runs one execute-once call, handing its result to `respond`. */
export type AuditedCall = (respond: (result: ExecutionResult) => void) => Promise<void>;

/** How the call came out, as far as it got. */
interface Answer {
  readonly result?: ExecutionResult;
  readonly error?: unknown;
  /** `performance.now()` when it was known. */
  readonly at: number;
}

/**
 * The audit trail's recorder of execute-once calls: a record is written before anything runs
 * (if it cannot be, the call is refused with a 503: no execution goes unrecorded) and completed
 * once the response has ended, with what was answered, whether the call succeeded, failed, was
 * refused or the client went. Only hashes and sizes of the code and the input are kept.
 */
export class AgentAudit {
  constructor(
    private readonly db: Knex,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void,
  ) {}

  /**
   * Runs `call` for the request under audit. A call that names no project its token grants
   * (or no valid project name) is run unrecorded: it is refused by the call itself, and a
   * record would let any token write into another project's trail.
   * @param respond sends the result (a streamed execute's last event). @default - as JSON
   */
  public async execute(
    req: Request,
    res: Response,
    call: AuditedCall,
    respond: (result: ExecutionResult) => void = (result) => void res.json(result),
  ): Promise<void> {
    const started = performance.now();
    // Listened to first: a client may go while the record is written.
    const ended = responseEnded(res);
    const start = startOf(callerOf(res), req);
    if (!start) return call(respond);
    const id = randomUUID();
    try {
      await insertAgentExecution(this.db, id, start, new Date().toISOString());
    } catch (error) {
      this.log('could not write an audit record; the execution was refused', {
        project: start.project,
        err: error,
      });
      throw new Problem(
        503,
        'Audit trail unavailable',
        'The call could not be recorded in the audit trail, so nothing was run; retry later',
        [],
        { 'retry-after': '5' },
      );
    }
    let answer: Answer | undefined;
    let answered!: () => void;
    const known = new Promise<void>((resolve) => {
      answered = resolve;
    });
    void Promise.all([ended, known]).then(async ([finished]) => {
      const end = endOf(answer, finished, res, started);
      await completeAgentExecution(this.db, id, end, new Date().toISOString()).catch(
        (error: unknown) =>
          this.log('could not complete an audit record; it stays running', {
            id,
            project: start.project,
            status: end.status,
            err: error,
          }),
      );
    });
    try {
      await call((result) => {
        answer = { result, at: performance.now() };
        answered();
        respond(result);
      });
    } catch (error) {
      answer ??= { error, at: performance.now() };
      throw error;
    } finally {
      answered();
    }
  }
}

/** Resolves once the response has ended: true when it was sent in full, false when the client went. */
function responseEnded(res: Response): Promise<boolean> {
  return new Promise((resolve) => {
    res.once('finish', () => resolve(true));
    res.once('close', () => resolve(res.writableFinished));
  });
}

/** What a route knows of a call that its body does not say (a session's execute). */
type AuditedAs = Partial<Pick<AgentExecutionStart, 'kind' | 'project' | 'runtime'>>;

const AUDITED_AS = new WeakMap<Request, AuditedAs>();

/**
 * Records the request's call as `fields` say rather than by its body: an execute in a session
 * is of kind `session`, in the session's project and runtime.
 */
export function auditAs(req: Request, fields: AuditedAs): void {
  AUDITED_AS.set(req, fields);
}

/** What the record keeps of a call at its start: who, where, and hashes and sizes only. */
function startOf(caller: Caller, req: Request): AgentExecutionStart | undefined {
  const body: Record<string, unknown> =
    typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {};
  const as = AUDITED_AS.get(req) ?? {};
  const onlyProject =
    caller.projects.length === 1 && caller.projects[0] !== '*' ? caller.projects[0] : undefined;
  const project = as.project ?? (typeof body.project === 'string' ? body.project : onlyProject);
  if (project === undefined || checkProjectName(project) || !grants(caller, project))
    return undefined;
  const code = typeof body.code === 'string' ? body.code : undefined;
  const runtime = as.runtime ?? (typeof body.runtime === 'string' ? body.runtime : '');
  return {
    kind: as.kind ?? 'execute',
    project,
    subject: caller.subject,
    runtime: Object.hasOwn(DEFAULT_HANDLERS, runtime) ? runtime : undefined,
    codeSha256: code === undefined ? undefined : createHash('sha256').update(code).digest('hex'),
    codeBytes: code === undefined ? undefined : Buffer.byteLength(code),
    inputBytes: jsonBytes(body.input ?? null),
    requestId: req.header('x-request-id'),
  };
}

/** What the record keeps of a call at its end. */
function endOf(
  answer: Answer | undefined,
  finished: boolean,
  res: Response,
  started: number,
): AgentExecutionEnd {
  const durationMs = (answer?.at ?? performance.now()) - started;
  const problem = answer?.error instanceof Problem ? answer.error : undefined;
  const errorTitle =
    answer?.result?.error?.type ?? problem?.title ?? (answer?.error ? 'Internal error' : undefined);
  const common = { durationMs, errorTitle, executionId: answer?.result?.id };
  if (!finished) return { ...common, status: 'disconnected' };
  const length = Number(res.getHeader('content-length'));
  // A streamed result has no length of its own: its JSON's, as the unstreamed answer's.
  const resultBytes = answer?.result ? jsonBytes(answer.result) : undefined;
  const answered = {
    ...common,
    httpStatus: res.statusCode,
    outputBytes: Number.isInteger(length) ? length : resultBytes,
  };
  if (answer?.result) return { ...answered, status: answer.result.status };
  return { ...answered, status: res.statusCode < 500 ? 'refused' : 'error' };
}

/** UTF-8 bytes of a value's JSON; undefined when it cannot be serialized (nested too deep). */
function jsonBytes(value: unknown): number | undefined {
  try {
    return Buffer.byteLength(JSON.stringify(value));
  } catch {
    return undefined;
  }
}
