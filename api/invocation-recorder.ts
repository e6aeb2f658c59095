import { LOG_RESULT_HEADER, splitLogTail } from '../runtimes/log-records';
import { TOO_LARGE_TITLE } from './function-proxy';
import type { InvocationMetrics } from './metrics';
import { Problem } from './problem';
import type {
  FunctionInvocation,
  InvocationError,
  InvocationStatus,
  InvocationStore,
  InvocationTrigger,
} from './store/invocation-store';

/** Response header in which the platform's runtimes name the revision that answered (`K_REVISION`). */
export const REVISION_HEADER = 'x-hks-revision';

/** Response header of the first answer of a runtime instance: its load time in milliseconds (cold start). */
export const INIT_HEADER = 'x-hks-init-ms';

/** Writes of the history at most pending at once; past it an invocation goes unrecorded (logged). */
export const MAX_PENDING_WRITES = 1000;

/** What is known of an invocation when it is sent. */
export interface InvocationStart {
  readonly id: string;
  readonly project: string;
  readonly function: string;
  readonly trigger: InvocationTrigger;
  readonly tag?: string;
  readonly clientRequestId?: string;
  /** The revision the traffic sends it to, when only one can answer. @default - unknown */
  readonly revision?: string;
  readonly requestBytes: number;
  /** An execute-once or deployed temporary function (aggregated in the metrics). @default false */
  readonly temporary?: boolean;
  /** `faas.cron` of a timer invocation. @default - none: not a timer */
  readonly cron?: string;
  /** `faas.time` of a timer invocation: when it was due (ISO 8601). @default - none: not a timer */
  readonly scheduledTime?: string;
  /** CPU the function's container requests, in millicores (usage). @default - not known */
  readonly cpuMillis?: number;
  /** Memory the function's container requests, in bytes (usage). @default - not known */
  readonly memoryBytes?: number;
}

/** How the function's answer ended. */
export interface InvocationEnd {
  /** Bytes of the answer passed on. @default - none: no answer */
  readonly responseBytes?: number;
  /** Why no complete answer was passed on. @default - none: it was */
  readonly error?: unknown;
  /** The client went before the answer was complete. @default false */
  readonly clientGone?: boolean;
  /**
   * The answer a streamed response carried in its last record: its status and headers (log
   * tail included) are recorded instead of the stream's own 200.
   * @default - the response's own status and headers
   */
  readonly answer?: { readonly status: number; readonly headers: Readonly<Record<string, string>> };
}

/**
 * Records invocations in the history without holding them up: the row is written after the
 * answer, not awaited, and a failed write is logged while the invocation has answered anyway.
 */
export class InvocationRecorder {
  private pending = 0;

  constructor(
    private readonly store: InvocationStore,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void,
    private readonly metrics?: InvocationMetrics,
  ) {}

  /** Starts the record of one invocation; {@link RecordingInvocation.end} writes it. */
  public start(start: InvocationStart): RecordingInvocation {
    return new RecordingInvocation(start, (invocation, handlerMs) => {
      this.metrics?.invoked(invocation, { temporary: start.temporary ?? false, handlerMs });
      this.write(invocation);
    });
  }

  private write(invocation: FunctionInvocation): void {
    const fields = { function: `${invocation.project}/${invocation.function}`, id: invocation.id };
    if (this.pending >= MAX_PENDING_WRITES) {
      this.log('invocation not recorded: too many history writes pending', fields);
      return;
    }
    this.pending++;
    void this.store
      .insert(invocation)
      .catch((error: unknown) =>
        this.log('could not record an invocation', { ...fields, err: error }),
      )
      .finally(() => this.pending--);
  }
}

/** One invocation being recorded: what its answer said, then how it ended. */
export class RecordingInvocation {
  private readonly startedAt = new Date();
  private readonly started = performance.now();
  private answer?: {
    status: number;
    revision?: string;
    logs?: string;
    error?: InvocationError;
    handlerMs?: number;
    initMs?: number;
  };
  private ended = false;

  constructor(
    private readonly start: InvocationStart,
    private readonly write: (invocation: FunctionInvocation, handlerMs?: number) => void,
  ) {}

  /** Takes the function's status, its revision header and its log tail (before they are stripped). */
  public answered(status: number, headers: Readonly<Record<string, string>>): void {
    const tail = headers[LOG_RESULT_HEADER];
    const split = tail === undefined ? undefined : splitLogTail(tail);
    // Only the runtime's own record of this invocation counts (the code could print a lookalike).
    const record = split?.record?.requestId === this.start.id ? split.record : undefined;
    const error = record?.error;
    this.answer = {
      status,
      revision: headers[REVISION_HEADER] || undefined,
      logs: split === undefined ? undefined : record ? split.output : undefined,
      handlerMs: record?.durationMs,
      initMs: initMsOf(headers[INIT_HEADER]),
      error:
        typeof error === 'string'
          ? { type: status === 504 ? 'Timeout' : 'Error', message: error }
          : error === undefined
            ? undefined
            : {
                type: error.type ?? 'Error',
                message: error.message ?? '',
                ...(error.stack === undefined ? {} : { stack: error.stack }),
              },
    };
  }

  /** Writes the record; only the first call counts. */
  public end(end: InvocationEnd = {}): void {
    if (this.ended) return;
    this.ended = true;
    if (end.answer) this.answered(end.answer.status, end.answer.headers);
    const { revision, temporary: _temporary, ...start } = this.start;
    const answer = this.answer;
    const status = statusOf(answer?.status, end);
    this.write(
      {
        ...start,
        revision: answer?.revision ?? revision,
        startedAt: this.startedAt.toISOString(),
        durationMs: Math.round((performance.now() - this.started) * 10) / 10,
        status,
        httpStatus: answer?.status,
        responseBytes: end.responseBytes,
        error: answer?.error ?? platformError(status, end.error),
        logs: answer?.logs,
        initMs: answer?.initMs,
      },
      answer?.handlerMs,
    );
  }
}

/** The runtime's load time, when it sent one that is a number of milliseconds. */
function initMsOf(value: string | undefined): number | undefined {
  const ms = value === undefined || value === '' ? NaN : Number(value);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

function statusOf(httpStatus: number | undefined, end: InvocationEnd): InvocationStatus {
  const { error } = end;
  if (end.clientGone || (error instanceof Problem && error.status === 499)) return 'client-gone';
  if (error instanceof Problem && error.status === 504) return 'timeout';
  if (error instanceof Problem && error.title === TOO_LARGE_TITLE) return 'too-large';
  if (error !== undefined) return 'unreachable';
  if (httpStatus === undefined) return 'unreachable';
  if (httpStatus === 504) return 'timeout';
  return httpStatus < 400 ? 'succeeded' : 'failed';
}

/** Why the platform passed no complete answer on, in the words of the problem it gave. */
function platformError(status: InvocationStatus, error: unknown): InvocationError | undefined {
  if (status === 'client-gone' && !(error instanceof Problem))
    return { type: 'ClientGone', message: 'The client went before the whole answer was passed on' };
  if (error === undefined) return undefined;
  const type = {
    'client-gone': 'ClientGone',
    timeout: 'Timeout',
    'too-large': 'ResponseTooLarge',
  }[status as string];
  const message = error instanceof Problem ? error.detail : String(error);
  return { type: type ?? 'Unreachable', message };
}
