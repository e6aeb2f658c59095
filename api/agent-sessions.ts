import { randomBytes } from 'node:crypto';
import { API_VERSION, DEFAULT_HANDLERS, SourceRuntimeName } from '../constructs';
import { Applications } from './applications';
import { Caller, grants } from './auth';
import {
  checkInputFiles,
  DEFAULT_FILE_LIMITS,
  ExecutionFiles,
  FileLimits,
} from './execution-files';
import { EXPIRES_LABEL } from './functions';
import { hasFailed, KnativeService, readyCondition } from './knative';
import { Kube, KubeObject } from './kube';
import {
  asRequestProblem,
  checkInputDepth,
  elapsed,
  ExecutionResult,
  OperationTimings,
  Operations,
  PhaseTimings,
  projectOf,
  removeObjects,
} from './operations';
import { Problem } from './problem';
import { newSessionSecret, sessionPlatformEnv, sessionSecretObject } from './session-secret';
import { DEFAULT_SESSION_IDLE_SECONDS, DEFAULT_SESSION_MAX_IDLE_SECONDS } from './session-config';

export { DEFAULT_SESSION_IDLE_SECONDS, DEFAULT_SESSION_MAX_IDLE_SECONDS };

/** `POST /internal/v1/operations/sessions`: a warm function for successive executions. */
export interface OpenSessionRequest {
  /** @default - the one project the token grants */
  readonly project?: string;
  readonly runtime: SourceRuntimeName;
  /** Variables of the session's function. @default - none */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Seconds without an execute after which the session ends, 1 to the configured maximum.
   * @default 300, or the maximum when that is less
   */
  readonly idleTimeoutSeconds?: number;
  /** Time limit of each execute, 1 to 600 (an execute may ask for less). @default 30 */
  readonly timeoutSeconds?: number;
}

/** `POST /internal/v1/operations/sessions/:id/execute`. */
export interface SessionExecuteRequest {
  /** Source of the handler module, loaded anew for this execution. */
  readonly code: string;
  /** @default "main.handler" (python3.12), "index.handler" (nodejs20) */
  readonly handler?: string;
  /** The event passed to the handler. @default null */
  readonly input?: unknown;
  /** At most the session's `timeoutSeconds`. @default - the session's */
  readonly timeoutSeconds?: number;
  /** Files placed under `input/` of the session folder for this execution. @default - none */
  readonly inputFiles?: ExecutionFiles;
}

/** A session as its owner sees it. */
export interface SessionView {
  readonly id: string;
  readonly project: string;
  readonly runtime: SourceRuntimeName;
  /** `idle`: ready for an execute; `running`: one is in progress. */
  readonly state: 'idle' | 'running';
  readonly executions: number;
  readonly createdAt: string;
  /** When the session ends unless an execute comes first. */
  readonly expiresAt: string;
  readonly idleTimeoutSeconds: number;
  readonly timeoutSeconds: number;
  /** The subject of the token that opened it. */
  readonly createdBy?: string;
}

/** The answer of opening a session. */
export interface OpenedSession extends SessionView {
  readonly timings: OperationTimings;
}

/** What an execute in a session answers: the execute envelope with the session's id. */
export interface SessionExecutionResult extends ExecutionResult {
  readonly sessionId: string;
  /** Present (true) when this execution ended the session (a timeout, its process killed). */
  readonly sessionEnded?: boolean;
}

/** Limits of sessions. */
export interface SessionLimits {
  /** Longest idle timeout a session may ask for (`HKS_SESSION_MAX_IDLE_SECONDS`). @default 3600 */
  readonly maxIdleSeconds?: number;
  /** Caps on an execution's input and output files. @default - {@link DEFAULT_FILE_LIMITS} */
  readonly fileLimits?: FileLimits;
}

/** Seconds by which an execute must move a session's expiry label before it is written. */
const LABEL_SLACK_SECONDS = 5;
/** How many ended sessions are remembered, to answer 410 (and why) instead of 404. */
const ENDED_KEPT = 1000;

/** The module a session's revision carries: each execution brings its own code. */
export const PLACEHOLDER_CODE: Readonly<Record<SourceRuntimeName, string>> = {
  'python3.12':
    '# An agent session: the code of each execution comes with its request.\ndef handler(event):\n    return None\n',
  nodejs20:
    '// An agent session: the code of each execution comes with its request.\nexports.handler = () => null;\n',
};

