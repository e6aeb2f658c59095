/**
 * A TLS pass-through in front of the API server that forwards every request as it is, except
 * those a predicate picks, which it holds unanswered: a deterministic "the apply is half way"
 * for tests that kill the API process there. It also notes every request and can end or break
 * the watches going through it, and refuse new ones (a connection dropped, a server that ends
 * watches): the watch-resume tests. Nothing is imitated: every answer is the real API server's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

/** A request that went through the proxy. */
export interface ProxiedRequest {
  readonly method: string;
  /** Path with its query, e.g. `/apis/batch/v1/jobs?watch=true&resourceVersion=5`. */
  readonly path: string;
  readonly at: number;
}

/** A running proxy. */
export interface HoldingProxy {
  /** A copy of the given kubeconfig that goes through the proxy (same user). */
  readonly kubeconfig: string;
  /** Resolves once a request to hold has arrived (and is held). */
  readonly held: Promise<string>;
  /** Every request so far, in order of arrival (held and refused ones too). */
  readonly requests: readonly ProxiedRequest[];
  /** Paths of the watches (`watch=true`) open now whose path `match`es. */
  openWatches(match: (path: string) => boolean): string[];
  /**
   * Ends the open watches whose path matches: `end` closes each answer as the server does at
   * its `timeoutSeconds`; `break` drops its connection.
   */
  endWatches(match: (path: string) => boolean, how: 'end' | 'break'): number;
  /** From now on (until set again), drops the connection of each new request `refuse` picks. */
  refuse(refuse: (method: string, path: string) => boolean): void;
  close(): Promise<void>;
}

/** A self-signed certificate for 127.0.0.1. */
function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hks-proxy-pki-'));
  const key = join(dir, 'proxy.key');
  const cert = join(dir, 'proxy.crt');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
     '-keyout', key, '-out', cert, '-subj', '/CN=hks-test-proxy', '-days', '1',
     '-addext', 'subjectAltName=IP:127.0.0.1'],
    { stdio: 'ignore' },
  ); // prettier-ignore
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}

/**
 * Starts a proxy to the cluster of `kubeconfigPath`.
 * @param hold which requests (method, path with query) to hold instead of forwarding
 */
export async function startHoldingProxy(
  kubeconfigPath: string,
  hold: (method: string, path: string) => boolean,
): Promise<HoldingProxy> {
  const doc = parse(readFileSync(kubeconfigPath, 'utf8')) as {
    clusters: { cluster: Record<string, unknown> }[];
  };
  const cluster = doc.clusters[0].cluster;
  const upstream = new URL(String(cluster.server));
  const caData = cluster['certificate-authority-data'];
  const caFile = cluster['certificate-authority'];
  const ca =
    typeof caData === 'string'
      ? Buffer.from(caData, 'base64').toString('utf8')
      : typeof caFile === 'string'
        ? readFileSync(caFile, 'utf8')
        : undefined;
  const rejectUnauthorized = cluster['insecure-skip-tls-verify'] !== true;
  const pki = selfSignedCertificate();
  let onHeld: (path: string) => void = () => undefined;
  const held = new Promise<string>((resolve) => (onHeld = resolve));
  const sockets = new Set<Socket>();
  const requests: ProxiedRequest[] = [];
  const watches = new Map<
    ServerResponse,
    { path: string; upstream: ClientRequest; answer: IncomingMessage }
  >();
  let refusing: (method: string, path: string) => boolean = () => false;
  const server = createServer(pki, (req, res) => {
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    requests.push({ method, path, at: Date.now() });
    if (refusing(method, path)) {
      req.socket.destroy();
      return;
    }
    if (hold(method, path)) {
      onHeld(path);
      return;
    }
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port || 443,
        method: req.method,
        path,
        headers: { ...req.headers, host: upstream.host },
        ca,
        rejectUnauthorized,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.on('error', () => res.destroy());
        answer.pipe(res);
        if (new URLSearchParams(path.split('?')[1] ?? '').get('watch') === 'true')
          watches.set(res, { path, upstream: forwarded, answer });
      },
    );
    forwarded.on('error', () => res.destroy());
    // A client gone (killed) ends its watch upstream too.
    res.on('close', () => {
      watches.delete(res);
      forwarded.destroy();
    });
    req.pipe(forwarded);
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  for (const entry of doc.clusters)
    entry.cluster = {
      server: `https://127.0.0.1:${port}`,
      'certificate-authority-data': Buffer.from(pki.cert).toString('base64'),
    };
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'hks-proxy-')), 'kubeconfig');
  writeFileSync(kubeconfig, stringify(doc), { mode: 0o600 });

  return {
    kubeconfig,
    held,
    requests,
    openWatches: (match) => [...watches.values()].map((w) => w.path).filter(match),
    endWatches(match, how) {
      let ended = 0;
      for (const [res, watch] of [...watches]) {
        if (!match(watch.path)) continue;
        ended += 1;
        watches.delete(res);
        watch.answer.unpipe(res);
        if (how === 'end') res.end();
        else res.socket?.destroy();
        watch.upstream.destroy();
      }
      return ended;
    },
    refuse(refuse) {
      refusing = refuse;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
