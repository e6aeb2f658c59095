import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';

/** A running {@link tcpForward}. */
export interface TcpForward {
  /** The port it listens on. */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens on `host` (a free port) and pipes every connection to `target`: lets the real node's
 * pods reach a server that listens on 127.0.0.1 only, such as scripts/postgres.sh's PostgreSQL,
 * through the host's end of the node's link.
 */
export async function tcpForward(
  host: string,
  target: { readonly host: string; readonly port: number },
): Promise<TcpForward> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(target);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
