import type { RequestHandler } from 'express';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  JWTPayload,
  jwtVerify,
  JWTVerifyOptions,
  ProtectedHeaderParameters,
} from 'jose';
import { ApiConfig, JwtVerification } from './config';
import { Problem } from './problem';
import { LifetimeLimit, lifetimeProblem } from './token-lifetime';

/** The `aud` claim of internal tokens: the only tokens `/internal/v1` accepts. */
export const INTERNAL_AUDIENCE = 'hks-internal';

/** Longest lifetime of an internal token (`exp` − `iat` and `exp` − now), in seconds. */
export const MAX_INTERNAL_TOKEN_SECONDS = 600;

/**
 * Algorithms per kind of key: a secret verifies HS256 only and a key set asymmetric algorithms
 * only, so a token cannot make the API use a public key as an HMAC secret.
 */
const ALGORITHMS: Record<JwtVerification['kind'], readonly string[]> = {
  secret: ['HS256'],
  jwks: ['RS256', 'ES256', 'PS256', 'EdDSA'],
};

/** Header parameters that carry or point at a key: keys come from the configuration only. */
const KEY_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const;

/** Roles a token may hold in a project on top of its `projects` grant (claim `admin`). */
export type ProjectRole = 'admin';

/** The caller, from a verified token. */
export interface Caller {
  readonly subject?: string;
  /** Projects the caller may touch; `*` means all. */
  readonly projects: readonly string[];
  /**
   * Projects the caller administers (the `admin` claim; `*` means all it is granted): their
   * admins read the project's agent executions. Admin of a project it is not granted is nothing.
   * @default - none
   */
  readonly admin?: readonly string[];
  /** The token's `aud` claim, as a list. */
  readonly audiences: readonly string[];
  /** `iat`, in seconds since the epoch. @default - not in the token */
  readonly issuedAt?: number;
  /** `exp`, in seconds since the epoch. */
  readonly expiresAt?: number;
}

/** Verifies a bearer token's signature, issuer and lifetime and returns its caller. */
export type TokenVerifier = (token: string) => Promise<Caller>;

/** One configured key and what it verifies. */
interface TokenKey {
  readonly algorithms: readonly string[];
  /** The variable naming the key, for messages. */
  readonly variable: string;
  readonly verify: (token: string, options: JWTVerifyOptions) => Promise<JWTPayload>;
}

function tokenKey(jwt: JwtVerification, variables: { secret: string; jwks: string }): TokenKey {
  const variable = variables[jwt.kind];
  const algorithms = ALGORITHMS[jwt.kind];
  if (jwt.kind === 'secret') {
    return {
      algorithms,
      variable,
      verify: async (token, options) => (await jwtVerify(token, jwt.secret, options)).payload,
    };
  }
  const keySet = createRemoteJWKSet(jwt.url);
  return {
    algorithms,
    variable,
    verify: async (token, options) => (await jwtVerify(token, keySet, options)).payload,
  };
}

function invalid(detail: string): Problem {
  return new Problem(401, 'Invalid token', detail);
}

/**
 * A verifier for the configured keys. Internal tokens (audience hks-internal) verify with the
 * internal key when one is configured, and only with it; every other token with the user key.
 * @param now the current time in seconds since the epoch
 */
