import type { Command } from 'commander';
import { readConfigFile, requireConfig, resolveConfig, writeConfigFile } from './config';
import { action, CliIo } from './context';

/** `hks-func login`: saves API URL, token and project in the configuration file. */
export function registerLogin(program: Command, io: CliIo): void {
  program
    .command('login')
    .description(
      'Save the API URL, token and (optionally) project in the config file ($HKS_CONFIG or ~/.config/hks/config.json, mode 0600). Takes --api-url and --token (or HKS_API_URL / HKS_TOKEN), and --project (or HKS_PROJECT).',
    )
    .action(
      action(io, async (ctx) => {
        const previous = readConfigFile(ctx.configFile);
        // Only flags and environment count here: login is how the file's values are replaced.
        const given = resolveConfig(
          { apiUrl: ctx.options.apiUrl, token: ctx.options.token, project: ctx.options.project },
          io.env,
          {},
        );
        const { apiUrl, token } = requireConfig(given, ['apiUrl', 'token'], ctx.configFile);
        const project = given.project ?? previous.project;
        writeConfigFile(ctx.configFile, { apiUrl, token, ...(project ? { project } : {}) });
        ctx.result(
          `Saved ${apiUrl}${project ? ` (project ${project})` : ''} to ${ctx.configFile}`,
          {
            configFile: ctx.configFile,
            apiUrl,
            project: project ?? null,
          },
        );
      }),
    );
}
