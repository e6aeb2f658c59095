/**
 * The durable queue of asynchronous invocations (migration 010_async_invocations), on SQLite
 * and PostgreSQL. A replica claims due rows for a lease; on PostgreSQL the claim reads them
 * `FOR UPDATE SKIP LOCKED`, so that replicas claiming at once take different rows, while SQLite
 * serialises writers (one replica). Every change of a claimed row is conditional on the lease
 * still being its own, and the result is written with the final state in one statement: a
 * replica that lost its lease cannot overwrite what another recorded.
 */
import type { Knex } from 'knex';

/** Where an asynchronous invocation is. */
export const ASYNC_STATES = [
  'queued',
  'running',
  'succeeded',
  'failed-retrying',
  'dead',
  'cancelled',
] as const;
export type AsyncState = (typeof ASYNC_STATES)[number];

/** States that count towards a project's queue depth. */
export const PENDING_STATES: readonly AsyncState[] = ['queued', 'running', 'failed-retrying'];

/** Callback delivery states: `pending` until delivered or given up. */
export type CallbackState = 'pending' | 'delivered' | 'failed';

/** A new asynchronous invocation. */
export interface NewAsyncInvocation {
  readonly id: string;
  readonly project: string;
  readonly function: string;
  readonly tag?: string;
  readonly body: Buffer;
  readonly bodySha256: string;
  /** The request headers passed on to the function. */
  readonly headers: Readonly<Record<string, string>>;
  readonly idempotencyKey?: string;
  readonly callbackUrl?: string;
  readonly maxAttempts: number;
}

/** The function's answer to the last attempt, as kept. */
export interface AsyncResult {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** At most the result limit of the answer. */
  readonly body: Buffer;
  /** Bytes of the whole answer. */
  readonly bytes: number;
}

/** One asynchronous invocation, as stored. */
export interface AsyncInvocation {
  readonly id: string;
  readonly project: string;
  readonly function: string;
  readonly tag?: string;
  readonly state: AsyncState;
  readonly body: Buffer;
  readonly requestBytes: number;
  readonly bodySha256: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly idempotencyKey?: string;
  readonly callbackUrl?: string;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly nextAttemptAt: string;
  readonly lockOwner?: string;
  readonly lockExpiresAt?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string;
  /** Of the last attempt. @default - none has ended */
  readonly durationMs?: number;
  readonly result?: AsyncResult;
  readonly lastError?: string;
  readonly callback?: {
    readonly state: CallbackState;
    readonly attempts: number;
    readonly status?: number;
    readonly error?: string;
    readonly at?: string;
  };
}

/** How one attempt ended, as the worker decided. */
export type AttemptOutcome =
  | { readonly state: 'succeeded' | 'dead'; readonly result?: AsyncResult; readonly error?: string }
  | {
      readonly state: 'failed-retrying';
      readonly nextAttemptAt: string;
      readonly result?: AsyncResult;
      readonly error?: string;
    };

/** Which invocations a list holds. */
export interface AsyncFilter {
  readonly project: string;
  readonly function: string;
  /** @default - every state */
  readonly state?: AsyncState;
}

type Row = Record<string, unknown>;

const TABLE = 'async_invocations';

const iso = (ms: number) => new Date(ms).toISOString();

/** Reads and writes of the queue. */
export class AsyncQueueStore {
  private readonly postgres: boolean;

  constructor(
    private readonly db: Knex,
    /** The clock, for tests. @default Date.now */
    private readonly now: () => number = Date.now,
  ) {
    this.postgres = /^(pg|postgres)/.test(String(db.client.config.client));
  }

  /**
   * Queues an invocation unless one with its idempotency key exists.
   * @returns the new row (`created`), or the one that holds the key
   */
  public async enqueue(
    invocation: NewAsyncInvocation,
  ): Promise<{ created: boolean; invocation: AsyncInvocation }> {
    const at = iso(this.now());
    const row = {
      id: invocation.id,
      project: invocation.project,
      function: invocation.function,
      tag: invocation.tag ?? null,
      state: 'queued',
      body: invocation.body,
      request_bytes: invocation.body.length,
      body_sha256: invocation.bodySha256,
      headers: JSON.stringify(invocation.headers),
      idempotency_key: invocation.idempotencyKey ?? null,
      callback_url: invocation.callbackUrl ?? null,
      attempts: 0,
      max_attempts: invocation.maxAttempts,
      next_attempt_at: at,
      created_at: at,
      updated_at: at,
    };
    if (invocation.idempotencyKey === undefined) {
      await this.db(TABLE).insert(row);
      return { created: true, invocation: (await this.get(invocation.id)) as AsyncInvocation };
    }
    // The unique index decides between two submissions of the same key at once.
    await this.db(TABLE)
      .insert(row)
      .onConflict(['project', 'function', 'idempotency_key'])
      .ignore();
    const found = (await this.db(TABLE)
      .where({
        project: invocation.project,
        function: invocation.function,
        idempotency_key: invocation.idempotencyKey,
      })
      .first()) as Row;
    const stored = toInvocation(found);
    return { created: stored.id === invocation.id, invocation: stored };
  }

