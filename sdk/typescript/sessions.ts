import type {
  OpenedSession,
  OpenSessionRequest,
  SessionExecuteRequest,
  SessionExecutionResult,
  SessionView,
} from '../../api/agent-sessions';
import { Http, LONG_REQUEST_TIMEOUT_MS, segment } from './http';
import type { OperationOptions } from './types';

export type { OpenedSession, OpenSessionRequest, SessionExecuteRequest, SessionView };
/** What an execute in a session answers: `execute`'s result with `sessionId` (and `sessionEnded`). */
export type SessionExecuteResult = SessionExecutionResult;

/**
 * An open agent session: a warm temporary function that runs new code on every `execute`
 * without deploying anew. Files the code leaves in its working directory (the session folder)
 * are there for the next execute; module globals are not. Close it when done (it also ends
 * after its idle timeout, or when an execute times out: `sessionEnded`).
 */
export class AgentSession {
  /** The session's id. */
  public readonly id: string;

  constructor(
    private readonly http: Http,
    /** What the API answered when it was opened. */
    public readonly opened: OpenedSession,
  ) {
    this.id = opened.id;
  }

  /**
   * Runs `code` in the session's function with `input` (or a whole request). A handler error
   * is a result with `status: "failed"`, not an exception; a timeout ends the session. An
   * ended session is a 410 `HksApiError`, an unknown one a 404.
   */
  public execute(
    code: string | SessionExecuteRequest,
    input: unknown = null,
    options: OperationOptions = {},
  ): Promise<SessionExecuteResult> {
    const request = typeof code === 'string' ? { code, input } : code;
    return this.http.json({
      method: 'POST',
      path: `/internal/v1/operations/sessions/${segment(this.id)}/execute`,
      json: request,
      timeoutMs: options.timeoutMs ?? LONG_REQUEST_TIMEOUT_MS,
    });
  }

  /** The session's state, executions so far and when it ends unless used. */
  public view(): Promise<SessionView> {
    return this.http.json({
      method: 'GET',
      path: `/internal/v1/operations/sessions/${segment(this.id)}`,
    });
  }

  /** Ends the session and deletes its function. */
  public async close(): Promise<void> {
    await this.http.send({
      method: 'DELETE',
      path: `/internal/v1/operations/sessions/${segment(this.id)}`,
    });
  }
}

/** Opens an agent session (`POST /internal/v1/operations/sessions`); waits until it is ready. */
export async function openSession(
  http: Http,
  request: OpenSessionRequest,
  options: OperationOptions = {},
): Promise<AgentSession> {
  const opened = await http.json<OpenedSession>({
    method: 'POST',
    path: '/internal/v1/operations/sessions',
    json: request,
    timeoutMs: options.timeoutMs ?? LONG_REQUEST_TIMEOUT_MS,
  });
  return new AgentSession(http, opened);
}
