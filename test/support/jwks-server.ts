import { createHmac } from 'node:crypto';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, JWK, KeyLike, SignJWT } from 'jose';

/** A JSON Web Key Set served on 127.0.0.1, with the private key of its one RS256 key. */
export interface JwksServer {
  readonly url: string;
  /** The `kid` of the served key. */
  readonly kid: string;
  readonly privateKey: KeyLike;
  /** The public key as served. */
  readonly publicJwk: JWK;
  /** The public key as SPKI PEM, the bytes an algorithm-confusion attack uses as HMAC secret. */
  readonly publicPem: string;
  /** Signs RS256 claims with the served key. */
  sign(claims: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/** Starts a server answering every request with a fresh key set of one RS256 key. */
export async function startJwksServer(kid: string): Promise<JwksServer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const server: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    kid,
    privateKey,
    publicJwk,
    publicPem: await exportSPKI(publicKey),
    sign: (claims, header = {}) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, ...header }).sign(privateKey),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** base64url of a JSON value. */
export function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** An unsigned token (`alg: none`), built by hand since jose refuses to make one. */
export function unsignedToken(claims: Record<string, unknown>): string {
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`;
}

/** An HS256 token over any header, signed by hand with any bytes as the secret. */
export function hmacToken(
  claims: Record<string, unknown>,
  secret: string | Uint8Array,
  header: Record<string, unknown> = {},
): string {
  const input = `${base64url({ alg: 'HS256', typ: 'JWT', ...header })}.${base64url(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** The current time in seconds since the epoch, as JWT claims count it. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
