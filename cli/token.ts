/**
 * `npm run token -- --projects shop[,billing|*] [--admin shop|*] [--expires 1h] [--internal]` —
 * prints an HS256 API token signed with HKS_JWT_SECRET, for trying the API and for scripts; at most
 * HKS_JWT_MAX_LIFETIME_SECONDS (default a day). `--internal` mints a token for `/internal/v1`
 * (audience hks-internal, at most 10 minutes), signed with HKS_INTERNAL_JWT_SECRET when set.
 * `--admin` sets the `admin` claim: the projects whose admin routes (the audit trail) it may read.
 * HKS_JWT_ISSUER and HKS_JWT_AUDIENCE, when set, become `iss` and (user tokens) `aud`.
 */
import { Command } from 'commander';
import { parseArguments } from './parse-arguments';
import { SignJWT } from 'jose';
import { INTERNAL_AUDIENCE, MAX_INTERNAL_TOKEN_SECONDS } from '../api/auth';
import { DEFAULT_JWT_MAX_LIFETIME_SECONDS } from '../api/config';

const SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('token')
    .requiredOption('--projects <list>', 'comma-separated projects the token grants, or *')
    .option(
      '--expires <duration>',
      'lifetime such as 10m, 1h, 7d (default 1h; 10m with --internal)',
    )
    .option('--internal', `an internal token for /internal/v1 (audience ${INTERNAL_AUDIENCE})`)
    .option('--admin <list>', 'comma-separated projects the token administers (admin claim), or *')
    .option('--subject <sub>', 'the sub claim', 'cli');
  const usage = parseArguments(program, argv);
  if (usage !== undefined) return usage;
  const options = program.opts<{
    projects: string;
    expires?: string;
    subject: string;
    internal?: boolean;
    admin?: string;
  }>();
  const expires = options.expires ?? (options.internal ? '10m' : '1h');
  const env = process.env;
  // Internal tokens have their own key when the API is given one.
  const secretName =
    options.internal && env.HKS_INTERNAL_JWT_SECRET ? 'HKS_INTERNAL_JWT_SECRET' : 'HKS_JWT_SECRET';
  const secret = env[secretName];
  if (!secret || Buffer.byteLength(secret) < 32) {
    process.stderr.write(
      `${secretName}: expected the API's secret (at least 32 bytes) in the environment\n`,
    );
    return 2;
  }
  if (!/^\d+[smhd]$/.test(expires)) {
    process.stderr.write(
      `--expires: given ${JSON.stringify(expires)}, expected a number and s, m, h or d, e.g. 1h\n`,
    );
    return 2;
  }
  const seconds = Number(expires.slice(0, -1)) * SECONDS[expires.slice(-1) as keyof typeof SECONDS];
  if (options.internal && seconds > MAX_INTERNAL_TOKEN_SECONDS) {
    process.stderr.write(
      `--expires: given ${expires} with --internal, expected at most ${MAX_INTERNAL_TOKEN_SECONDS / 60}m (internal tokens are short-lived)\n`,
    );
    return 2;
  }
  const maxUserSeconds = Number(
    env.HKS_JWT_MAX_LIFETIME_SECONDS || DEFAULT_JWT_MAX_LIFETIME_SECONDS,
  );
  if (!options.internal && seconds > maxUserSeconds) {
    process.stderr.write(
      `--expires: given ${expires} (${seconds} s), expected at most ${maxUserSeconds} s (HKS_JWT_MAX_LIFETIME_SECONDS)\n`,
    );
    return 2;
  }
  const list = (value: string) =>
    value
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
  const projects = list(options.projects);
  const admin = options.admin === undefined ? {} : { admin: list(options.admin) };
  const claims = new SignJWT({ projects, ...admin })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(options.subject)
    .setIssuedAt()
    .setExpirationTime(`${seconds}s`);
  if (env.HKS_JWT_ISSUER) claims.setIssuer(env.HKS_JWT_ISSUER);
  if (options.internal) claims.setAudience(INTERNAL_AUDIENCE);
  else if (env.HKS_JWT_AUDIENCE) claims.setAudience(env.HKS_JWT_AUDIENCE);
  const jwt = await claims.sign(new TextEncoder().encode(secret));
  process.stdout.write(`${jwt}\n`);
  return 0;
}

main(process.argv.slice(2)).then((code) => (process.exitCode = code));
