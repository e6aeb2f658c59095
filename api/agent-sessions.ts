import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Knex } from 'knex';
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
import { hasFailed, KnativeApi, KnativeService, readyCondition } from './knative';
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
import {
  claimSession,
  endSession,
  getSession,
  idleSessions,
  insertSession,
  releaseSession,
  SessionRecord,
} from './store/agent-session-store';
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
/**
 * Seconds an execution's lease holds beyond its time limit: the code check before it, the log
 * read and the stop after it. A replica killed mid-execute frees the session after that.
 */
const LEASE_SLACK_SECONDS = 30;
/** Sessions whose Knative Service this replica keeps at hand; the oldest is dropped beyond. */
const KNOWN_KEPT = 1000;
/** Idle sessions one sweep ends at most (the next sweep takes the rest). */
const SWEEP_BATCH = 50;

/** The module a session's revision carries: each execution brings its own code. */
export const PLACEHOLDER_CODE: Readonly<Record<SourceRuntimeName, string>> = {
  'python3.12':
    '# An agent session: the code of each execution comes with its request.\ndef handler(event):\n    return None\n',
  nodejs20:
    '// An agent session: the code of each execution comes with its request.\nexports.handler = () => null;\n',
};

/**
 * What this replica knows of a session's function, a cache of what Kubernetes holds: the
 * session's Knative Service does not change while it lives (an expiry label aside).
 */
interface KnownFunction {
  readonly service: KnativeService;
  /** The expiry the Service's label holds (or is being given), seconds since the epoch. */
  labelledExpiry: number;
  /** The label's last update, which the next one follows. */
  labelling: Promise<void>;
}

/**
 * Agent sessions: a temporary function in session mode (its runtime loads the code each request
 * brings, only with the session's secret) that successive executions reuse warm instead of
 * deploying anew. A session is a row of the store (api/store/agent-session-store.ts), so any API
 * replica serves any session: the one execution at a time is a lease in that row, and the idle
 * end is done by whichever replica sees the session idle first (a call, or its sweep). Its
 * Knative Service is labelled ephemeral with an expiry that every execute pushes forward, so
 * that the janitor of any replica removes it should no replica end it, and counts under the
 * project's cap of temporary functions. It ends when closed, after its idle timeout, or when an
 * execution times out or its process dies (the function is deleted: the code really stops).
 */
