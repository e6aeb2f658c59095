import type { KubeConfig } from '@kubernetes/client-node';
import { createServer, Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ClientGoneError, KubeRest, KubeTimeoutError } from '../api/kube-rest';
import { withRequestSignal } from '../api/request-signal';

/**
 * Every KubeRest call has a deadline and ends with its request's client: against a server
 * that accepts connections and never answers (what a frozen API server looks like).
 */
let server: Server;
const sockets: Socket[] = [];
let config: KubeConfig;

beforeAll(async () => {
  server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // What KubeRest reads of a kubeconfig (client-node itself is ESM, which unit tests cannot load).
  const address = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  config = {
    getCurrentCluster: () => ({ name: 'silent', server: address, skipTLSVerify: true }),
    applyToHTTPSOptions: async (options: { rejectUnauthorized?: boolean }) => {
      options.rejectUnauthorized = false;
    },
  } as unknown as KubeConfig;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

test('a call to a server that never answers fails at its deadline', async () => {
  const rest = new KubeRest(config, 300);
  const started = performance.now();
  const error = await rest.request('GET', '/api/v1/namespaces').catch((e: unknown) => e);
  const elapsed = performance.now() - started;
  expect(error).toBeInstanceOf(KubeTimeoutError);
  expect((error as Error).message).toBe(
    'GET /api/v1/namespaces: the API server did not answer within 0.3 s',
  );
  expect(elapsed).toBeGreaterThanOrEqual(290);
  rest.close();
});

test('a call is abandoned when its request’s client goes, and none starts after', async () => {
  const rest = new KubeRest(config, 10_000);
  const client = new AbortController();
  const pending = withRequestSignal(client.signal, () =>
    rest.request('PATCH', '/api/v1/namespaces/x', { a: 1 }),
  );
  setTimeout(() => client.abort(), 50);
  await expect(pending).rejects.toBeInstanceOf(ClientGoneError);
  await expect(
    withRequestSignal(client.signal, () => rest.request('GET', '/api/v1/namespaces')),
  ).rejects.toBeInstanceOf(ClientGoneError);
  rest.close();
});
