/**
 * The invocation history of functions, on SQLite and PostgreSQL alike (migration
 * 009_function_invocations): one row per invocation the API passed to a function, written
 * once when it ended, read newest first per function or per project. Times are ISO strings
 * as `toISOString` writes them, so they compare as text; every page walks an index in its
 * order, never a sort of the history.
 */
import type { Knex } from 'knex';
import { CursorError } from './execution-queries';

/**
 * What made an invocation, with the meaning of OpenTelemetry's `faas.trigger`: `http` the
 * invoke route, `execute` execute-once; `timer` (schedules), `async` and `event` (event
 * triggers) are kept for the triggers to come.
 */
export const INVOCATION_TRIGGERS = ['http', 'execute', 'timer', 'async', 'event'] as const;
export type InvocationTrigger = (typeof INVOCATION_TRIGGERS)[number];

/**
 * How an invocation ended: the function answered below 400 (`succeeded`) or 400 and above
 * (`failed`, but 504: `timeout`); it did not answer within its timeout (`timeout`); its answer
 * was over the response limit (`too-large`); it could not be reached or stopped answering half
 * way (`unreachable`); the client went before the answer was complete (`client-gone`).
 */
export const INVOCATION_STATUSES = [
  'succeeded',
  'failed',
  'timeout',
  'too-large',
  'unreachable',
  'client-gone',
] as const;
export type InvocationStatus = (typeof INVOCATION_STATUSES)[number];

/** One recorded invocation of a function. */
export interface FunctionInvocation {
  /** The API's id of the invocation (a UUID): the `X-Request-Id` the function was sent. */
  readonly id: string;
  readonly project: string;
  readonly function: string;
  /** The revision that answered. @default - none: not known (an image without the platform's runtime) */
  readonly revision?: string;
  /** The traffic tag it was sent to (`?tag=`). @default - none: the traffic split */
  readonly tag?: string;
  readonly trigger: InvocationTrigger;
  /** The client's own `X-Request-Id`, kept to correlate; not unique. @default - none given */
  readonly clientRequestId?: string;
  /** `faas.cron` of a timer invocation: its schedule. @default - none: not a timer */
  readonly cron?: string;
  /** `faas.time` of a timer invocation: when it was due (ISO 8601). @default - none: not a timer */
  readonly scheduledTime?: string;
  readonly startedAt: string;
  /** From sending the request to the end of the function's answer (or the failure). */
  readonly durationMs: number;
  readonly status: InvocationStatus;
  /** The status the function answered. @default - none: no answer came */
  readonly httpStatus?: number;
  readonly requestBytes: number;
  /** Bytes of the function's answer. @default - none: no answer came */
  readonly responseBytes?: number;
  /** The error the function raised, or why the platform got no answer. @default - none */
  readonly error?: InvocationError;
  /**
   * What the code wrote during the invocation, as its runtime returned it (`X-Hks-Log: tail`).
   * @default - none: the runtime returned none (output over its 8 KiB, or an image without it)
   */
  readonly logs?: string;
  /** CPU the function's container requested, in millicores (usage). @default - not known */
  readonly cpuMillis?: number;
  /** Memory the function's container requested, in bytes (usage). @default - not known */
  readonly memoryBytes?: number;
  /** The runtime's load time on a cold instance (`X-Hks-Init-Ms`). @default - none: a warm instance */
  readonly initMs?: number;
}

/** An invocation's error, as data. */
export interface InvocationError {
  readonly type: string;
  readonly message: string;
  readonly stack?: string;
}

/** Which invocations a page holds. */
export interface InvocationFilter {
  readonly project: string;
  /** Only this function's. @default - every function of the project */
  readonly function?: string;
  /** @default - all */
  readonly status?: InvocationStatus;
  /** @default - all */
  readonly trigger?: InvocationTrigger;
  /** Only invocations that started at or after this instant (ISO 8601). @default - no bound */
  readonly since?: string;
  /** Only invocations that started before this instant (ISO 8601). @default - no bound */
  readonly until?: string;
}

