import { createHash, randomUUID } from 'node:crypto';
import type { Request } from 'express';
import type { Knex } from 'knex';
import type { z } from 'zod';
import { forwardableHeaders } from '../function-proxy';
import type { Functions } from '../functions';
import { Problem } from '../problem';
import { attemptId } from './attempt-id';
import { projectCallbackKey } from './callback';
import { CALLBACK_HEADER, checkCallbackUrl } from './callback-target';
import { AsyncFilter, AsyncInvocation, AsyncQueueStore } from './queue-store';
import type { AsyncSettings } from './settings';
import {
  checkDepth,
  checkPayload,
  IDEMPOTENCY_HEADER,
  idempotencyKeyOf,
  SUBMISSION_HEADERS,
} from './submission';
import { AsyncInvocationView, asyncSubmissionView } from './view';
import { AsyncMetrics, AsyncWorker } from './worker';

/** The answer to a submission. */
export interface Submission {
  /** 202 queued now; 200 the invocation that already holds the idempotency key. */
  readonly status: 200 | 202;
  readonly location: string;
  readonly view: z.infer<typeof asyncSubmissionView>;
}

/** The API path of an asynchronous invocation. */
export function locationOf(project: string, name: string, id: string): string {
  return `/api/v1/projects/${project}/functions/${name}/async-invocations/${id}`;
}

/** Asynchronous invocations: submission with its limits, reads, cancel, and this replica's worker. */
export class AsyncInvocations {
  public readonly queue: AsyncQueueStore;
  private worker?: AsyncWorker;
  private functions?: Functions;

  constructor(
    db: Knex,
    public readonly settings: AsyncSettings,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void,
    private readonly metrics?: AsyncMetrics,
  ) {
    this.queue = new AsyncQueueStore(db);
  }

  /** The functions invocations go to (the API's routes make them); once. */
  public useFunctions(functions: Functions): void {
    if (this.functions) return;
    this.functions = functions;
    this.worker = new AsyncWorker(this.queue, functions, this.settings, this.log, this.metrics);
  }

  public start(): void {
    if (!this.worker) throw new Error('AsyncInvocations.start: useFunctions was not called');
    this.worker.start();
  }

  public stop(): void {
    this.worker?.stop();
  }

  /**
   * Queues an invocation of a function from an invoke request: the limits, the idempotency
   * key and the callback URL are checked before anything is stored.
   * @throws Problem 400 (callback, key), 404 (no such function), 413, 422 (key reused with
   *   another body), 429 (queue full)
   */
  public async submit(
    req: Request,
    project: string,
    name: string,
    tag: string | undefined,
  ): Promise<Submission> {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    checkPayload(body.length, this.settings.payloadLimitBytes);
    const idempotencyKey = idempotencyKeyOf(req.headers);
    const rawCallback = req.headers[CALLBACK_HEADER];
    const callback =
      rawCallback === undefined
        ? undefined
        : checkCallbackUrl(String(rawCallback), {
            host: req.headers.host,
            port: req.socket.localPort ?? 0,
          });
    if (callback && !this.settings.callbackSecret)
      throw new Problem(
        400,
        'Callbacks not configured',
        `${CALLBACK_HEADER}: given a URL, but this API has no key to sign callbacks with (HKS_ASYNC_CALLBACK_SECRET or HKS_JWT_SECRET)`,
      );
    if (!this.functions) throw new Error('AsyncInvocations.submit: useFunctions was not called');
    await this.functions.find(project, name);
    const bodySha256 = createHash('sha256').update(body).digest('hex');
    if (idempotencyKey !== undefined) {
      const replay = await this.replayed(project, name, idempotencyKey, bodySha256);
      if (replay) return replay;
    }
    checkDepth(project, await this.queue.depth(project), this.settings.maxQueuedPerProject);
    const headers = forwardableHeaders(req.headers);
    for (const header of SUBMISSION_HEADERS) delete headers[header];
    const { created, invocation } = await this.queue.enqueue({
      id: randomUUID(),
      project,
      function: name,
      tag,
      body,
      bodySha256,
      headers,
      idempotencyKey,
      callbackUrl: callback?.href,
      maxAttempts: this.settings.maxAttempts,
    });
    if (!created) return this.sameKey(invocation, idempotencyKey as string, bodySha256);
    this.worker?.kick();
    return submission(202, invocation);
  }

