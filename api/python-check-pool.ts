import { FairSlots } from './fair-slots';
import { Problem } from './problem';
import {
  BoundedText,
  CheckerLimits,
  PythonCheckerProcess,
  SyntaxProblem,
} from './python-checker-process';

/** Limits and size of the pool of Python checker processes. */
export interface PythonCheckOptions {
  /** Checker processes; one project uses at most all but one of them at once. @default 2 */
  readonly workers?: number;
  /** Time one check (all its files) may take, in milliseconds. @default 5000 */
  readonly timeoutMs?: number;
  /** Address space of a checker process (`RLIMIT_AS`), in bytes. @default 512 MiB */
  readonly memoryBytes?: number;
  /** What one check may print (warnings), in UTF-8 bytes. @default 8192 */
  readonly outputBytes?: number;
}

/** The result of checking one definition's Python files. */
export interface PythonCheck {
  readonly problems: readonly SyntaxProblem[];
  /** What compiling printed (warnings), of this check only, with a note when it was cut. */
  readonly output: string;
}

/** How long a checker process may take to start (a version manager's shim is slow). */
const STARTUP_MS = 10_000;

/**
 * Long-lived Python processes that compile sources, a few of them: starting an interpreter
 * (through a shim, often) costs more than a check, yet one process for everyone lets one
 * project's slow check stall the others. A check that passes its time limit has its process
 * killed; a process that died is replaced on the next check.
 */
export class PythonCheckPool {
  private readonly idle: PythonCheckerProcess[] = [];
  private readonly all = new Set<PythonCheckerProcess>();
  private readonly slots: FairSlots;
  private readonly limits: CheckerLimits;
  private readonly timeoutMs: number;
  /** The interpreter's own path once known: later processes start without the shim. */
  private executable?: string;

  constructor(
    private readonly python: string,
    options: PythonCheckOptions = {},
  ) {
    const workers = options.workers ?? 2;
    this.slots = new FairSlots(workers, Math.max(workers - 1, 1));
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.limits = {
      memoryBytes: options.memoryBytes ?? 512 * 1024 * 1024,
      outputBytes: options.outputBytes ?? 8192,
      startupMs: STARTUP_MS,
    };
  }

  /**
   * Compiles `files` (path to source) for `tenant`.
   * @throws Problem 503 when no checker starts or one dies while checking a file
   */
  public check(tenant: string, files: Readonly<Record<string, string>>): Promise<PythonCheck> {
    return this.slots.run(tenant, async () => {
      let checker = await this.take();
      const deadline = Date.now() + this.timeoutMs;
      const problems: SyntaxProblem[] = [];
      const output = new BoundedText(this.limits.outputBytes);
      try {
        for (const [file, source] of Object.entries(files)) {
          if (!checker.alive) checker = await this.take();
          const result = await checker.check(file, source, Math.max(deadline - Date.now(), 1));
          if (result.outcome === 'timeout') {
            problems.push({
              file,
              message: `the check took longer than the limit of ${this.timeoutMs / 1000} s; expected source that compiles within it (split or simplify very large files)`,
            });
            break;
          }
          if (result.outcome === 'crashed') {
            const printed = result.output.trim();
            throw new Problem(
              503,
              'Source check unavailable',
              `Could not check ${file}: the Python checker ended while compiling it (${result.reason})${printed ? `:\n${printed}` : ''}`,
            );
          }
          output.append(result.output, result.truncated);
          if (result.problem) problems.push(result.problem);
        }
      } finally {
        this.give(checker);
      }
      const cut = output.truncated ? `\n[cut at ${this.limits.outputBytes} bytes]` : '';
      return { problems, output: output.text + cut };
    });
  }

  /** Stops every checker process. */
  public close(): void {
    for (const checker of this.all) checker.stop();
    this.all.clear();
    this.idle.length = 0;
  }

  private async take(): Promise<PythonCheckerProcess> {
    for (let idle = this.idle.pop(); idle; idle = this.idle.pop()) {
      if (idle.alive) return idle;
      this.all.delete(idle);
    }
    const python = this.executable ?? this.python;
    const checker = new PythonCheckerProcess(python, this.limits);
    this.all.add(checker);
    try {
      this.executable ??= (await checker.ready) || undefined;
      return checker;
    } catch (error) {
      this.all.delete(checker);
      throw new Problem(
        503,
        'Source check unavailable',
        `Could not check Python syntax with ${JSON.stringify(python)}: ${(error as Error).message}; install Python 3 or set HKS_PYTHON`,
      );
    }
  }

  private give(checker: PythonCheckerProcess): void {
    if (checker.alive && this.all.has(checker)) this.idle.push(checker);
    else this.all.delete(checker);
  }
}
