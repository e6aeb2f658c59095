import type { Command } from 'commander';
import { checkProjectName } from '../../constructs/field-rules';
import { CliError } from './errors';
import { HksClient } from '../../sdk/typescript';
import {
  configFilePath,
  ConfigKey,
  HksCliConfig,
  readConfigFile,
  requireConfig,
  resolveConfig,
} from './config';

/** The world the CLI talks to; the process's by default, replaced in tests. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly stderrIsTTY: boolean;
  readonly cwd: string;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** The process's standard streams, environment and folder. */
export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    stderrIsTTY: Boolean(process.stderr.isTTY),
    cwd: process.cwd(),
  };
}

/** Output formats. */
export const OUTPUT_FORMATS = ['text', 'json'] as const;

/** Options every command takes. */
export interface GlobalOptions {
  readonly apiUrl?: string;
  readonly token?: string;
  readonly project?: string;
  readonly output: (typeof OUTPUT_FORMATS)[number];
}

/** What one command's action works with: options, configuration, client and output. */
export class CliContext<TOptions = object> {
  public readonly options: GlobalOptions & TOptions;
  public readonly json: boolean;
  public readonly configFile: string;
  private configCache?: HksCliConfig;

  constructor(
    command: Command,
    public readonly io: CliIo,
  ) {
    this.options = command.optsWithGlobals<GlobalOptions & TOptions>();
    this.json = this.options.output === 'json';
    this.configFile = configFilePath(io.env);
  }

  /** The configuration in effect (flags > environment > file). */
  public config(): HksCliConfig {
    this.configCache ??= resolveConfig(
      { apiUrl: this.options.apiUrl, token: this.options.token, project: this.options.project },
      this.io.env,
      readConfigFile(this.configFile),
    );
    return this.configCache;
  }

  /** Values of configuration keys that must be set (exit 2 naming every source otherwise). */
  public require<K extends ConfigKey>(...keys: K[]): { readonly [P in K]: string } {
    return requireConfig(this.config(), keys, this.configFile);
  }

  /**
   * The configured project, checked as the API checks it (so a reserved or malformed name is
   * a usage error before any request).
   */
  public project(): string {
    const { project } = this.require('project');
    const problem = checkProjectName(project);
    if (problem) throw CliError.usage(`--project / HKS_PROJECT: ${problem}`);
    return project;
  }

  /** A client of the configured API. */
  public client(): HksClient {
    const { apiUrl, token } = this.require('apiUrl', 'token');
    return new HksClient({ apiUrl, token, fetch: this.io.fetch });
  }

  /** Prints the result: `text` in text mode, `value` as JSON in json mode. */
  public result(text: string | (() => string), value: unknown): void {
    if (this.json) this.io.stdout(`${JSON.stringify(value, null, 2)}\n`);
    else {
      const out = typeof text === 'function' ? text() : text;
      if (out) this.io.stdout(out.endsWith('\n') ? out : `${out}\n`);
    }
  }

  /** A note for people on stderr (text mode only: in json mode stderr carries errors only). */
  public note(text: string): void {
    if (!this.json) this.io.stderr(`${text}\n`);
  }
}

/** Renders rows as columns separated by two spaces, the first row being the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** "3m", "2h", "5d": how long ago an ISO time was. */
export function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const seconds = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86400)}d`;
}

/**
 * A commander action running `run` with a context; positional arguments come first, as
 * commander passes them (followed by the options and the command, dropped here).
 */
export function action<TOptions, TArgs extends unknown[]>(
  io: CliIo,
  run: (ctx: CliContext<TOptions>, ...args: TArgs) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const command = args[args.length - 1] as Command;
    await run(new CliContext<TOptions>(command, io), ...(args.slice(0, -2) as TArgs));
  };
}