  /** The invocation holding an idempotency key, if any (at most one). */
  public async listByKey(project: string, name: string, key: string): Promise<AsyncInvocation[]> {
    const rows = (await this.db(TABLE).where({
      project,
      function: name,
      idempotency_key: key,
    })) as Row[];
    return rows.map(toInvocation);
  }

  /** Invocations of a project that are queued, running or waiting for a retry. */
  public async depth(project: string): Promise<number> {
    const row = (await this.db(TABLE)
      .where({ project })
      .whereIn('state', PENDING_STATES)
      .count({ n: '*' })
      .first()) as { n: number | string } | undefined;
    return Number(row?.n ?? 0);
  }

  /** Rows by state, for the queue depth gauge. */
  public async countsByState(): Promise<Record<string, number>> {
    const rows = (await this.db(TABLE)
      .select('state')
      .count({ n: '*' })
      .whereIn('state', PENDING_STATES)
      .groupBy('state')) as { state: string; n: number | string }[];
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }

  public async get(id: string): Promise<AsyncInvocation | undefined> {
    const row = (await this.db(TABLE).where({ id }).first()) as Row | undefined;
    return row ? toInvocation(row) : undefined;
  }

  /** A function's invocations, newest first, without bodies. */
  public async list(filter: AsyncFilter, limit: number): Promise<AsyncInvocation[]> {
    let query = this.db(TABLE)
      .where({ project: filter.project, function: filter.function })
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(limit);
    if (filter.state !== undefined) query = query.andWhere({ state: filter.state });
    return ((await query) as Row[]).map(toInvocation);
  }

  /**
   * Claims up to `limit` due invocations for `owner` until its lease expires: queued ones,
   * retries whose time has come, and running ones whose replica's lease expired (it died).
   * Each claim counts an attempt. A running row whose lease expired on its last attempt is
   * marked dead instead.
   */
  public async claim(owner: string, limit: number, leaseMs: number): Promise<AsyncInvocation[]> {
    if (limit <= 0) return [];
    const now = iso(this.now());
    return this.db.transaction(async (trx) => {
      let due = trx(TABLE)
        .select('id', 'state', 'attempts', 'max_attempts')
        .where((q) =>
          q.whereIn('state', ['queued', 'failed-retrying']).andWhere('next_attempt_at', '<=', now),
        )
        .orWhere((q) => q.where({ state: 'running' }).andWhere('lock_expires_at', '<', now))
        .orderBy('next_attempt_at')
        .limit(limit);
      if (this.postgres) due = due.forUpdate().skipLocked();
      const rows = (await due) as Row[];
      const claimed: string[] = [];
      for (const row of rows) {
        const expired = row.state === 'running';
        if (expired && Number(row.attempts) >= Number(row.max_attempts)) {
          await trx(TABLE)
            .where({ id: row.id })
            .update({
              state: 'dead',
              finished_at: now,
              updated_at: now,
              lock_owner: null,
              lock_expires_at: null,
              last_error: `The replica running attempt ${String(row.attempts)} stopped before it ended (its lease expired), and it was the last attempt`,
            });
          continue;
        }
        claimed.push(String(row.id));
      }
      if (claimed.length === 0) return [];
      await trx(TABLE)
        .whereIn('id', claimed)
        .update({
          state: 'running',
          lock_owner: owner,
          lock_expires_at: iso(this.now() + leaseMs),
          attempts: trx.raw('attempts + 1'),
          updated_at: now,
        });
      return ((await trx(TABLE).whereIn('id', claimed)) as Row[]).map(toInvocation);
    });
  }

  /** Extends the leases `owner` holds on `ids`. */
  public async renew(owner: string, ids: readonly string[], leaseMs: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db(TABLE)
      .whereIn('id', ids)
      .andWhere({ lock_owner: owner })
      .update({ lock_expires_at: iso(this.now() + leaseMs) });
  }

