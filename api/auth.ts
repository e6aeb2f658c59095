import type { RequestHandler } from 'express';
import { createRemoteJWKSet, JWTPayload, jwtVerify } from 'jose';
import { ApiConfig } from './config';
import { Problem } from './problem';

/** The caller, from a verified token. */
export interface Caller {
  readonly subject?: string;
  /** Projects the caller may touch; `*` means all. */
  readonly projects: readonly string[];
}

/** Verifies a bearer token and returns its caller. */
export type TokenVerifier = (token: string) => Promise<Caller>;

/** A verifier for the configured key: HS256 secret or a remote JWKS. */
export function tokenVerifier(config: ApiConfig): TokenVerifier {
  const key = config.jwt.kind === 'secret' ? config.jwt.secret : createRemoteJWKSet(config.jwt.url);
  const algorithms =
    config.jwt.kind === 'secret' ? ['HS256'] : ['RS256', 'ES256', 'PS256', 'EdDSA'];
  return async (token) => {
    let payload: JWTPayload;
    try {
      const options = { algorithms, issuer: config.jwtIssuer, audience: config.jwtAudience };
      // A function key and a Uint8Array key have different overloads; both verify the same way.
      payload = (
        typeof key === 'function'
          ? await jwtVerify(token, key, options)
          : await jwtVerify(token, key, options)
      ).payload;
    } catch (error) {
      throw new Problem(
        401,
        'Invalid token',
        `The bearer token was rejected: ${(error as Error).message}`,
      );
    }
    const projects = payload.projects;
    if (!Array.isArray(projects) || !projects.every((p) => typeof p === 'string')) {
      throw new Problem(
        401,
        'Invalid token',
        'The token has no "projects" claim: expected a list of project names, or ["*"] for platform admins',
      );
    }
    return { subject: payload.sub, projects };
  };
}

/** Locals set by {@link authenticate}. */
export interface AuthLocals {
  caller: Caller;
}

/** Requires `Authorization: Bearer <JWT>`; 401 without a valid one. */
export function authenticate(verify: TokenVerifier): RequestHandler {
  return (req, res, next) => {
    const header = req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      next(new Problem(401, 'Missing token', 'Send Authorization: Bearer <JWT>'));
      return;
    }
    verify(match[1]).then(
      (caller) => {
        (res.locals as AuthLocals).caller = caller;
        next();
      },
      (error: unknown) => next(error),
    );
  };
}

/** 403 unless the caller may touch the `project` path parameter. */
export const authorizeProject: RequestHandler = (req, res, next) => {
  const caller = (res.locals as AuthLocals).caller;
  const project = String(req.params.project);
  if (caller.projects.includes('*') || caller.projects.includes(project)) {
    next();
    return;
  }
  next(
    new Problem(
      403,
      'Forbidden',
      `The token does not grant project ${JSON.stringify(project)} (it grants ${JSON.stringify(caller.projects)})`,
    ),
  );
};
