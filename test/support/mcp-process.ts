import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const MAIN = join(__dirname, '..', '..', 'cli', 'hks-func', 'main.ts');
const TSX = pathToFileURL(require.resolve('tsx')).href;

/** The command that starts `hks-func mcp` (through tsx), with extra arguments. */
export function hksFuncMcp(extra: readonly string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', TSX, MAIN, 'mcp', ...extra] };
}

/**
 * A JWT-shaped token with the given claims and no valid signature: `hks-func mcp` reads only
 * its audience; an API would refuse it.
 */
export function unsignedToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256' })}.${part({ exp: Math.floor(Date.now() / 1000) + 300, ...claims })}.c2ln`;
}
