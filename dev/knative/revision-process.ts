import { type ChildProcess, spawn } from 'node:child_process';
import { get } from 'node:http';
import { CriLogFile } from './cri-log';
import { freePort } from './free-port';
import { type FileModes, writePlanFiles } from './function-files';
import type { LocalRuntimePlan } from './local-runtime';
import { processEnv } from './process-env';
import type { ProcessUser } from './process-user';
import type { RevisionInstance } from './revision-instance';
import type { Upstream } from './router';

/** How a revision's process is started and awaited. */
export interface RevisionProcessOptions {
  readonly plan: LocalRuntimePlan;
  /**
   * The plan's program as found for {@link user}.
   * @default - the plan's program, looked up on {@link path}
   */
  readonly program?: string;
  /**
   * The user it runs as.
   * @default - the stand-in's own
   */
  readonly user?: ProcessUser;
  /**
   * Its `PATH`.
   * @default - the stand-in's `PATH`
   */
  readonly path?: string;
  /**
   * Modes of the plan's files.
   * @default - the defaults (umask)
   */
  readonly modes?: FileModes;
  /** CRI-format log file of the process's stdout and stderr. */
  readonly logFile: string;
  /** Variables Knative sets besides the container's (`K_SERVICE`, ...); `PORT` is added. */
  readonly extraEnv: Readonly<Record<string, string>>;
  /** How long the process may take to answer `GET /healthz` with 200. */
  readonly readyTimeoutMs: number;
  /** Pause between health checks. */
  readonly pollIntervalMs: number;
}

/** How a start ended: healthy, or why not (a Knative `Ready: False` reason and message). */
export type StartOutcome =
  | { readonly ready: true; readonly port: number; readonly startMs: number }
  | { readonly ready: false; readonly reason: string; readonly message: string };

/** How a process ended. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Time a process gets between SIGTERM and SIGKILL. */
export const STOP_GRACE_MS = 2_000;

/** Every process started and not yet exited, killed if this process exits first. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Whether `GET /healthz` on the port answers 200 (within a second). */
export function healthy(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get({ host, port, path: '/healthz', timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** `exit code <n>` or `signal <name>`. */
export function describeExit(exit: ProcessExit): string {
  return exit.code === null ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

/**
 * A revision's container run as a local process: its files written, stdout and stderr
 * captured in a CRI-format log file, started on a free port and awaited healthy.
 */
export class RevisionProcess implements RevisionInstance {
  public readonly kind = 'process';
  /** Resolves with the start's outcome (healthy, exited or never healthy). */
  public readonly started: Promise<StartOutcome>;
  /** Resolves when the process has exited. */
  public readonly exited: Promise<ProcessExit>;
  private exit: ProcessExit | undefined;
  /** Ends the pause between health checks early (the process printed something). */
  private wake: () => void = () => undefined;

  private constructor(
    private readonly child: ChildProcess,
    public readonly port: number,
    private readonly log: CriLogFile,
    options: RevisionProcessOptions,
  ) {
    running.add(child);
    child.stdout?.on('data', (chunk: Buffer) => {
      log.write('stdout', chunk);
      this.wake();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      log.write('stderr', chunk);
      this.wake();
    });
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        running.delete(child);
        this.exit = { code, signal };
        log.close();
        resolve(this.exit);
      };
      child.once('close', done);
      child.once('error', (error) => {
        log.write('stderr', `${error.message}\n`);
        done(127, null);
      });
    });
    this.started = this.awaitHealthy(options);
  }

  /**
   * Writes the plan's files and starts its program on a free port, as its user, with only
   * its container's environment.
   * @returns the running process; {@link started} tells whether it became healthy
   */
  public static async start(options: RevisionProcessOptions): Promise<RevisionProcess> {
    const { plan, user } = options;
    writePlanFiles(plan, options.modes);
    const port = await freePort();
    const log = new CriLogFile(options.logFile);
    const child = spawn(options.program ?? plan.program, [...plan.args], {
      env: processEnv({
        path: options.path ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        lang: process.env.LANG,
        container: plan.env,
        knative: options.extraEnv,
        port,
      }),
      ...(user === undefined ? {} : { uid: user.uid, gid: user.gid }),
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a terminal's Ctrl-C reaches the stand-in, which drains it.
      detached: true,
    });
    return new RevisionProcess(child, port, log, options);
  }

  /** Its port on 127.0.0.1. */
  public get upstream(): Upstream {
    return { host: '127.0.0.1', port: this.port };
  }

  /** The process id (undefined when it could not be spawned). */
  public get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last lines the process printed. */
  public logTail(): string {
    return this.log.tail();
  }

  /** SIGTERM, then SIGKILL after {@link STOP_GRACE_MS}; resolves when it has exited. */
  public async stop(): Promise<ProcessExit> {
    if (this.exit !== undefined) return this.exit;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  private async awaitHealthy(options: RevisionProcessOptions): Promise<StartOutcome> {
    const begin = Date.now();
    const deadline = begin + options.readyTimeoutMs;
    let exited = false;
    void this.exited.then(() => {
      exited = true;
      this.wake();
    });
    while (!exited && Date.now() < deadline) {
      if (await healthy(this.port))
        return { ready: true, port: this.port, startMs: Date.now() - begin };
      if (exited) break;
      // Poll again after the interval, or at once when the process prints (e.g. "listening").
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollIntervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = () => undefined;
    }
    if (exited || this.exit !== undefined) {
      const exit = await this.exited;
      return {
        ready: false,
        reason: 'ExitCode',
        message: `Container failed with ${describeExit(exit)}: ${this.logTail() || '(no output)'}`,
      };
    }
    await this.stop();
    return {
      ready: false,
      reason: 'HealthCheckFailed',
      message: `Container did not answer GET /healthz with 200 within ${options.readyTimeoutMs} ms; it was stopped. Output: ${this.logTail() || '(no output)'}`,
    };
  }
}
