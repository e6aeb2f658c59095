import type { AddressInfo } from 'node:net';
import express, { Request, Router } from 'express';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { authenticate, TokenVerifier } from '../api/auth';
import { bodyParser } from '../api/body-parsing';
import { labelRoute } from '../api/metrics';
import { hksMcpServer } from './server';

/** Where the API serves MCP. */
export const MCP_PATH = '/mcp';

/** What the `/mcp` mount needs. */
export interface McpMountOptions {
  readonly verify: TokenVerifier;
  /** Largest JSON-RPC message, as every other JSON body (`HKS_BODY_LIMIT_BYTES`). */
  readonly bodyLimitBytes: number;
  readonly version: string;
}

/**
 * `POST /mcp`: MCP over streamable HTTP, stateless (a server and transport per request, no
 * session id: every tool call carries all it needs, so no state has to be kept between
 * requests, nor shared between API replicas). Internal tokens only, checked like
 * `/internal/v1`'s; the tools call this same API back over its own address with the
 * caller's token, so each call is authorized by the route it makes. Other methods are the
 * caller's 405 (registered after this router).
 */
export function mcpRouter(options: McpMountOptions): Router {
  const router = express.Router();
  router.use(labelRoute(MCP_PATH));
  router.use(authenticate(options.verify, { kind: 'internal' }));
  router.post(
    '/',
    bodyParser({
      kind: 'json',
      limitBytes: options.bodyLimitBytes,
      limitVariable: 'HKS_BODY_LIMIT_BYTES',
    }),
    (req, res, next) => {
      // authenticate passed: the header is `Bearer <token>`.
      const token = (req.header('authorization') ?? '').replace(/^Bearer\s+/i, '');
      const apiUrl = ownUrl(req);
      const server = hksMcpServer({ access: () => ({ apiUrl, token }), version: options.version });
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      server
        .connect(transport)
        .then(() => transport.handleRequest(req, res, req.body))
        .catch(next);
    },
  );
  return router;
}

/** This API's own address, the one the request came in on: the tools' calls stay local. */
function ownUrl(req: Request): string {
  const { address, port } = req.socket.address() as AddressInfo;
  const host = address.startsWith('::ffff:')
    ? address.slice('::ffff:'.length)
    : address.includes(':')
      ? `[${address}]`
      : address;
  return `http://${host}:${port}`;
}
