/**
 * A TLS pass-through in front of the API server that forwards every request as it is, except
 * those a predicate picks, which it holds unanswered: a deterministic "the apply is half way"
 * for tests that kill the API process there. Nothing is imitated: every answer is the real API
 * server's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

/** A running proxy. */
export interface HoldingProxy {
  /** A copy of the given kubeconfig that goes through the proxy (same user). */
  readonly kubeconfig: string;
  /** Resolves once a request to hold has arrived (and is held). */
  readonly held: Promise<string>;
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
  const server = createServer(pki, (req, res) => {
    const path = req.url ?? '/';
    if (hold(req.method ?? 'GET', path)) {
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
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    // A client gone (killed) ends its watch upstream too.
    res.on('close', () => forwarded.destroy());
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
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
