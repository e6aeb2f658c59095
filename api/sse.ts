import type { ServerResponse } from 'node:http';

/** Comment lines sent while a stream is idle, so that proxies do not cut it. @default 15000 */
export const DEFAULT_HEARTBEAT_MS = 15_000;

/**
 * A Server-Sent Events response (`text/event-stream`), opened at its first event: until then
 * the route may still answer with a status of its own (a 400 problem). Each event is written
 * at once; a comment line goes every `heartbeatMs` while the stream is open.
 */
export class EventStream {
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly heartbeatMs = DEFAULT_HEARTBEAT_MS,
  ) {
    res.once('close', () => clearInterval(this.heartbeat));
  }

  /** Whether the first event (and so the 200) has gone. */
  public get opened(): boolean {
    return this.res.headersSent;
  }

  /** Whether the response is over: ended here, or its client gone. */
  public get closed(): boolean {
    return this.res.writableEnded || this.res.destroyed;
  }

  /** Sends one event whose data is `data` as JSON. */
  public send(event: string, data: unknown): void {
    if (this.closed) return;
    if (!this.opened) this.open();
    this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the stream. */
  public end(): void {
    clearInterval(this.heartbeat);
    if (!this.closed) this.res.end();
  }

  private open(): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // nginx and others buffer responses unless told not to.
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
    this.heartbeat = setInterval(() => {
      if (!this.closed) this.res.write(': heartbeat\n\n');
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }
}

/** Whether the request asks for Server-Sent Events (its `Accept` names `text/event-stream`). */
export function wantsEventStream(accept: string | undefined): boolean {
  return /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(accept ?? '');
}
