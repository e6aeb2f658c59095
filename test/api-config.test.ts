import { ConfigError, loadConfig } from '../api/config';

const SECRET = 'user-secret-of-at-least-thirty-two-bytes!';
const INTERNAL_SECRET = 'internal-secret-of-at-least-thirty-two-bytes';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env, '/tmp');
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

test('token defaults: a day for user tokens, internal tokens on the user key', () => {
  const config = loadConfig({ HKS_JWT_SECRET: SECRET }, '/tmp');
  expect(config.jwtMaxLifetimeSeconds).toBe(86400);
  expect(config.internalJwt).toBeUndefined();
});

test('HKS_JWT_MAX_LIFETIME_SECONDS is read and bounded', () => {
  expect(
    loadConfig({ HKS_JWT_SECRET: SECRET, HKS_JWT_MAX_LIFETIME_SECONDS: '3600' }, '/tmp')
      .jwtMaxLifetimeSeconds,
  ).toBe(3600);
  expect(problemsOf({ HKS_JWT_SECRET: SECRET, HKS_JWT_MAX_LIFETIME_SECONDS: '0' })).toEqual([
    'HKS_JWT_MAX_LIFETIME_SECONDS: given "0", expected a whole number from 60 to 2592000',
  ]);
});

test('JWKS mode requires HKS_JWT_ISSUER and HKS_JWT_AUDIENCE', () => {
  expect(problemsOf({ HKS_JWKS_URL: 'https://idp.example/jwks.json' })).toEqual([
    'HKS_JWT_ISSUER: given nothing, expected the iss claim the tokens must carry (required with HKS_JWKS_URL)',
    'HKS_JWT_AUDIENCE: given nothing, expected the aud claim the tokens must carry (required with HKS_JWKS_URL)',
  ]);
  const config = loadConfig(
    {
      HKS_JWKS_URL: 'https://idp.example/jwks.json',
      HKS_JWT_ISSUER: 'https://idp.example',
      HKS_JWT_AUDIENCE: 'hks',
    },
    '/tmp',
  );
  expect(config.jwt).toEqual({ kind: 'jwks', url: new URL('https://idp.example/jwks.json') });
});

test('an internal secret or key set of its own', () => {
  const withSecret = loadConfig(
    { HKS_JWT_SECRET: SECRET, HKS_INTERNAL_JWT_SECRET: INTERNAL_SECRET },
    '/tmp',
  );
  expect(withSecret.internalJwt?.kind).toBe('secret');
  const withKeys = loadConfig(
    { HKS_JWT_SECRET: SECRET, HKS_INTERNAL_JWKS_URL: 'https://idp.example/internal.json' },
    '/tmp',
  );
  expect(withKeys.internalJwt).toEqual({
    kind: 'jwks',
    url: new URL('https://idp.example/internal.json'),
  });
});

test('internal key problems name the variable without echoing a secret', () => {
  const cases: [Record<string, string>, string][] = [
    [
      { HKS_INTERNAL_JWT_SECRET: 'short' },
      'HKS_INTERNAL_JWT_SECRET: given 5 bytes, expected at least 32 bytes (HS256)',
    ],
    [
      { HKS_INTERNAL_JWT_SECRET: SECRET },
      'HKS_INTERNAL_JWT_SECRET: given the value of HKS_JWT_SECRET, expected a different secret (internal tokens have their own key)',
    ],
    [
      { HKS_INTERNAL_JWT_SECRET: INTERNAL_SECRET, HKS_INTERNAL_JWKS_URL: 'https://idp/k' },
      'HKS_INTERNAL_JWT_SECRET and HKS_INTERNAL_JWKS_URL: given both, expected exactly one of them',
    ],
    [
      { HKS_INTERNAL_JWKS_URL: 'not a url' },
      'HKS_INTERNAL_JWKS_URL: given "not a url", expected an https:// URL of a JSON Web Key Set',
    ],
  ];
  for (const [env, problem] of cases) {
    const problems = problemsOf({ HKS_JWT_SECRET: SECRET, ...env });
    expect(problems).toEqual([problem]);
    expect(problems.join()).not.toContain(SECRET);
  }
  expect(
    problemsOf({
      HKS_JWKS_URL: 'https://idp/k',
      HKS_JWT_ISSUER: 'i',
      HKS_JWT_AUDIENCE: 'a',
      HKS_INTERNAL_JWKS_URL: 'https://idp/k',
    }),
  ).toEqual([
    'HKS_INTERNAL_JWKS_URL: given "https://idp/k", expected a different key set than HKS_JWKS_URL (internal tokens have their own key)',
  ]);
});
