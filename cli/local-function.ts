/**
 * Runs a Function on this machine with the same bootstrap and environment variables as in its
 * container: its source is written to a scratch folder (`HKS_FUNCTION_DIR`) and `python3` or
 * `node` starts the runtime. Used by `npm run run-local` and `hks-func run-local`.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { packagePath } from '../constructs/package-dir';
import {
  DEFAULT_HANDLERS,
  FUNCTION_DEFAULTS,
  FunctionDefinition,
  handlerFiles,
  isSourceRuntime,
  loadDefinitions,
} from '../constructs';

/** Options of a local run. */
export interface LocalRunOptions {
  /** Which Function, when the path holds several. @default - the only one */
  readonly name?: string;
  /** Port to listen on; `0` picks a free one. @default "8080" */
  readonly port?: string;
  /** Error responses include the stack (`HKS_DEBUG=1`). @default false */
  readonly debug?: boolean;
}

/** A Function's runtime running as a local process. */
export interface LocalFunction {
  readonly child: ChildProcess;
  /** The scratch folder holding its source (removed when it exits). */
  readonly dir: string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number>;
}

const PROGRAMS = { 'python3.12': 'python3', nodejs20: 'node' } as const;
const BOOTSTRAPS = {
  'python3.12': packagePath('runtimes', 'python', 'bootstrap.py'),
  nodejs20: packagePath('runtimes', 'node', 'bootstrap.js'),
} as const;

/**
 * The Function to run from a definition file or folder.
 * @returns the definition, or what is wrong with the choice (given, expected)
 * @throws DefinitionError when the definitions are invalid
 */
export function pickFunction(path: string, name: string | undefined): FunctionDefinition | string {
  const functions = loadDefinitions(path)
    .map((c) => c.definition)
    .filter((d): d is FunctionDefinition => d.kind === 'Function');
  const names = functions.map((f) => f.metadata.name).join(', ');
  if (functions.length === 0)
    return `${path}: given no Function definitions, expected at least one`;
  if (name === undefined) {
    if (functions.length === 1) return functions[0];
    return `--name: missing, expected one of ${names}`;
  }
  return (
    functions.find((f) => f.metadata.name === name) ??
    `--name: given ${JSON.stringify(name)}, expected one of ${names}`
  );
}

/** Why a port option is unusable, or undefined. */
export function checkPort(port: string): string | undefined {
  if (/^\d+$/.test(port) && Number(port) <= 65535) return undefined;
  return `--port: given ${JSON.stringify(port)}, expected a port number (0 to 65535)`;
}

/**
 * Starts a source Function's runtime: writes its files to a scratch folder and spawns the
 * bootstrap with the container's environment variables.
 * @param stdio `inherit` (a terminal) or `pipe` (tests, to read the `listening` line)
 * @returns the process, or why the Function cannot run here (`runtime: image`)
 */
export function startLocalFunction(
  definition: FunctionDefinition,
  options: LocalRunOptions = {},
  stdio: 'inherit' | 'pipe' = 'inherit',
): LocalFunction | string {
  const { spec, metadata } = definition;
  if (!isSourceRuntime(spec.runtime)) {
    return `${metadata.name}: given runtime: image, expected python3.12 or nodejs20 (run the image itself, with PORT set)`;
  }
  const handler = spec.handler ?? DEFAULT_HANDLERS[spec.runtime];
  const files = spec.files ?? { [handlerFiles(spec.runtime, handler)[0]]: spec.code ?? '' };
  const dir = mkdtempSync(join(tmpdir(), `hks-fn-${metadata.name}-`));
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), content);
  }
  for (const variable of Object.keys(spec.secretEnv ?? {})) {
    if (process.env[variable] === undefined)
      process.stderr.write(`note: secretEnv ${variable} is not set here; export it to pass it\n`);
  }
  const child = spawn(PROGRAMS[spec.runtime], [BOOTSTRAPS[spec.runtime]], {
    stdio: stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...Object.fromEntries(Object.entries(spec.env ?? {}).map(([k, v]) => [k, String(v)])),
      HKS_FUNCTION_DIR: dir,
      HKS_HANDLER: handler,
      HKS_FUNCTION_NAME: metadata.name,
      HKS_TIMEOUT_SECONDS: String(spec.timeoutSeconds ?? FUNCTION_DEFAULTS.timeoutSeconds),
      HKS_DEBUG: options.debug ? '1' : (process.env.HKS_DEBUG ?? ''),
      PORT: options.port ?? '8080',
    },
  });
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (exitCode) => {
      rmSync(dir, { recursive: true, force: true });
      resolve(exitCode ?? 1);
    }),
  );
  return { child, dir, exited };
}

/**
 * Runs a Function from a definition file or folder in the foreground until it exits; Ctrl-C
 * (SIGINT) or SIGTERM drains and stops it.
 * @returns the runtime's exit code, or 2 for bad usage (after writing why to stderr)
 * @throws DefinitionError when the definitions are invalid
 */
export async function runLocal(path: string, options: LocalRunOptions = {}): Promise<number> {
  const portProblem = checkPort(options.port ?? '8080');
  if (portProblem) {
    process.stderr.write(`${portProblem}\n`);
    return 2;
  }
  const picked = pickFunction(path, options.name);
  const started = typeof picked === 'string' ? picked : startLocalFunction(picked, options);
  if (typeof started === 'string') {
    process.stderr.write(`${started}\n`);
    return 2;
  }
  const stop = () => started.child.kill('SIGTERM');
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, stop);
  try {
    return await started.exited;
  } finally {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, stop);
  }
}
