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

/** A routed revision: where its process listens. */
export interface RouteTarget extends ResolvedTarget {
  readonly port: number;
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
 * traffic split, or to the target tagged by the `Knative-Serving-Tag` header.
 */
export class ServiceRouter {
  private targets: readonly RouteTarget[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    /** The port, stable while the router is open. */
    public readonly port: number,
  ) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Opens a router on a free port of 127.0.0.1. */
  public static async open(): Promise<ServiceRouter> {
    const routing: { router?: ServiceRouter } = {};
    const server = createServer((req, res) => routing.router?.forward(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    routing.router = new ServiceRouter(server, (server.address() as AddressInfo).port);
    return routing.router;
  }

  /** `http://127.0.0.1:<port>`. */
  public get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Replaces the routing table; requests already forwarded are not affected. */
  public route(targets: readonly RouteTarget[]): void {
    this.targets = targets;
  }

  /** Stops listening and drops open connections. */
  public async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const tagHeader = req.headers[TAG_HEADER];
    const tag = Array.isArray(tagHeader) ? tagHeader[0] : tagHeader;
    const revision = pickRevision(this.targets, tag);
    const target = this.targets.find((t) => t.revisionName === revision);
    if (target === undefined) {
      req.resume();
      problem(res, 503, 'No ready revision', 'The Service has no ready revision to route to.');
      return;
    }
    const upstream = request(
      {
        host: '127.0.0.1',
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
      problem(res, 502, 'Revision unreachable', `${target.revisionName}: ${error.message}`),
    );
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }
}
