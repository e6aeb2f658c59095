import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { SourceRuntimeName } from '../../constructs';

/** The repository's runtimes and the example handlers of the tests. */
export const RUNTIMES: Readonly<
  Record<SourceRuntimeName, { program: string; bootstrap: string; fixtures: string }>
> = {
  'python3.12': {
    program: 'python3',
    bootstrap: join(__dirname, '..', '..', 'runtimes', 'python', 'bootstrap.py'),
    fixtures: join(__dirname, '..', 'fixtures', 'functions', 'python'),
  },
  nodejs20: {
    program: 'node',
    bootstrap: join(__dirname, '..', '..', 'runtimes', 'node', 'bootstrap.js'),
    fixtures: join(__dirname, '..', 'fixtures', 'functions', 'node'),
  },
};

/** A bootstrap running as a real process. */
export interface RunningRuntime {
  readonly process: ChildProcess;
  readonly url: string;
  /** Everything printed so far on stdout. */
  stdout(): string;
  /** The JSON lines printed so far on stdout. */
  logLines(): Record<string, unknown>[];
  /** Waits (up to 5 s) for JSON lines matching a test; the invocation line follows the response. */
  waitForLines(
    test: (line: Record<string, unknown>) => boolean,
    count: number,
  ): Promise<Record<string, unknown>[]>;
  /** Resolves with the exit code once the process has exited and all its output is read. */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Output of a bootstrap that was expected to refuse to start. */
export interface FailedStart {
  readonly code: number | null;
  readonly stderr: string;
  readonly stdout: string;
}

function spawnRuntime(runtime: SourceRuntimeName, env: Record<string, string>): ChildProcess {
  const { program, bootstrap, fixtures } = RUNTIMES[runtime];
  return spawn(program, [bootstrap], {
    env: {
      PATH: process.env.PATH ?? '',
      HKS_FUNCTION_DIR: fixtures,
      PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Starts a bootstrap on any free port (`PORT=0`) and waits for its `listening` line.
 * @param env `HKS_HANDLER` and any other variables; `HKS_FUNCTION_DIR` defaults to the fixtures
 */
export function startRuntime(
  runtime: SourceRuntimeName,
  env: Record<string, string>,
): Promise<RunningRuntime> {
  const child = spawnRuntime(runtime, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close', not 'exit': 'exit' can come before the last output has been read from the pipes.
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => resolve(code)),
  );
  const logLines = () =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line in 10 s: ${stderr}`)),
      10_000,
    );
    const onData = () => {
      const listening = logLines().find((line) => line.message === 'listening');
      if (!listening) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      resolve({
        process: child,
        url: `http://127.0.0.1:${String(listening.port)}`,
        stdout: () => stdout,
        logLines,
        waitForLines: async (test, count) => {
          for (const end = Date.now() + 5000; Date.now() < end;) {
            const lines = logLines().filter(test);
            if (lines.length >= count) return lines;
            await new Promise((r) => setTimeout(r, 20));
          }
          return logLines().filter(test);
        },
        exited,
        stop: () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stdout?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening: ${stderr}`));
    });
  });
}

/** Runs a bootstrap that should refuse to start; resolves with its exit code and output. */
export function failedStart(
  runtime: SourceRuntimeName,
  env: Record<string, string>,
): Promise<FailedStart> {
  const child = spawnRuntime(runtime, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  // 'close', not 'exit': by then stdout and stderr have been read to the end.
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    }),
  );
}
