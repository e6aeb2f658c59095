/**
 * `npm run token -- --projects shop[,billing|*] [--expires 1h]` — prints an HS256 API token
 * signed with HKS_JWT_SECRET, for trying the API and for scripts.
 */
import { Command } from 'commander';
import { parseArguments } from './parse-arguments';
import { SignJWT } from 'jose';

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('token')
    .requiredOption('--projects <list>', 'comma-separated projects the token grants, or *')
    .option('--expires <duration>', 'lifetime such as 10m, 1h, 7d', '1h')
    .option('--subject <sub>', 'the sub claim', 'cli');
  const usage = parseArguments(program, argv);
  if (usage !== undefined) return usage;
  const options = program.opts<{ projects: string; expires: string; subject: string }>();
  const secret = process.env.HKS_JWT_SECRET;
  if (!secret || Buffer.byteLength(secret) < 32) {
    process.stderr.write(
      "HKS_JWT_SECRET: expected the API's secret (at least 32 bytes) in the environment\n",
    );
    return 2;
  }
  if (!/^\d+[smhd]$/.test(options.expires)) {
    process.stderr.write(
      `--expires: given ${JSON.stringify(options.expires)}, expected a number and s, m, h or d, e.g. 1h\n`,
    );
    return 2;
  }
  const projects = options.projects
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const jwt = await new SignJWT({ projects })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(options.subject)
    .setIssuedAt()
    .setExpirationTime(options.expires)
    .sign(new TextEncoder().encode(secret));
  process.stdout.write(`${jwt}\n`);
  return 0;
}

main(process.argv.slice(2)).then((code) => (process.exitCode = code));