/** A live session, in the memory of the API replica that opened it. */
interface Session {
  readonly id: string;
  readonly project: string;
  readonly namespace: string;
  readonly runtime: SourceRuntimeName;
  /** The creating token's subject. */
  readonly subject?: string;
  readonly secret: string;
  readonly service: KnativeService;
  readonly idleTimeoutSeconds: number;
  readonly timeoutSeconds: number;
  readonly createdAt: number;
  lastUsedAt: number;
  executions: number;
  running: boolean;
  timer?: NodeJS.Timeout;
  /** The expiry the Service's label holds (or is being given), seconds since the epoch. */
  labelledExpiry: number;
  /** The label's last update, which the next one follows. */
  labelling: Promise<void>;
}

/** Why a session is gone, kept for its owner's next call. */
interface EndedSession {
  readonly project: string;
  readonly reason: string;
}

/**
 * Agent sessions: a temporary function in session mode (its runtime loads the code each request
 * brings, only with the session's secret) that successive executions reuse warm instead of
 * deploying anew. A session is kept in the memory of the API replica that opened it, with its
 * secret; its Knative Service is labelled ephemeral with an expiry that every execute pushes
 * forward, so that the janitor of any replica removes it after a crash, and counts under the
 * project's cap of temporary functions. It ends when closed, after its idle timeout, or when an
 * execution times out or its process dies (the function is deleted: the code really stops).
 */
