import { generateKeyPair, exportJWK, SignJWT } from 'jose';
import { holdsRole, INTERNAL_AUDIENCE, tokenVerifier, TokenVerifier } from '../api/auth';
import { loadConfig } from '../api/config';
import { Problem } from '../api/problem';
import { CLOCK_SKEW_SECONDS, lifetimeProblem } from '../api/token-lifetime';
import {
  hmacToken,
  JwksServer,
  nowSeconds,
  startJwksServer,
  unsignedToken,
} from './support/jwks-server';

const USER_SECRET = 'user-secret-of-at-least-thirty-two-bytes!';
const INTERNAL_SECRET = 'internal-secret-of-at-least-thirty-two-bytes';

function verifierFor(env: Record<string, string>): TokenVerifier {
  return tokenVerifier(loadConfig({ HKS_SQLITE_PATH: '/nonexistent/api.sqlite', ...env }));
}

/** The 401 detail of a refused token, or "accepted". */
async function outcome(verify: TokenVerifier, token: string): Promise<string> {
  try {
    await verify(token);
    return 'accepted';
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    expect(error.status).toBe(401);
    for (const secret of [USER_SECRET, INTERNAL_SECRET]) expect(error.detail).not.toContain(secret);
    return error.detail;
  }
}

const user = (extra: Record<string, unknown> = {}) => ({
  projects: ['shop'],
  iat: nowSeconds(),
  exp: nowSeconds() + 600,
  ...extra,
});
const internal = (extra: Record<string, unknown> = {}) =>
  user({ aud: INTERNAL_AUDIENCE, ...extra });

describe('lifetimeProblem', () => {
  const limit = { tokens: 'User tokens', maxSeconds: 3600, source: 'HKS_JWT_MAX_LIFETIME_SECONDS' };
  const now = 1_000_000;

  test('accepts a token within the limit, with or without iat', () => {
    expect(lifetimeProblem({ iat: now, exp: now + 3600 }, limit, now)).toBeUndefined();
    expect(lifetimeProblem({ exp: now + 3600 }, limit, now)).toBeUndefined();
    expect(lifetimeProblem({ iat: now + CLOCK_SKEW_SECONDS, exp: now + 60 }, limit, now)).toBe(
      undefined,
    );
  });

  test.each([
    ['no exp', { iat: now }, 'must carry exp'],
    ['exp too far from now', { exp: now + 3601 }, 'expires in 3601 s, expected at most 3600 s'],
    ['exp too far from iat', { iat: now - 100, exp: now + 3600 }, 'exp − iat is 3700 s'],
    [
      'iat in the future',
      { iat: now + 100000, exp: now + 100060 },
      'iat is 100000 s in the future',
    ],
    ['iat just past the skew', { iat: now + 61, exp: now + 120 }, 'iat is 61 s in the future'],
  ])('refuses %s', (_label, claims, message) => {
    expect(lifetimeProblem(claims, limit, now)).toContain(message);
  });

  test('requires iat when the limit says so', () => {
    expect(lifetimeProblem({ exp: now + 60 }, { ...limit, requireIssuedAt: true }, now)).toBe(
      'User tokens must carry iat',
    );
  });
});