export function tokenVerifier(
  config: ApiConfig,
  now: () => number = () => Math.floor(Date.now() / 1000),
): TokenVerifier {
  const userKey = tokenKey(config.jwt, { secret: 'HKS_JWT_SECRET', jwks: 'HKS_JWKS_URL' });
  const internalKey =
    config.internalJwt &&
    tokenKey(config.internalJwt, {
      secret: 'HKS_INTERNAL_JWT_SECRET',
      jwks: 'HKS_INTERNAL_JWKS_URL',
    });
  const userLimit: LifetimeLimit = {
    tokens: 'User tokens',
    maxSeconds: config.jwtMaxLifetimeSeconds,
    source: 'HKS_JWT_MAX_LIFETIME_SECONDS',
  };
  const internalLimit: LifetimeLimit = {
    tokens: 'Internal tokens',
    maxSeconds: MAX_INTERNAL_TOKEN_SECONDS,
    source: 'the limit of internal tokens',
    requireIssuedAt: true,
  };
  return async (token) => {
    const { header, claims } = decoded(token);
    const internal = audiencesOf(claims).includes(INTERNAL_AUDIENCE);
    const key = internal && internalKey ? internalKey : userKey;
    checkHeader(header, key);
    const nowSeconds = now();
    let payload: JWTPayload;
    try {
      // The audience is checked per route family (user or internal), not here.
      payload = await key.verify(token, {
        algorithms: [...key.algorithms],
        issuer: config.jwtIssuer,
        requiredClaims: ['exp'],
        currentDate: new Date(nowSeconds * 1000),
      });
    } catch (error) {
      const hint =
        key === internalKey
          ? ` (tokens with audience ${JSON.stringify(INTERNAL_AUDIENCE)} verify only with the internal key, ${key.variable})`
          : '';
      throw invalid(`The bearer token was rejected: ${(error as Error).message}${hint}`);
    }
    const problem = lifetimeProblem(payload, internal ? internalLimit : userLimit, nowSeconds);
    if (problem) throw invalid(problem);
    const projects = payload.projects;
    if (!Array.isArray(projects) || !projects.every((p) => typeof p === 'string')) {
      throw invalid(
        'The token has no "projects" claim: expected a list of project names, or ["*"] for platform admins',
      );
    }
    const admin = payload.admin;
    if (admin !== undefined && !isStringList(admin)) {
      throw invalid(
        `The token's "admin" claim is ${JSON.stringify(admin).slice(0, 100)}, expected a list of project names the caller administers, or ["*"] (leave it out for none)`,
      );
    }
    return {
      subject: payload.sub,
      projects,
      ...(admin === undefined ? {} : { admin }),
      audiences: audiencesOf(payload),
      issuedAt: payload.iat,
      expiresAt: payload.exp,
    };
  };
}

/** The token's header and claims, not yet verified: they only choose the key. */
function decoded(token: string): { header: ProtectedHeaderParameters; claims: JWTPayload } {
  try {
    return { header: decodeProtectedHeader(token), claims: decodeJwt(token) };
  } catch (error) {
    throw invalid(`The bearer token is not a signed JWT: ${(error as Error).message}`);
  }
}

/** Refuses what jose would refuse less clearly: other algorithms (`none`) and embedded keys. */
function checkHeader(header: ProtectedHeaderParameters, key: TokenKey): void {
  if (header.alg === undefined || !key.algorithms.includes(header.alg)) {
    throw invalid(
      `The token's alg is ${JSON.stringify(header.alg)}, expected one of ${key.algorithms.join(', ')} (the algorithms of ${key.variable})`,
    );
  }
  const embedded = KEY_HEADERS.filter((name) => header[name] !== undefined);
  if (embedded.length > 0) {
    throw invalid(
      `The token's header carries ${embedded.join(', ')}, expected none: keys come from ${key.variable} only`,
    );
  }
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function audiencesOf(claims: JWTPayload): string[] {
  return claims.aud === undefined ? [] : [claims.aud].flat();
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

/** The projects in which a caller holds each role, by role: its claims. */
const ROLE_PROJECTS: Record<ProjectRole, (caller: Caller) => readonly string[]> = {
  admin: (caller) => caller.admin ?? [],
};

/** True when the caller may touch `project` and holds `role` in it. */
export function holdsRole(caller: Caller, project: string, role: ProjectRole): boolean {
  const projects = ROLE_PROJECTS[role](caller);
  return grants(caller, project) && (projects.includes('*') || projects.includes(project));
}

/** 403 unless the caller holds every one of `roles` in the `project` path parameter. */
export function authorizeRoles(roles: readonly ProjectRole[]): RequestHandler {
  return (req, res, next) => {
    const caller = (res.locals as AuthLocals).caller;
    const project = String(req.params.project);
    const missing = roles.find((role) => !holdsRole(caller, project, role));
    if (missing === undefined) {
      next();
      return;
    }
    next(
      new Problem(
        403,
        'Forbidden',
        `Only the project's admins may do this: the token's "admin" claim lists ${JSON.stringify(caller.admin ?? [])}, expected it to list ${JSON.stringify(project)} or "*"`,
      ),
    );
  };
}