export class AgentSessions {
  private readonly known = new Map<string, KnownFunction>();
  private readonly maxIdleSeconds: number;
  private readonly fileLimits: FileLimits;
  /** Names this replica's leases, apart from any other process's. */
  private readonly replica = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  /** The sweep's timer: unref'd, so a stopping replica simply leaves its sessions to the others. */
  private sweepTimer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly operations: Operations,
    private readonly applications: Applications,
    private readonly kube: Kube,
    private readonly knative: KnativeApi,
    /** The store's knex, shared by every replica. */
    private readonly db: Knex,
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
   * Deploys a session's function, waits until it is Ready and records the session.
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
    let record: SessionRecord;
    let known: KnownFunction;
    try {
      const applied = objects.find((o) => o.apiVersion === 'serving.knative.dev/v1');
      // After the Service, which owns it; its pod waits for it as for any missing Secret.
      await this.kube.createSecret(
        sessionSecretObject(applied as unknown as KnativeService, secret),
      );
      const service = await this.operations.awaitReady(project, id, objects, timings);
      if (hasFailed(service)) {
        const condition = readyCondition(service);
        throw new Problem(
          502,
          'Session function did not start',
          `The session's function did not become ready: ${condition?.reason ?? 'NotReady'}: ${condition?.message ?? ''}`,
        );
      }
      const now = new Date();
      record = {
        id,
        project,
        namespace,
        runtime: request.runtime,
        createdBy: caller.subject,
        secret,
        idleTimeoutSeconds,
        timeoutSeconds,
        createdAt: now.toISOString(),
        lastUsedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + idleTimeoutSeconds * 1000).toISOString(),
        executions: 0,
      };
      await insertSession(this.db, record);
      known = this.remember(id, service, expiresAt);
    } catch (error) {
      await this.remove(namespace, id);
      throw error;
    } finally {
      slot.release();
    }
    // Ready now: the deadline no longer needs the time a start may take.
    known.labelledExpiry = Math.ceil(this.expiryLabel(idleTimeoutSeconds));
    await this.labelExpiry(record, known.labelledExpiry).catch((error: unknown) =>
      this.log(
        "could not label a session function's expiry; it keeps the one it was deployed with",
        { function: `${namespace}/${id}`, err: error },
      ),
    );
    return { ...viewOf(record), timings };
  }

  /**
   * The caller's live session `id`, as the store has it. A session idle past its expiry is
   * ended here, by whichever replica the call came to.
   * @throws Problem 404 for an unknown session (or another project's), 410 for one that ended
   */
  public async find(caller: Caller, id: string): Promise<SessionRecord> {
    const record = await getSession(this.db, id);
    // Another project's session is as unknown as one that never was.
    if (!record || !grants(caller, record.project))
      throw Problem.notFound(`No session ${JSON.stringify(id)}`);
    if (record.endedAt !== undefined) throw endedProblem(record);
    if (!isIdlePast(record, new Date())) return record;
    await this.endIdle(record);
    const now = await getSession(this.db, id);
    if (now?.endedAt !== undefined) throw endedProblem(now);
    return now ?? record;
  }

  /**
   * Runs code in the session's function. The code is checked as execute-once checks it; an
   * execution that times out (or whose process dies) ends the session.
   * @param session the session {@link find} read for this call, or its id
   * @throws Problem 404 for an unknown session (or another project's), 410 for one that ended,
   *   409 while another execution runs, 400 naming a bad field
   */
  public async execute(
    caller: Caller,
    session: string | SessionRecord,
    request: SessionExecuteRequest,
  ): Promise<SessionExecutionResult> {
    const started = performance.now();
    const record = typeof session === 'string' ? await this.find(caller, session) : session;
    const id = record.id;
    if (isLeased(record, new Date())) throw busyProblem(id);
    checkInputDepth(request.input, 'input');
    checkInputFiles(request.inputFiles ?? {}, this.fileLimits);
    const timeoutSeconds = request.timeoutSeconds ?? record.timeoutSeconds;
    if (timeoutSeconds > record.timeoutSeconds) {
      throw fieldProblem(
        'timeoutSeconds',
        `given ${timeoutSeconds}, expected at most ${record.timeoutSeconds} (the session's timeoutSeconds)`,
      );
    }
    const owner = `${this.replica}:${randomBytes(4).toString('hex')}`;
    const until = new Date(Date.now() + (timeoutSeconds + LEASE_SLACK_SECONDS) * 1000);
    const timings: PhaseTimings = {};
    // The lease's round trip to the store beside the code check, not before it.
    const checkStarted = performance.now();
    const [claim, check] = await Promise.allSettled([
      claimSession(this.db, id, owner, until.toISOString(), new Date().toISOString()),
      this.checkCode(record, request).then(() => {
        timings.check = elapsed(checkStarted);
      }),
    ]);
    if (claim.status === 'rejected') throw claim.reason;
    if (!claim.value) {
      // Ended (or idle) meanwhile: find says so; else another call holds it.
      await this.find(caller, id);
      throw busyProblem(id);
    }
    let ran = false;
    try {
      if (check.status === 'rejected') throw check.reason;
      const known = await this.functionOf(record);
      // The janitor's deadline moves past this execution and a whole idle timeout, beside it.
      this.pushExpiry(record, known, timeoutSeconds);
      ran = true;
      const outcome = await this.operations.invokeOnce(
        record.project,
        id,
        request.input,
        known.service,
        timings,
        {
          inputFiles: request.inputFiles ?? {},
          session: {
            secret: record.secret ?? '',
            envelope: {
              code: request.code,
              handler: request.handler ?? DEFAULT_HANDLERS[record.runtime as SourceRuntimeName],
              timeoutSeconds,
            },
          },
        },
      );
      const ends = outcome.status === 'timeout' || outcome.status === 'killed';
      const stopped = ends ? await this.end(record, `its execution ended ${outcome.status}`) : {};
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
      // Before the answer: the caller's next execute must find the lease free.
      await releaseSession(this.db, record, owner, new Date(), ran).catch((error: unknown) =>
        this.log('could not release a session; it stays busy until its lease lapses', {
          session: id,
          leaseUntil: until.toISOString(),
          err: error,
        }),
      );
    }
  }

  /** The session's state. @throws Problem 404, 410 as {@link execute} */
  public async view(caller: Caller, id: string): Promise<SessionView> {
    return viewOf(await this.find(caller, id));
  }

  /**
   * Ends a session and deletes its function, whichever replica opened it.
   * @throws Problem 404, 410 as {@link execute}
   */
  public async close(caller: Caller, id: string): Promise<void> {
    const record = await this.find(caller, id);
    if ((await this.end(record, 'it was closed')) === undefined) {
      // Another call ended it first: say why.
      await this.find(caller, id);
    }
  }

  /**
   * Ends, every `intervalSeconds`, the sessions idle past their expiry that no call came for.
   * Every replica may run it: one conditional update ends each session, and only the replica
   * whose update did deletes the function.
   */
  public startSweeping(intervalSeconds: number): void {
    if (intervalSeconds <= 0 || this.sweepTimer) return;
    this.sweepTimer = setInterval(() => {
      this.sweeping ??= this.sweepIdle().finally(() => {
        this.sweeping = undefined;
      });
    }, intervalSeconds * 1000);
    this.sweepTimer.unref();
  }

  private async sweepIdle(): Promise<void> {
    try {
      for (const record of await idleSessions(this.db, new Date().toISOString(), SWEEP_BATCH))
        await this.endIdle(record);
    } catch (error) {
      this.log('could not sweep idle sessions; retrying at the next interval', { err: error });
    }
  }

  /** Ends a session idle past its expiry, unless a call took it or another replica ended it. */
  private async endIdle(record: SessionRecord): Promise<void> {
    const reason = `idle for ${record.idleTimeoutSeconds} s`;
    const now = new Date().toISOString();
    this.known.delete(record.id);
    if (!(await endSession(this.db, record.id, reason, now, true))) return;
    this.log('ended an idle session', { session: record.id, project: record.project });
    await this.remove(record.namespace, record.id);
  }

  /** Checks the code as execute-once does: the definition's rules and the source checker. */
  private async checkCode(record: SessionRecord, request: SessionExecuteRequest): Promise<void> {
    const body = {
      apiVersion: API_VERSION,
      kind: 'Function',
      metadata: { name: record.id, project: record.project },
      spec: {
        runtime: record.runtime,
        code: request.code,
        ...(request.handler === undefined ? {} : { handler: request.handler }),
        timeoutSeconds: record.timeoutSeconds,
        visibility: 'cluster-local',
      },
    };
    await this.applications.validate(record.project, body).catch((error: unknown) => {
      throw asRequestProblem(error);
    });
  }

  /**
   * The session's function: known to this replica since it opened or served the session, else
   * read by name (its labelled expiry with it). A session whose Service is gone is ended.
   * @throws Problem 410 when its function is gone
   */
  private async functionOf(record: SessionRecord): Promise<KnownFunction> {
    const known = this.known.get(record.id);
    if (known) return known;
    const service = await this.knative.getService(record.namespace, record.id);
    if (!service) {
      const reason = 'its function was removed';
      await this.end(record, reason);
      throw endedProblem({ ...record, endedReason: reason });
    }
    return this.remember(record.id, service, Number(service.metadata.labels?.[EXPIRES_LABEL] ?? 0));
  }

  private remember(id: string, service: KnativeService, labelledExpiry: number): KnownFunction {
    const known: KnownFunction = { service, labelledExpiry, labelling: Promise.resolve() };
    this.known.set(id, known);
    if (this.known.size > KNOWN_KEPT) this.known.delete(this.known.keys().next().value as string);
    return known;
  }

  /**
   * Labels the session's Knative Service with an expiry `busySeconds` plus a whole idle timeout
   * (and the grace) from now, the deadline the janitor reads. Its own field manager owns only
   * that label; a label is metadata, so no new revision comes of it. Off the execute's path:
   * the updates of one session on this replica follow each other, and one that would move the
   * label by less than {@link LABEL_SLACK_SECONDS} (within the grace) is left out, so that a
   * busy session does not write to the Kubernetes API on every execute.
   */
  private pushExpiry(record: SessionRecord, known: KnownFunction, busySeconds: number): void {
    const expiry = Math.ceil(this.expiryLabel(busySeconds + record.idleTimeoutSeconds));
    const slack = Math.min(LABEL_SLACK_SECONDS, this.graceSeconds);
    if (expiry - known.labelledExpiry <= slack) return;
    known.labelledExpiry = expiry;
    known.labelling = known.labelling
      .then(() => this.labelExpiry(record, expiry))
      .catch((error: unknown) =>
        this.log("could not push a session function's expiry; the janitor may remove it early", {
          function: `${record.namespace}/${record.id}`,
          err: error,
        }),
      );
  }

  private async labelExpiry(record: SessionRecord, expiry: number): Promise<void> {
    const object: KubeObject = {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {
        name: record.id,
        namespace: record.namespace,
        labels: { [EXPIRES_LABEL]: String(expiry) },
      },
    };
    await this.kube.apply(object, false, 'hks-api-sessions');
  }

  /** Seconds since the epoch at which the janitor may remove a function `seconds` from now. */
  private expiryLabel(seconds: number): number {
    return Date.now() / 1000 + seconds + this.graceSeconds;
  }

  /**
   * Ends the session in the store (recording why) and, when this call ended it, deletes its
   * function, waiting until its pods are gone; the Secret goes with the Service.
   * @returns `stopped`: whether they went within the wait; undefined when another call had
   *   ended it already
   */
  private async end(
    record: SessionRecord,
    reason: string,
  ): Promise<{ stopped: boolean } | undefined> {
    this.known.delete(record.id);
    if (!(await endSession(this.db, record.id, reason, new Date().toISOString()))) return undefined;
    const stopped = await this.operations.stopNow(record.project, record.id, () =>
      this.remove(record.namespace, record.id),
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

/** Whether an execution's lease holds the session at `now`. */
function isLeased(record: SessionRecord, now: Date): boolean {
  return record.runningUntil !== undefined && record.runningUntil >= now.toISOString();
}

/** Whether a live session is idle past its expiry at `now`, no lease holding it. */
function isIdlePast(record: SessionRecord, now: Date): boolean {
  return !isLeased(record, now) && record.expiresAt < now.toISOString();
}

function viewOf(record: SessionRecord): SessionView {
  return {
    id: record.id,
    project: record.project,
    runtime: record.runtime as SourceRuntimeName,
    state: isLeased(record, new Date()) ? 'running' : 'idle',
    executions: record.executions,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    idleTimeoutSeconds: record.idleTimeoutSeconds,
    timeoutSeconds: record.timeoutSeconds,
    ...(record.createdBy === undefined ? {} : { createdBy: record.createdBy }),
  };
}

function endedProblem(record: Pick<SessionRecord, 'id' | 'endedReason'>): Problem {
  return new Problem(
    410,
    'Session ended',
    `Session ${JSON.stringify(record.id)} has ended (${record.endedReason ?? 'unknown'}); open a new one`,
  );
}

function busyProblem(id: string): Problem {
  return new Problem(
    409,
    'Session busy',
    `Session ${JSON.stringify(id)} is running an execution; a session runs one at a time`,
  );
}

function fieldProblem(field: string, message: string): Problem {
  return new Problem(400, 'Invalid request body', `body.${field}: ${message}`, [
    { path: field, message },
  ]);
}