describe('secret mode (HS256)', () => {
  const verify = verifierFor({ HKS_JWT_SECRET: USER_SECRET });

  test('accepts a user token and an internal token signed with the secret', async () => {
    expect(await verify(hmacToken(user(), USER_SECRET))).toMatchObject({ projects: ['shop'] });
    expect(await verify(hmacToken(internal(), USER_SECRET))).toMatchObject({
      audiences: [INTERNAL_AUDIENCE],
    });
  });

  test('every token must carry exp, user tokens too', async () => {
    expect(await outcome(verify, hmacToken(user({ exp: undefined }), USER_SECRET))).toContain(
      '"exp"',
    );
  });

  test('user tokens: at most HKS_JWT_MAX_LIFETIME_SECONDS, default a day', async () => {
    const twoDays = hmacToken(user({ exp: nowSeconds() + 2 * 86400 }), USER_SECRET);
    expect(await outcome(verify, twoDays)).toContain('expected at most 86400 s');
    const noIat = hmacToken(user({ iat: undefined, exp: nowSeconds() + 2 * 86400 }), USER_SECRET);
    expect(await outcome(verify, noIat)).toContain('expires in');
    const oldIat = hmacToken(user({ iat: nowSeconds() - 2 * 86400 }), USER_SECRET);
    expect(await outcome(verify, oldIat)).toContain('exp − iat');
    const hour = verifierFor({ HKS_JWT_SECRET: USER_SECRET, HKS_JWT_MAX_LIFETIME_SECONDS: '3600' });
    const twoHours = hmacToken(user({ exp: nowSeconds() + 7200 }), USER_SECRET);
    expect(await outcome(hour, twoHours)).toContain(
      'expected at most 3600 s (HKS_JWT_MAX_LIFETIME_SECONDS)',
    );
  });

  test('iat in the future (now + 100000 s) is refused for both families', async () => {
    const future = { iat: nowSeconds() + 100000, exp: nowSeconds() + 100300 };
    for (const claims of [user(future), internal(future)]) {
      expect(await outcome(verify, hmacToken(claims, USER_SECRET))).toContain(
        'in the future, expected at most 60 s',
      );
    }
    const withinSkew = { iat: nowSeconds() + 30, exp: nowSeconds() + 300 };
    expect(await outcome(verify, hmacToken(internal(withinSkew), USER_SECRET))).toBe('accepted');
  });

  test('internal tokens: iat required, exp − iat and exp − now at most 600 s', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ iat: undefined }, 'Internal tokens must carry iat'],
      [{ iat: nowSeconds() - 10, exp: nowSeconds() + 700 }, 'exp − iat is 710 s'],
      // iat within the clock skew keeps exp − iat small; exp − now is still too far.
      [{ iat: nowSeconds() + 50, exp: nowSeconds() + 620 }, 'the token expires in 6'],
    ];
    for (const [claims, message] of cases) {
      expect(await outcome(verify, hmacToken(internal(claims), USER_SECRET))).toContain(message);
    }
  });

  test('alg none is refused', async () => {
    expect(await outcome(verify, unsignedToken(user()))).toContain(
      'alg is "none", expected one of HS256',
    );
    expect(await outcome(verify, unsignedToken(internal()))).toContain('alg is "none"');
  });

  test('asymmetric tokens are refused: only HS256 verifies with a secret', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const rs256 = await new SignJWT(user()).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
    expect(await outcome(verify, rs256)).toContain('alg is "RS256", expected one of HS256');
  });

  test.each(['jwk', 'jku', 'x5u', 'x5c'])(
    'a %s header (a key of its own) is refused',
    async (name) => {
      const { publicKey } = await generateKeyPair('ES256');
      const values: Record<string, unknown> = {
        jwk: await exportJWK(publicKey),
        jku: 'http://127.0.0.1:1/keys.json',
        x5u: 'http://127.0.0.1:1/cert.pem',
        x5c: ['MIIB'],
      };
      const token = hmacToken(user(), USER_SECRET, { [name]: values[name] });
      expect(await outcome(verify, token)).toContain(`header carries ${name}, expected none`);
    },
  );

  test('garbage and a wrong secret are refused without echoing the secret', async () => {
    expect(await outcome(verify, 'not-a-jwt')).toContain('not a signed JWT');
    expect(await outcome(verify, hmacToken(user(), INTERNAL_SECRET))).toContain(
      'signature verification failed',
    );
  });
});

describe('the admin claim', () => {
  const verify = verifierFor({ HKS_JWT_SECRET: USER_SECRET });

  test('a list of projects (or "*") becomes the caller\'s admin; none without the claim', async () => {
    const caller = await verify(hmacToken(user({ admin: ['shop'] }), USER_SECRET));
    expect(caller).toMatchObject({ projects: ['shop'], admin: ['shop'] });
    expect((await verify(hmacToken(user(), USER_SECRET))).admin).toBeUndefined();
  });

  test.each([
    ['a string', 'shop', '"shop"'],
    ['a list with a number', ['shop', 1], '["shop",1]'],
    ['a mapping', { shop: true }, '{"shop":true}'],
    ['null', null, 'null'],
  ])(
    '%s is refused, naming the claim, the value and what is expected',
    async (_label, admin, shown) => {
      expect(await outcome(verify, hmacToken(user({ admin }), USER_SECRET))).toBe(
        `The token's "admin" claim is ${shown}, expected a list of project names the caller administers, or ["*"] (leave it out for none)`,
      );
    },
  );

  test('admin holds only in projects the token also grants', () => {
    const caller = (projects: string[], admin?: string[]) => ({ projects, admin, audiences: [] });
    expect(holdsRole(caller(['shop'], ['shop']), 'shop', 'admin')).toBe(true);
    expect(holdsRole(caller(['shop', 'billing'], ['*']), 'billing', 'admin')).toBe(true);
    expect(holdsRole(caller(['*'], ['shop']), 'shop', 'admin')).toBe(true);
    expect(holdsRole(caller(['*']), 'shop', 'admin')).toBe(false);
    expect(holdsRole(caller(['shop'], ['billing']), 'shop', 'admin')).toBe(false);
    expect(holdsRole(caller(['billing'], ['shop']), 'shop', 'admin')).toBe(false);
  });
});

