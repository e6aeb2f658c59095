import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** A TypeScript entry point of this repository running as its own node process. */
export interface ScriptProcess {
  readonly child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  readonly output: () => string;
  /** Sends `signal` (SIGKILL after `graceMs`) and resolves once it has exited. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/** Processes still running; none may outlive the test process that started them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `node --import tsx <script> ...args` from the repository root and waits until `ready`
 * says so. One process (node with tsx's loader), not the tsx wrapper: signals must reach the
 * script itself.
 *
 * @param name what it is, for error messages
 * @param ready polled every 50 ms with the output so far until it resolves true (60 s at most:
 *   tsx compiles the script first, which takes 10 s and more on a loaded 2-core machine)
 * @param nodeArgs node's options before the script. @default ['--import', 'tsx'] (`[]` for
 *   compiled JavaScript)
 */
export async function startScript(
  name: string,
  script: string,
  args: readonly string[],
  env: Record<string, string>,
  ready: (output: string) => Promise<boolean> | boolean,
  nodeArgs: readonly string[] = ['--import', 'tsx'],
): Promise<ScriptProcess> {
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with ${child.exitCode}:\n${output}`);
    if (await ready(output)) break;
    if (Date.now() > deadline) throw new Error(`${name} did not start within 60 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    output: () => output,
    stop: (signal = 'SIGTERM', graceMs = 15_000) =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill(signal);
      }),
  };
}
