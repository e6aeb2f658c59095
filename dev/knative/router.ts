import {
  type IncomingMessage,
  type Server,
  type ServerResponse,
  createServer,
  request,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type ResolvedTarget, pickRevision } from './traffic';

/** Knative's header selecting a tagged traffic target. */
export const TAG_HEADER = 'knative-serving-tag';

/** Where a revision's requests go: its local process on 127.0.0.1, or its pod's IP. */
export interface Upstream {
  readonly host: string;
  readonly port: number;
}

/**
 * Gives the router a revision's address, starting it first when it was scaled to zero
 * (Knative's activator), and learns when a request ends (for the idle time before scaling down).
 */
export interface RevisionActivator {
  /** The address of a revision's process or pod, once healthy; undefined when it cannot serve. */
  acquire(revisionName: string): Promise<Upstream | undefined>;
  /** A request acquired for the revision has ended. */
  release(revisionName: string): void;
}

function problem(res: ServerResponse, status: number, title: string, detail: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/problem+json' });
  res.end(JSON.stringify({ type: 'about:blank', title, status, detail }));
}

/**
 * One Service's entry point on 127.0.0.1 (stands for Knative's ingress and activator): each
 * request goes, streamed as it is (method, path, headers, body), to a revision chosen by the
 * traffic split, or to the target tagged by the `Knative-Serving-Tag` header; a revision
 * scaled to zero is started first (the request waits, as at Knative's activator).
 */
export class ServiceRouter {
  private targets: readonly ResolvedTarget[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    /** The port, stable while the router is open. */
    public readonly port: number,
    private readonly activator: RevisionActivator,
  ) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Opens a router on a free port of 127.0.0.1. */
  public static async open(activator: RevisionActivator): Promise<ServiceRouter> {
    const routing: { router?: ServiceRouter } = {};
    const server = createServer((req, res) => void routing.router?.forward(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    routing.router = new ServiceRouter(server, (server.address() as AddressInfo).port, activator);
    return routing.router;
  }

  /** `http://127.0.0.1:<port>`. */
  public get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Replaces the routing table; requests already forwarded are not affected. */
  public route(targets: readonly ResolvedTarget[]): void {
    this.targets = targets;
  }

  /** Stops listening and drops open connections. */
  public async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const tagHeader = req.headers[TAG_HEADER];
    const tag = Array.isArray(tagHeader) ? tagHeader[0] : tagHeader;
    const revision = pickRevision(this.targets, tag);
    if (revision === undefined) {
      req.resume();
      problem(res, 503, 'No ready revision', 'The Service has no ready revision to route to.');
      return;
    }
    // The body waits in the socket while a revision scaled to zero starts.
    req.pause();
    const target = await this.activator.acquire(revision);
    if (target === undefined) {
      req.resume();
      problem(res, 503, 'Revision not available', `${revision} could not be started.`);
      return;
    }
    if (res.destroyed) {
      // The caller went away while the revision started.
      this.activator.release(revision);
      return;
    }
    res.once('close', () => this.activator.release(revision));
    const upstream = request(
      {
        host: target.host,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) =>
      problem(res, 502, 'Revision unreachable', `${revision}: ${error.message}`),
    );
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }
}
