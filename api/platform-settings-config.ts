import { formatProblem } from '../constructs/definition-problem';
import {
  loadPlatformSettings,
  PlatformSettings,
  PlatformSettingsError,
} from '../constructs/platform-settings';
import { ConfigError } from './config';

const VARIABLE = 'HKS_PLATFORM_SETTINGS';

/**
 * The operator's platform settings (docs/platform-settings.md) from the file `HKS_PLATFORM_SETTINGS`
 * names: the tenancy every project's namespace gets and the runtime images, used for every
 * definition the API applies and every temporary function it deploys. Unset: the defaults.
 * @throws ConfigError with each bad field, as the file's loader names it
 */
export function readPlatformSettings(
  env: NodeJS.ProcessEnv = process.env,
): PlatformSettings | undefined {
  const file = env[VARIABLE]?.trim();
  if (!file) return undefined;
  try {
    return loadPlatformSettings(file);
  } catch (error) {
    if (error instanceof PlatformSettingsError)
      throw new ConfigError(error.problems.map((p) => `${VARIABLE}: ${formatProblem(p)}`));
    throw error;
  }
}
