import { readFileSync } from 'node:fs';
import { SourceRuntimeName } from './function-rules';
import { packagePath } from './package-dir';

/** Where the function's source is mounted in the container (`HKS_FUNCTION_DIR`). */
export const FUNCTION_DIR = '/var/hks/function';

/** Where the runtime's bootstrap is mounted in the container. */
export const RUNTIME_DIR = '/var/hks/runtime';

/** Stock language images that run source functions; override them to use a registry mirror. */
export const DEFAULT_RUNTIME_IMAGES: Readonly<Record<SourceRuntimeName, string>> = {
  'python3.12': 'python:3.12-slim',
  nodejs20: 'node:20-slim',
};

/** How one source runtime starts its bootstrap. */
export interface SourceRuntime {
  /** File name of the bootstrap in `runtimes/<language>/` and in the container. */
  readonly bootstrapFile: string;
  /** The bootstrap's source code. */
  readonly bootstrap: string;
  /** Command that runs the bootstrap in the stock image. */
  readonly command: readonly string[];
  /** Environment the language needs on a read-only root filesystem. */
  readonly env: Readonly<Record<string, string>>;
}

const LANGUAGES: Readonly<
  Record<
    SourceRuntimeName,
    { folder: string; file: string; program: string; env: Record<string, string> }
  >
> = {
  'python3.12': {
    folder: 'python',
    file: 'bootstrap.py',
    program: 'python3',
    // No .pyc files on a read-only filesystem; prints reach the logs at once.
    env: { PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
  },
  nodejs20: { folder: 'node', file: 'bootstrap.js', program: 'node', env: {} },
};

const cache = new Map<SourceRuntimeName, SourceRuntime>();

/** The bootstrap of a runtime, read once from `runtimes/` of this package. */
export function sourceRuntime(runtime: SourceRuntimeName): SourceRuntime {
  let found = cache.get(runtime);
  if (!found) {
    const language = LANGUAGES[runtime];
    found = {
      bootstrapFile: language.file,
      bootstrap: readFileSync(packagePath('runtimes', language.folder, language.file), 'utf8'),
      command: [language.program, `${RUNTIME_DIR}/${language.file}`],
      env: language.env,
    };
    cache.set(runtime, found);
  }
  return found;
}