describe('a separate internal key (HKS_INTERNAL_JWT_SECRET)', () => {
  const verify = verifierFor({
    HKS_JWT_SECRET: USER_SECRET,
    HKS_INTERNAL_JWT_SECRET: INTERNAL_SECRET,
  });

  test('internal tokens verify with the internal key only', async () => {
    expect(await outcome(verify, hmacToken(internal(), INTERNAL_SECRET))).toBe('accepted');
    expect(await outcome(verify, hmacToken(internal(), USER_SECRET))).toContain(
      'verify only with the internal key, HKS_INTERNAL_JWT_SECRET',
    );
  });

  test('user tokens verify with the user key only', async () => {
    expect(await outcome(verify, hmacToken(user(), USER_SECRET))).toBe('accepted');
    expect(await outcome(verify, hmacToken(user(), INTERNAL_SECRET))).toContain(
      'signature verification failed',
    );
  });

  test('an audience list naming hks-internal among others still needs the internal key', async () => {
    const token = hmacToken(internal({ aud: ['hks', INTERNAL_AUDIENCE] }), USER_SECRET);
    expect(await outcome(verify, token)).toContain('internal key');
  });
});

describe('JWKS mode', () => {
  let keys: JwksServer;
  let internalKeys: JwksServer;
  let verify: TokenVerifier;
  const claims = (extra: Record<string, unknown> = {}) => user({ iss: 'https://issuer', ...extra });

  beforeAll(async () => {
    keys = await startJwksServer('user-key');
    internalKeys = await startJwksServer('internal-key');
    verify = verifierFor({
      HKS_JWKS_URL: keys.url,
      HKS_JWT_ISSUER: 'https://issuer',
      HKS_JWT_AUDIENCE: 'hks',
      HKS_INTERNAL_JWKS_URL: internalKeys.url,
    });
  });

  afterAll(async () => {
    await keys?.close();
    await internalKeys?.close();
  });

  test('accepts a token signed with a served key', async () => {
    expect(await outcome(verify, await keys.sign(claims()))).toBe('accepted');
    expect(await outcome(verify, await internalKeys.sign(claims({ aud: INTERNAL_AUDIENCE })))).toBe(
      'accepted',
    );
  });

  test('a kid not in the key set is refused', async () => {
    const token = await keys.sign(claims(), { kid: 'another-key' });
    expect(await outcome(verify, token)).toContain('no applicable key found');
    const traversal = await keys.sign(claims(), { kid: '../../../dev/null' });
    expect(await outcome(verify, traversal)).toContain('no applicable key found');
  });

  test('a token signed by an unknown key under a served kid is refused', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'RS256', kid: keys.kid })
      .sign(privateKey);
    expect(await outcome(verify, token)).toContain('signature verification failed');
  });

  test('algorithm confusion: HS256 keyed with the public key is refused', async () => {
    for (const secret of [keys.publicPem, JSON.stringify(keys.publicJwk), keys.publicJwk.n ?? '']) {
      const token = hmacToken(claims(), secret, { kid: keys.kid });
      expect(await outcome(verify, token)).toContain(
        'alg is "HS256", expected one of RS256, ES256, PS256, EdDSA',
      );
    }
  });

  test('alg none is refused', async () => {
    expect(await outcome(verify, unsignedToken(claims()))).toContain('alg is "none"');
  });

  test('an embedded key is refused even when the token verifies with it', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'RS256', kid: keys.kid, jwk: await exportJWK(publicKey) })
      .sign(privateKey);
    expect(await outcome(verify, token)).toContain('header carries jwk');
  });

  test('the issuer is checked', async () => {
    expect(await outcome(verify, await keys.sign(claims({ iss: 'https://other' })))).toContain(
      '"iss"',
    );
  });

  test('internal tokens signed with the user key set are refused', async () => {
    const token = await keys.sign(claims({ aud: INTERNAL_AUDIENCE }));
    expect(await outcome(verify, token)).toContain('HKS_INTERNAL_JWKS_URL');
  });
});