  /**
   * Writes how an attempt ended, with its result, if `owner` still holds the running row.
   * A final state with a callback URL leaves the callback pending, the lease kept for
   * `callbackLeaseMs` so that this replica delivers it.
   * @returns whether the row was still this owner's (false: the write was not made)
   */
  public async finishAttempt(
    id: string,
    owner: string,
    attempt: number,
    outcome: AttemptOutcome,
    durationMs: number,
    callbackLeaseMs: number,
  ): Promise<boolean> {
    const now = this.now();
    const final = outcome.state !== 'failed-retrying';
    const result = outcome.result;
    const update: Row = {
      state: outcome.state,
      updated_at: iso(now),
      duration_ms: durationMs,
      last_error: outcome.error ?? null,
      result_status: result?.status ?? null,
      result_headers: result ? JSON.stringify(result.headers) : null,
      result_body: result?.body ?? null,
      result_bytes: result?.bytes ?? null,
      lock_owner: null,
      lock_expires_at: null,
    };
    if (outcome.state === 'failed-retrying') update.next_attempt_at = outcome.nextAttemptAt;
    if (final) {
      update.finished_at = iso(now);
      update.callback_state = this.db.raw(
        "case when callback_url is null then null else 'pending' end",
      );
      update.callback_attempts = 0;
      update.lock_owner = this.db.raw('case when callback_url is null then null else ? end', [
        owner,
      ]);
      update.lock_expires_at = this.db.raw('case when callback_url is null then null else ? end', [
        iso(now + callbackLeaseMs),
      ]);
    }
    const changed = await this.db(TABLE)
      .where({ id, lock_owner: owner, state: 'running', attempts: attempt })
      .update(update);
    return changed === 1;
  }

  /** Claims pending callbacks whose lease is free (their replica died before delivering). */
  public async claimCallbacks(
    owner: string,
    limit: number,
    leaseMs: number,
  ): Promise<AsyncInvocation[]> {
    if (limit <= 0) return [];
    const now = iso(this.now());
    return this.db.transaction(async (trx) => {
      let due = trx(TABLE)
        .select('id')
        .where({ callback_state: 'pending' })
        .andWhere((q) => q.whereNull('lock_expires_at').orWhere('lock_expires_at', '<', now))
        .limit(limit);
      if (this.postgres) due = due.forUpdate().skipLocked();
      const ids = ((await due) as Row[]).map((r) => String(r.id));
      if (ids.length === 0) return [];
      await trx(TABLE)
        .whereIn('id', ids)
        .update({ lock_owner: owner, lock_expires_at: iso(this.now() + leaseMs) });
      return ((await trx(TABLE).whereIn('id', ids)) as Row[]).map(toInvocation);
    });
  }

  /** Records one callback delivery; `state` pending keeps trying. */
  public async callbackTried(
    id: string,
    owner: string,
    delivery: { state: CallbackState; status?: number; error?: string },
  ): Promise<void> {
    const final = delivery.state !== 'pending';
    await this.db(TABLE)
      .where({ id, lock_owner: owner, callback_state: 'pending' })
      .update({
        callback_state: delivery.state,
        callback_attempts: this.db.raw('coalesce(callback_attempts, 0) + 1'),
        callback_status: delivery.status ?? null,
        callback_error: delivery.error ?? null,
        callback_at: iso(this.now()),
        ...(final ? { lock_owner: null, lock_expires_at: null } : {}),
      });
  }

  /**
   * Cancels an invocation that has not started (queued or waiting for a retry).
   * @returns the invocation as it is after the attempt, and whether it was cancelled
   */
  public async cancel(id: string): Promise<{ cancelled: boolean; invocation?: AsyncInvocation }> {
    const now = iso(this.now());
    const changed = await this.db(TABLE)
      .where({ id })
      .whereIn('state', ['queued', 'failed-retrying'])
      .update({ state: 'cancelled', finished_at: now, updated_at: now });
    return { cancelled: changed === 1, invocation: await this.get(id) };
  }
}

function toInvocation(row: Row): AsyncInvocation {
  const text = (value: unknown) =>
    value === null || value === undefined ? undefined : String(value);
  const number = (value: unknown) =>
    value === null || value === undefined ? undefined : Number(value);
  const bytes = (value: unknown) =>
    value === null || value === undefined ? Buffer.alloc(0) : Buffer.from(value as Uint8Array);
  const resultStatus = number(row.result_status);
  const callbackState = text(row.callback_state) as CallbackState | undefined;
  return {
    id: String(row.id),
    project: String(row.project),
    function: String(row.function),
    tag: text(row.tag),
    state: String(row.state) as AsyncState,
    body: bytes(row.body),
    requestBytes: Number(row.request_bytes),
    bodySha256: String(row.body_sha256),
    headers: JSON.parse(String(row.headers)) as Record<string, string>,
    idempotencyKey: text(row.idempotency_key),
    callbackUrl: text(row.callback_url),
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    nextAttemptAt: String(row.next_attempt_at),
    lockOwner: text(row.lock_owner),
    lockExpiresAt: text(row.lock_expires_at),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
    finishedAt: text(row.finished_at),
    durationMs: number(row.duration_ms),
    result:
      resultStatus === undefined
        ? undefined
        : {
            status: resultStatus,
            headers: JSON.parse(text(row.result_headers) ?? '{}') as Record<string, string>,
            body: bytes(row.result_body),
            bytes: number(row.result_bytes) ?? 0,
          },
    lastError: text(row.last_error),
    callback:
      callbackState === undefined
        ? undefined
        : {
            state: callbackState,
            attempts: number(row.callback_attempts) ?? 0,
            status: number(row.callback_status),
            error: text(row.callback_error),
            at: text(row.callback_at),
          },
  };
}