  private async replayed(
    project: string,
    name: string,
    key: string,
    bodySha256: string,
  ): Promise<Submission | undefined> {
    const [existing] = await this.queue.listByKey(project, name, key);
    return existing ? this.sameKey(existing, key, bodySha256) : undefined;
  }

  private sameKey(invocation: AsyncInvocation, key: string, bodySha256: string): Submission {
    if (invocation.bodySha256 !== bodySha256)
      throw new Problem(
        422,
        'Idempotency key reused',
        `Idempotency-Key ${JSON.stringify(key)} was given to invocation ${invocation.id} with another body; expected the same body, or a new key for a new invocation`,
        [
          {
            path: IDEMPOTENCY_HEADER,
            message: `given ${JSON.stringify(key)}, already used with another body`,
          },
        ],
      );
    return submission(200, invocation);
  }

  /** @throws Problem 404 when the function has no such asynchronous invocation */
  public async get(project: string, name: string, id: string): Promise<AsyncInvocationView> {
    return viewOf(await this.find(project, name, id));
  }

  public async list(filter: AsyncFilter, limit: number): Promise<AsyncInvocationView[]> {
    return (await this.queue.list(filter, limit)).map((i) => viewOf(i, false));
  }

  /**
   * Cancels a queued invocation or one waiting for a retry.
   * @throws Problem 404, or 409 naming the state it is in
   */
  public async cancel(project: string, name: string, id: string): Promise<AsyncInvocationView> {
    await this.find(project, name, id);
    const { cancelled, invocation } = await this.queue.cancel(id);
    const now = invocation as AsyncInvocation;
    if (!cancelled)
      throw new Problem(
        409,
        'Invocation not cancellable',
        `Invocation ${id} is ${now.state === 'running' ? `running (attempt ${now.attempts} of ${now.maxAttempts})` : `already ${now.state}`}; only a queued invocation or one waiting for a retry can be cancelled`,
      );
    return viewOf(now);
  }

  /** The key a project's callbacks are signed with. */
  public callbackKey(project: string): string {
    if (!this.settings.callbackSecret)
      throw new Problem(
        404,
        'Not found',
        'This API signs no callbacks: neither HKS_ASYNC_CALLBACK_SECRET nor HKS_JWT_SECRET is set',
      );
    return projectCallbackKey(this.settings.callbackSecret, project);
  }

  private async find(project: string, name: string, id: string): Promise<AsyncInvocation> {
    const invocation = await this.queue.get(id);
    if (!invocation || invocation.project !== project || invocation.function !== name)
      throw Problem.notFound(
        `No asynchronous invocation ${id} of function ${JSON.stringify(name)} in project ${JSON.stringify(project)}`,
      );
    return invocation;
  }
}

function submission(status: 200 | 202, invocation: AsyncInvocation): Submission {
  const location = locationOf(invocation.project, invocation.function, invocation.id);
  return { status, location, view: { id: invocation.id, state: invocation.state, location } };
}

function viewOf(i: AsyncInvocation, withBody = true): AsyncInvocationView {
  const result = i.result;
  const text = result && withBody ? utf8(result.body) : undefined;
  const pending = i.state === 'queued' || i.state === 'failed-retrying';
  return {
    id: i.id,
    project: i.project,
    function: i.function,
    tag: i.tag,
    state: i.state,
    attempts: i.attempts,
    maxAttempts: i.maxAttempts,
    attemptIds: Array.from({ length: i.attempts }, (_, n) => attemptId(i.id, n + 1)),
    createdAt: i.createdAt,
    updatedAt: i.updatedAt,
    nextAttemptAt: pending ? i.nextAttemptAt : undefined,
    finishedAt: i.finishedAt,
    durationMs: i.durationMs === undefined ? undefined : Math.round(i.durationMs * 10) / 10,
    requestBytes: i.requestBytes,
    idempotencyKey: i.idempotencyKey,
    callbackUrl: i.callbackUrl,
    callback: i.callback,
    lastError: i.lastError,
    result: result && {
      status: result.status,
      contentType: result.headers['content-type'],
      bytes: result.bytes,
      truncated: result.body.length < result.bytes,
      ...(!withBody
        ? {}
        : text !== undefined
          ? { body: text }
          : { bodyBase64: result.body.toString('base64') }),
    },
  };
}

function utf8(body: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
}
