import type { RequestHandler } from 'express';
import { createRemoteJWKSet, JWTPayload, jwtVerify } from 'jose';
import { ApiConfig } from './config';
import { Problem } from './problem';

/** The `aud` claim of internal tokens: the only tokens `/internal/v1` accepts. */
export const INTERNAL_AUDIENCE = 'hks-internal';

/** Longest lifetime (`exp` − `iat`) of an internal token, in seconds. */
export const MAX_INTERNAL_TOKEN_SECONDS = 600;

/** The caller, from a verified token. */
export interface Caller {
  readonly subject?: string;
  /** Projects the caller may touch; `*` means all. */
  readonly projects: readonly string[];
  /** The token's `aud` claim, as a list. */
  readonly audiences: readonly string[];
  /** `iat`, in seconds since the epoch. @default - not in the token */
  readonly issuedAt?: number;
  /** `exp`, in seconds since the epoch. @default - not in the token */
  readonly expiresAt?: number;
}

/** Verifies a bearer token's signature, issuer and expiry and returns its caller. */
export type TokenVerifier = (token: string) => Promise<Caller>;

/** A verifier for the configured key: HS256 secret or a remote JWKS. */
export function tokenVerifier(config: ApiConfig): TokenVerifier {
  const key = config.jwt.kind === 'secret' ? config.jwt.secret : createRemoteJWKSet(config.jwt.url);
  const algorithms =
    config.jwt.kind === 'secret' ? ['HS256'] : ['RS256', 'ES256', 'PS256', 'EdDSA'];
  return async (token) => {
    let payload: JWTPayload;
    try {
      // The audience is checked per route family (user or internal), not here.
      const options = { algorithms, issuer: config.jwtIssuer };
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
    const audiences = payload.aud === undefined ? [] : [payload.aud].flat();
    return {
      subject: payload.sub,
      projects,
      audiences,
      issuedAt: payload.iat,
      expiresAt: payload.exp,
    };
  };
}

/** Locals set by {@link authenticate}. */
export interface AuthLocals {
  caller: Caller;
}

/** The caller of an authenticated request. */
export function callerOf(res: { locals: unknown }): Caller {
  return (res.locals as AuthLocals).caller;
}

/** Which tokens a family of routes accepts. */
export type TokenFamily =
  { readonly kind: 'user'; readonly audience?: string } | { readonly kind: 'internal' };

/**
 * Requires `Authorization: Bearer <JWT>` of the route family: 401 without a valid token,
 * 403 for a valid token of the other family (internal tokens on user routes and the reverse).
 */
export function authenticate(verify: TokenVerifier, family: TokenFamily): RequestHandler {
  return (req, res, next) => {
    const header = req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      next(new Problem(401, 'Missing token', 'Send Authorization: Bearer <JWT>'));
      return;
    }
    verify(match[1])
      .then((caller) => {
        checkFamily(caller, family);
        (res.locals as AuthLocals).caller = caller;
      })
      .then(() => next(), next);
  };
}

function checkFamily(caller: Caller, family: TokenFamily): void {
  const internal = caller.audiences.includes(INTERNAL_AUDIENCE);
  if (family.kind === 'user') {
    if (internal) {
      throw new Problem(
        403,
        'Forbidden',
        `The token's audience is ${JSON.stringify(INTERNAL_AUDIENCE)}: internal tokens are accepted on /internal/v1 only; use a user token here`,
      );
    }
    if (family.audience !== undefined && !caller.audiences.includes(family.audience)) {
      throw new Problem(
        401,
        'Invalid token',
        `The token's audience is ${JSON.stringify(caller.audiences)}, expected ${JSON.stringify(family.audience)}`,
      );
    }
    return;
  }
  if (!internal) {
    throw new Problem(
      403,
      'Forbidden',
      `Internal routes accept only tokens with audience ${JSON.stringify(INTERNAL_AUDIENCE)}; the token's audience is ${JSON.stringify(caller.audiences)}`,
    );
  }
  const lifetime =
    caller.expiresAt === undefined || caller.issuedAt === undefined
      ? undefined
      : caller.expiresAt - caller.issuedAt;
  if (lifetime === undefined || lifetime > MAX_INTERNAL_TOKEN_SECONDS) {
    throw new Problem(
      401,
      'Invalid token',
      `Internal tokens must carry iat and exp at most ${MAX_INTERNAL_TOKEN_SECONDS} s apart; given ${lifetime === undefined ? 'no iat or no exp' : `${lifetime} s`}`,
    );
  }
}

/** True when the caller may touch `project`. */
export function grants(caller: Caller, project: string): boolean {
  return caller.projects.includes('*') || caller.projects.includes(project);
}

/** 403 unless the caller may touch `project`. */
export function requireProject(caller: Caller, project: string): void {
  if (grants(caller, project)) return;
  throw new Problem(
    403,
    'Forbidden',
    `The token does not grant project ${JSON.stringify(project)} (it grants ${JSON.stringify(caller.projects)})`,
  );
}

/** 403 unless the caller may touch the `project` path parameter. */
export const authorizeProject: RequestHandler = (req, res, next) => {
  try {
    requireProject((res.locals as AuthLocals).caller, String(req.params.project));
    next();
  } catch (error) {
    next(error);
  }
};