export class AgentSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly ended = new Map<string, EndedSession>();
  private readonly maxIdleSeconds: number;
  private readonly fileLimits: FileLimits;

  constructor(
    private readonly operations: Operations,
    private readonly applications: Applications,
    private readonly kube: Kube,
    /** How long a deploy waits for Ready, in ms (the expiry label covers it). */
    private readonly readyTimeoutMs: number,
    /** Seconds a session's function outlives its idle expiry before the janitor removes it. */
    private readonly graceSeconds: number,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void,
    limits: SessionLimits = {},
  ) {
    this.maxIdleSeconds = limits.maxIdleSeconds ?? DEFAULT_SESSION_MAX_IDLE_SECONDS;
    this.fileLimits = limits.fileLimits ?? DEFAULT_FILE_LIMITS;
  }

  /**
   * Deploys a session's function and waits until it is Ready.
   * @throws Problem 400 naming a bad field, 429 at the project's cap, 502 when it did not start
   */
  public async open(caller: Caller, request: OpenSessionRequest): Promise<OpenedSession> {
    const project = projectOf(caller, request.project);
    const idleTimeoutSeconds =
      request.idleTimeoutSeconds ?? Math.min(DEFAULT_SESSION_IDLE_SECONDS, this.maxIdleSeconds);
    if (idleTimeoutSeconds > this.maxIdleSeconds) {
      throw fieldProblem(
        'idleTimeoutSeconds',
        `given ${idleTimeoutSeconds}, expected at most ${this.maxIdleSeconds} seconds (HKS_SESSION_MAX_IDLE_SECONDS)`,
      );
    }
    const timeoutSeconds = request.timeoutSeconds ?? 30;
    const id = `sess-${randomBytes(6).toString('hex')}`;
    const timings: PhaseTimings = {};
    const expiresAt = this.expiryLabel(this.readyTimeoutMs / 1000 + idleTimeoutSeconds);
    const { objects, slot } = await this.operations.deploy(
      project,
      id,
      {
        runtime: request.runtime,
        code: PLACEHOLDER_CODE[request.runtime],
        env: request.env,
        timeoutSeconds,
      },
      expiresAt,
      timings,
      sessionPlatformEnv(id),
    );
    const namespace = this.applications.namespaceOf(project);
    const secret = newSessionSecret();
    let service: KnativeService;
    try {
      const applied = objects.find((o) => o.apiVersion === 'serving.knative.dev/v1');
      // After the Service, which owns it; its pod waits for it as for any missing Secret.
      await this.kube.createSecret(
        sessionSecretObject(applied as unknown as KnativeService, secret),
      );
      service = await this.operations.awaitReady(project, id, objects, timings);
      if (hasFailed(service)) {
        const condition = readyCondition(service);
        throw new Problem(
          502,
          'Session function did not start',
          `The session's function did not become ready: ${condition?.reason ?? 'NotReady'}: ${condition?.message ?? ''}`,
        );
      }
    } catch (error) {
      await this.remove(namespace, id);
      throw error;
    } finally {
      slot.release();
    }
    const now = Date.now();
    const session: Session = {
      id,
      project,
      namespace,
      runtime: request.runtime,
      subject: caller.subject,
      secret,
      service,
      idleTimeoutSeconds,
      timeoutSeconds,
      createdAt: now,
      lastUsedAt: now,
      executions: 0,
      running: false,
      labelledExpiry: expiresAt,
      labelling: Promise.resolve(),
    };
    // Ready now: the deadline no longer needs the time a start may take.
    session.labelledExpiry = Math.ceil(this.expiryLabel(idleTimeoutSeconds));
    await this.labelExpiry(session, session.labelledExpiry).catch((error: unknown) =>
      this.log(
        "could not label a session function's expiry; it keeps the one it was deployed with",
        {
          function: `${namespace}/${id}`,
          err: error,
        },
      ),
    );
    this.sessions.set(id, session);
    this.armIdleTimer(session);
    return { ...viewOf(session), timings };
  }

  /**
   * Runs code in the session's function. The code is checked as execute-once checks it; an
   * execution that times out (or whose process dies) ends the session.
   * @throws Problem 404 for an unknown session (or another project's), 410 for one that ended,
   *   409 while another execution runs, 400 naming a bad field
   */
  public async execute(
    caller: Caller,
    id: string,
    request: SessionExecuteRequest,
  ): Promise<SessionExecutionResult> {
    const started = performance.now();
    const session = this.find(caller, id);
    if (session.running) {
      throw new Problem(
        409,
        'Session busy',
        `Session ${JSON.stringify(id)} is running an execution; a session runs one at a time`,
      );
    }
    checkInputDepth(request.input, 'input');
    checkInputFiles(request.inputFiles ?? {}, this.fileLimits);
    const timeoutSeconds = request.timeoutSeconds ?? session.timeoutSeconds;
    if (timeoutSeconds > session.timeoutSeconds) {
      throw fieldProblem(
        'timeoutSeconds',
        `given ${timeoutSeconds}, expected at most ${session.timeoutSeconds} (the session's timeoutSeconds)`,
      );
    }
    session.running = true;
    clearTimeout(session.timer);
    const timings: PhaseTimings = {};
    try {
      const checkStarted = performance.now();
      await this.checkCode(session, request);
      timings.check = elapsed(checkStarted);
      // The janitor's deadline moves past this execution and a whole idle timeout, beside it.
      this.pushExpiry(session, timeoutSeconds);
      const outcome = await this.operations.invokeOnce(
        session.project,
        id,
        request.input,
        session.service,
        timings,
        {
          inputFiles: request.inputFiles ?? {},
          session: {
            secret: session.secret,
            envelope: {
              code: request.code,
              handler: request.handler ?? DEFAULT_HANDLERS[session.runtime],
              timeoutSeconds,
            },
          },
        },
      );
      session.executions++;
      const ends = outcome.status === 'timeout' || outcome.status === 'killed';
      const stopped = ends ? await this.end(session, `its execution ended ${outcome.status}`) : {};
      return {
        id,
        sessionId: id,
        ...this.operations.capped(outcome),
        ...stopped,
        ...(ends ? { sessionEnded: true } : {}),
        durationMs: elapsed(started),
        timings: { ...timings },
      };
    } finally {
      session.running = false;
      session.lastUsedAt = Date.now();
      if (this.sessions.has(id)) this.armIdleTimer(session);
    }
  }

  /** The session's state. @throws Problem 404, 410 as {@link execute} */
  public view(caller: Caller, id: string): SessionView {
    return viewOf(this.find(caller, id));
  }

  /** Ends a session and deletes its function. @throws Problem 404, 410 as {@link execute} */
  public async close(caller: Caller, id: string): Promise<void> {
    await this.end(this.find(caller, id), 'it was closed');
  }

  /** Ends every session of this process (the API is stopping). */
  public async closeAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => this.end(s, 'the API stopped')));
  }

  /** The caller's live session `id`. */
  private find(caller: Caller, id: string): Session {
    const session = this.sessions.get(id);
    if (session && grants(caller, session.project)) return session;
    const ended = this.ended.get(id);
    if (!session && ended && grants(caller, ended.project)) {
      throw new Problem(
        410,
        'Session ended',
        `Session ${JSON.stringify(id)} has ended (${ended.reason}); open a new one`,
      );
    }
    // Another project's session is as unknown as one that never was.
    throw Problem.notFound(
      `No session ${JSON.stringify(id)} (sessions are served by the API replica that opened them)`,
    );
  }

  /** Checks the code as execute-once does: the definition's rules and the source checker. */
  private async checkCode(session: Session, request: SessionExecuteRequest): Promise<void> {
    const body = {
      apiVersion: API_VERSION,
      kind: 'Function',
      metadata: { name: session.id, project: session.project },
      spec: {
        runtime: session.runtime,
        code: request.code,
        ...(request.handler === undefined ? {} : { handler: request.handler }),
        timeoutSeconds: session.timeoutSeconds,
        visibility: 'cluster-local',
      },
    };
    await this.applications.validate(session.project, body).catch((error: unknown) => {
      throw asRequestProblem(error);
    });
  }

  /**
   * Labels the session's Knative Service with an expiry `busySeconds` plus a whole idle timeout
   * (and the grace) from now, the deadline the janitor reads. Its own field manager owns only
   * that label; a label is metadata, so no new revision comes of it. Off the execute's path:
   * the updates of one session follow each other, and one that would move the label by less
   * than {@link LABEL_SLACK_SECONDS} (within the grace) is left out, so that a busy session
   * does not write to the Kubernetes API on every execute.
   */
  private pushExpiry(session: Session, busySeconds: number): void {
    const expiry = Math.ceil(this.expiryLabel(busySeconds + session.idleTimeoutSeconds));
    const slack = Math.min(LABEL_SLACK_SECONDS, this.graceSeconds);
    if (expiry - session.labelledExpiry <= slack) return;
    session.labelledExpiry = expiry;
    session.labelling = session.labelling
      .then(() => this.labelExpiry(session, expiry))
      .catch((error: unknown) =>
        this.log("could not push a session function's expiry; the janitor may remove it early", {
          function: `${session.namespace}/${session.id}`,
          err: error,
        }),
      );
  }

  private async labelExpiry(session: Session, expiry: number): Promise<void> {
    const object: KubeObject = {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {
        name: session.id,
        namespace: session.namespace,
        labels: { [EXPIRES_LABEL]: String(expiry) },
      },
    };
    await this.kube.apply(object, false, 'hks-api-sessions');
  }

  /** Seconds since the epoch at which the janitor may remove a function `seconds` from now. */
  private expiryLabel(seconds: number): number {
    return Date.now() / 1000 + seconds + this.graceSeconds;
  }

  private armIdleTimer(session: Session): void {
    clearTimeout(session.timer);
    session.timer = setTimeout(() => {
      void this.end(session, `idle for ${session.idleTimeoutSeconds} s`);
    }, session.idleTimeoutSeconds * 1000);
    session.timer.unref();
  }

  /**
   * Forgets the session (remembering why) and deletes its function, waiting until its pods are
   * gone; the Secret goes with the Service.
   * @returns `stopped`: whether they went within the wait
   */
  private async end(session: Session, reason: string): Promise<{ stopped: boolean }> {
    clearTimeout(session.timer);
    if (!this.sessions.delete(session.id)) return { stopped: true };
    this.ended.set(session.id, { project: session.project, reason });
    if (this.ended.size > ENDED_KEPT) this.ended.delete(this.ended.keys().next().value as string);
    const stopped = await this.operations.stopNow(session.project, session.id, () =>
      this.remove(session.namespace, session.id),
    );
    return { stopped };
  }

  private async remove(namespace: string, name: string): Promise<void> {
    try {
      await removeObjects(this.kube, namespace, name);
    } catch (error) {
      this.log('could not delete a session function; the janitor removes it once expired', {
        function: `${namespace}/${name}`,
        err: error,
      });
    }
  }
}

function viewOf(session: Session): SessionView {
  return {
    id: session.id,
    project: session.project,
    runtime: session.runtime,
    state: session.running ? 'running' : 'idle',
    executions: session.executions,
    createdAt: new Date(session.createdAt).toISOString(),
    expiresAt: new Date(session.lastUsedAt + session.idleTimeoutSeconds * 1000).toISOString(),
    idleTimeoutSeconds: session.idleTimeoutSeconds,
    timeoutSeconds: session.timeoutSeconds,
    ...(session.subject === undefined ? {} : { createdBy: session.subject }),
  };
}

function fieldProblem(field: string, message: string): Problem {
  return new Problem(400, 'Invalid request body', `body.${field}: ${message}`, [
    { path: field, message },
  ]);
}
