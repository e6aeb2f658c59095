import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { decodeJwt } from 'jose';

const ROOT = join(__dirname, '..');
const SECRET = 'token-cli-secret-of-at-least-thirty-two-bytes';

/** The claims of the token `npm run token -- ...args` prints. */
function claimsOf(...args: string[]): Record<string, unknown> {
  const jwt = execFileSync(join(ROOT, 'node_modules', '.bin', 'tsx'), ['cli/token.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, HKS_JWT_SECRET: SECRET, HKS_JWT_ISSUER: '', HKS_JWT_AUDIENCE: '' },
    encoding: 'utf8',
  }).trim();
  return decodeJwt(jwt);
}

test('--admin sets the admin claim to its projects; without it there is none', () => {
  expect(claimsOf('--projects', 'shop,billing', '--admin', 'shop')).toMatchObject({
    projects: ['shop', 'billing'],
    admin: ['shop'],
  });
  expect(claimsOf('--projects', 'shop', '--admin', '*').admin).toEqual(['*']);
  expect(claimsOf('--projects', 'shop')).not.toHaveProperty('admin');
}, 30_000);
