import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** A long-running control plane process the harness owns. */
export interface ProcessSpec {
  /** Name of the pid and log files, e.g. `kube-apiserver`. */
  readonly name: string;
  /** Absolute path of the executable. */
  readonly binary: string;
  readonly args: readonly string[];
  /**
   * Network namespace to run in (`nsenter --net=<path>`; only the network namespace, so the
   * process still sees the host's /sys and cgroups). @default the host's
   */
  readonly netns?: string;
}

/** Where a process's pid and log files live. */
export interface ProcessFiles {
  readonly pidFile: string;
  readonly logFile: string;
}

/** Pid and log file names of a process in `stateDir`. */
export function processFiles(stateDir: string, name: string): ProcessFiles {
  return {
    pidFile: join(stateDir, 'run', `${name}.pid`),
    logFile: join(stateDir, 'logs', `${name}.log`),
  };
}

/**
 * Starts a process detached from this one (it outlives `cluster:up`), with output
 * appended to its log file, and records its pid and executable in the pid file.
 *
 * @returns the pid
 */
export function startProcess(stateDir: string, spec: ProcessSpec): number {
  const files = processFiles(stateDir, spec.name);
  mkdirSync(join(stateDir, 'run'), { recursive: true });
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  const out = openSync(files.logFile, 'a');
  // nsenter execs the binary, so the pid and /proc/<pid>/exe end up being the binary's.
  const [command, args] =
    spec.netns === undefined
      ? [spec.binary, spec.args]
      : ['nsenter', [`--net=${spec.netns}`, '--', spec.binary, ...spec.args]];
  const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  if (child.pid === undefined) {
    throw new Error(`could not start ${spec.binary}`);
  }
  child.unref();
  writeFileSync(files.pidFile, `${child.pid}\n${spec.binary}\n${command}\n`);
  return child.pid;
}

/** Pid from a pid file, if the process it names is still running the same executable. */
export function runningPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) {
    return undefined;
  }
  const [pidText, binary, launcher] = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) {
    return undefined;
  }
  try {
    // Guards against a recycled pid: the process must still run our binary.
    const exe = readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
    // Until nsenter has exec'd the binary, the process is still nsenter itself.
    const starting = launcher !== undefined && launcher !== binary && exe.endsWith(`/${launcher}`);
    return exe === binary || starting ? pid : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends a signal; a process that exited in the meantime is fine. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') {
      throw error;
    }
  }
}

/**
 * Stops the process named by a pid file: SIGTERM, then SIGKILL after `graceMs`.
 * Does nothing when the process is gone; removes the pid file either way.
 */
export async function stopProcess(pidFile: string, graceMs = 10_000): Promise<void> {
  const pid = runningPid(pidFile);
  if (pid !== undefined) {
    signal(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (runningPid(pidFile) !== undefined && Date.now() < deadline) {
      await sleep(50);
    }
    if (runningPid(pidFile) !== undefined) {
      signal(pid, 'SIGKILL');
      while (runningPid(pidFile) !== undefined) {
        await sleep(50);
      }
    }
  }
  rmSync(pidFile, { force: true });
}

/** Last lines of a log file, for error messages. */
export function logTail(logFile: string, lines = 20): string {
  if (!existsSync(logFile)) {
    return '(no log)';
  }
  return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
