import type { Command } from 'commander';
import { decodeJwt } from 'jose';
import { INTERNAL_AUDIENCE } from '../../api/auth';
import type { ApiAccess } from '../../mcp/server';
import { packageVersion } from '../../constructs/package-dir';
import { readConfigFile, requireConfig, resolveConfig } from './config';
import { action, CliContext, CliIo } from './context';
import { CliError } from './errors';

/** `hks-func mcp`: the MCP server on stdin and stdout, for an agent's MCP host to start. */
export function registerMcp(program: Command, io: CliIo): void {
  program
    .command('mcp')
    .description(
      'Serve the HKS tools over MCP on stdin/stdout (for an MCP host). Needs an internal token (audience hks-internal); the API URL and token are read again at every tool call, so a renewed token in the environment file or config file is picked up.',
    )
    .action(
      action<object, []>(io, async (ctx) => {
        const access = () => apiAccess(ctx);
        checkInternal(access().token);
        // Loaded here, not with the CLI: the tools' schemas bring in the API's route modules
        // (and @kubernetes/client-node), which every other command and --help can do without.
        const [{ hksMcpServer }, { StdioServerTransport }] = await Promise.all([
          import('../../mcp/server'),
          import('@modelcontextprotocol/sdk/server/stdio.js'),
        ]);
        const server = hksMcpServer({ access, version: packageVersion(), fetch: io.fetch });
        const closed = new Promise<void>((resolve) => {
          server.onclose = resolve;
        });
        await server.connect(new StdioServerTransport());
        // The host ends stdin to stop the server; the transport itself does not watch for it.
        process.stdin.once('end', () => void server.close());
        await closed;
      }),
    );
}

/** The API URL and token in effect now: flags over environment over the config file. */
function apiAccess(ctx: CliContext): ApiAccess {
  const { apiUrl, token } = ctx.options;
  const config = resolveConfig({ apiUrl, token }, ctx.io.env, readConfigFile(ctx.configFile));
  return requireConfig(config, ['apiUrl', 'token'], ctx.configFile);
}

/**
 * Refuses a token that is not an internal one before serving: the API would refuse every
 * tool call with it (403). Only the claims are read; the API verifies the signature.
 */
function checkInternal(token: string): void {
  let audience: unknown;
  try {
    audience = decodeJwt(token).aud;
  } catch (error) {
    throw CliError.usage(
      `--token / HKS_TOKEN: given a token that is not a JWT (${(error as Error).message}), expected an internal token (audience ${JSON.stringify(INTERNAL_AUDIENCE)})`,
    );
  }
  if ([audience].flat().includes(INTERNAL_AUDIENCE)) return;
  throw CliError.usage(
    `--token / HKS_TOKEN: given a token with audience ${JSON.stringify(audience ?? null)}, expected an internal token (audience ${JSON.stringify(INTERNAL_AUDIENCE)}): the MCP tools call /internal/v1, which refuses user tokens`,
  );
}
