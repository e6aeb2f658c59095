#!/usr/bin/env -S npx tsx
/**
 * `npm run run-local -- <definition file or folder> [--name <function>] [--port <port>]`
 *
 * Runs a Function on this machine with the same bootstrap and environment variables as in its
 * container: its source is written to a scratch folder (`HKS_FUNCTION_DIR`) and `python3` or
 * `node` starts the runtime on `--port` (default 8080). Ctrl-C drains and stops it.
 * Exit codes: the runtime's own; 1 invalid definitions; 2 bad usage.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { parseArguments } from './parse-arguments';
import {
  DEFAULT_HANDLERS,
  DefinitionError,
  FUNCTION_DEFAULTS,
  FunctionDefinition,
  handlerFiles,
  isSourceRuntime,
  loadDefinitions,
} from '../constructs';

interface RunLocalOptions {
  readonly name?: string;
  readonly port: string;
  readonly debug: boolean;
}

const PROGRAMS = { 'python3.12': 'python3', nodejs20: 'node' } as const;
const BOOTSTRAPS = {
  'python3.12': join(__dirname, '..', 'runtimes', 'python', 'bootstrap.py'),
  nodejs20: join(__dirname, '..', 'runtimes', 'node', 'bootstrap.js'),
} as const;

function pick(path: string, name: string | undefined): FunctionDefinition | string {
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

async function run(path: string, options: RunLocalOptions): Promise<number> {
  if (!/^\d+$/.test(options.port) || Number(options.port) > 65535) {
    process.stderr.write(`--port: given ${JSON.stringify(options.port)}, expected a port number\n`);
    return 2;
  }
  const picked = pick(path, options.name);
  if (typeof picked === 'string') {
    process.stderr.write(`${picked}\n`);
    return 2;
  }
  const { spec, metadata } = picked;
  if (!isSourceRuntime(spec.runtime)) {
    process.stderr.write(
      `${metadata.name}: given runtime: image, expected python3.12 or nodejs20 (run the image itself, with PORT set)\n`,
    );
    return 2;
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
    stdio: 'inherit',
    env: {
      ...process.env,
      ...Object.fromEntries(Object.entries(spec.env ?? {}).map(([k, v]) => [k, String(v)])),
      HKS_FUNCTION_DIR: dir,
      HKS_HANDLER: handler,
      HKS_FUNCTION_NAME: metadata.name,
      HKS_TIMEOUT_SECONDS: String(spec.timeoutSeconds ?? FUNCTION_DEFAULTS.timeoutSeconds),
      HKS_DEBUG: options.debug ? '1' : (process.env.HKS_DEBUG ?? ''),
      PORT: options.port,
    },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => child.kill('SIGTERM'));
  }
  const code = await new Promise<number>((resolve) =>
    child.on('exit', (exitCode) => resolve(exitCode ?? 1)),
  );
  rmSync(dir, { recursive: true, force: true });
  return code;
}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('run-local')
    .description('Run a Function locally with the bootstrap of its runtime.')
    .argument('<path>', 'definition file, or folder of definitions')
    .option('--name <function>', 'which Function, when there are several')
    .option('--port <port>', 'port to listen on', '8080')
    .option('--debug', 'include stacks in error responses (HKS_DEBUG=1)', false);
  const usage = parseArguments(program, argv);
  if (usage !== undefined) return usage;
  try {
    return await run(program.args[0], program.opts<RunLocalOptions>());
  } catch (error) {
    if (error instanceof DefinitionError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