/** A page of invocations, newest first, without their logs. */
export interface InvocationPage {
  readonly items: FunctionInvocation[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  readonly nextCursor?: string;
}

type Row = Record<string, unknown>;

const TABLE = 'function_invocations';

/** The columns of an invocation but its logs (a page never carries them). */
const LISTED_COLUMNS = [
  'id',
  'project',
  'function',
  'revision',
  'tag',
  'trigger',
  'client_request_id',
  'cron',
  'scheduled_time',
  'started_at',
  'duration_ms',
  'status',
  'http_status',
  'request_bytes',
  'response_bytes',
  'error_type',
  'error_message',
  'error_stack',
  'cpu_millis',
  'memory_bytes',
  'init_ms',
];

/**
 * The read of one page (a row more than `limit`), newest first, the id ordering invocations of
 * the same millisecond. A function's page walks `function_invocations_by_function` (or its
 * `_status`/`_trigger` sibling), a project's `function_invocations_by_project`(`_status`); the
 * time bounds and the cursor are ranges on the index's `started_at, id`.
 */
export function invocationPageQuery(
  db: Knex,
  filter: InvocationFilter,
  page: { limit: number; cursor?: string },
): Knex.QueryBuilder {
  let query = db(TABLE)
    .select(LISTED_COLUMNS)
    .where({ project: filter.project })
    .orderBy([
      { column: 'started_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(page.limit + 1);
  if (filter.function !== undefined) query = query.andWhere({ function: filter.function });
  if (filter.status !== undefined) query = query.andWhere({ status: filter.status });
  if (filter.trigger !== undefined) query = query.andWhere({ trigger: filter.trigger });
  if (filter.since !== undefined) query = query.andWhere('started_at', '>=', filter.since);
  if (filter.until !== undefined) query = query.andWhere('started_at', '<', filter.until);
  if (page.cursor !== undefined) {
    const [startedAt, id] = decodeCursor(page.cursor);
    query = query.andWhereRaw('(started_at, id) < (?, ?)', [startedAt, id]);
  }
  return query;
}

/** Reads and writes of the invocation history. */
export class InvocationStore {
  constructor(private readonly db: Knex) {}

  /** Stores an ended invocation; one recorded twice (same id) keeps the first record. */
  public async insert(invocation: FunctionInvocation): Promise<void> {
    await this.db(TABLE).insert(toRow(invocation)).onConflict('id').ignore();
  }

  /** One invocation of a function, with its logs. */
  public async get(
    project: string,
    name: string,
    id: string,
  ): Promise<FunctionInvocation | undefined> {
    const row = (await this.db(TABLE).where({ project, function: name, id }).first()) as
      Row | undefined;
    return row ? toInvocation(row) : undefined;
  }

  /** A page of invocations, newest first (see {@link invocationPageQuery}). */
  public async list(
    filter: InvocationFilter,
    page: { limit: number; cursor?: string },
  ): Promise<InvocationPage> {
    const rows = (await invocationPageQuery(this.db, filter, page)) as Row[];
    const items = rows.slice(0, page.limit).map(toInvocation);
    const last = items.at(-1);
    return {
      items,
      nextCursor: rows.length > page.limit && last ? encodeCursor(last) : undefined,
    };
  }
}

function toRow(i: FunctionInvocation): Row {
  return {
    id: i.id,
    project: i.project,
    function: i.function,
    revision: i.revision ?? null,
    tag: i.tag ?? null,
    trigger: i.trigger,
    client_request_id: i.clientRequestId ?? null,
    cron: i.cron ?? null,
    scheduled_time: i.scheduledTime ?? null,
    started_at: i.startedAt,
    duration_ms: i.durationMs,
    status: i.status,
    http_status: i.httpStatus ?? null,
    request_bytes: i.requestBytes,
    response_bytes: i.responseBytes ?? null,
    error_type: i.error?.type ?? null,
    error_message: i.error?.message ?? null,
    error_stack: i.error?.stack ?? null,
    logs: i.logs ?? null,
    cpu_millis: i.cpuMillis ?? null,
    memory_bytes: i.memoryBytes ?? null,
    init_ms: i.initMs ?? null,
  };
}

function toInvocation(row: Row): FunctionInvocation {
  const text = (value: unknown) =>
    value === null || value === undefined ? undefined : String(value);
  const number = (value: unknown) =>
    value === null || value === undefined ? undefined : Number(value);
  const errorType = text(row.error_type);
  const stack = text(row.error_stack);
  return {
    id: String(row.id),
    project: String(row.project),
    function: String(row.function),
    revision: text(row.revision),
    tag: text(row.tag),
    trigger: String(row.trigger) as InvocationTrigger,
    clientRequestId: text(row.client_request_id),
    cron: text(row.cron),
    scheduledTime: text(row.scheduled_time),
    startedAt: String(row.started_at),
    durationMs: Number(row.duration_ms),
    status: String(row.status) as InvocationStatus,
    httpStatus: number(row.http_status),
    requestBytes: Number(row.request_bytes),
    responseBytes: number(row.response_bytes),
    error:
      errorType === undefined
        ? undefined
        : {
            type: errorType,
            message: text(row.error_message) ?? '',
            ...(stack === undefined ? {} : { stack }),
          },
    logs: text(row.logs),
    cpuMillis: number(row.cpu_millis),
    memoryBytes: number(row.memory_bytes),
    initMs: number(row.init_ms),
  };
}

function encodeCursor(last: FunctionInvocation): string {
  return Buffer.from(JSON.stringify([last.startedAt, last.id])).toString('base64url');
}

/** @throws CursorError for anything {@link encodeCursor} did not write */
function decodeCursor(cursor: string): [string, string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string'))
      return value as [string, string];
  } catch {
    // fall through
  }
  throw new CursorError(
    `given ${JSON.stringify(cursor)}, expected a cursor returned as nextCursor by a previous page`,
  );
}
