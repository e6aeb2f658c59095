import type { HandlerParameters } from '../constructs';
import { FairSlots } from './fair-slots';
import { Problem } from './problem';
import {
  BoundedText,
  CheckerLimits,
  Interpreter,
  PythonCheckerProcess,
  SyntaxProblem,
} from './python-checker-process';
import { pythonCandidates } from './python-interpreters';

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
  /** The Python version (`major.minor`) whose grammar the sources are checked with. @default "3.12" */
  readonly version?: string;
  /**
   * Interpreters tried in turn until one is `version`.
   * @default - the given python, `python<version>` on the PATH, then pyenv's `<version>.*`
   */
  readonly interpreters?: readonly string[];
}

/** The result of checking one definition's Python files. */
export interface PythonCheck {
  readonly problems: readonly SyntaxProblem[];
  /** What compiling printed (warnings), of this check only, with a note when it was cut. */
  readonly output: string;
  /** The interpreter that checked them, e.g. `Python 3.12.1`. */
  readonly checkedWith: string;
  /** The handler's parameters, when asked for and its module's top level settles them. */
  readonly handler?: HandlerParameters;
}

/** A function whose parameters a check reads from its module. */
export interface HandlerLocation {
  /** The module's path among the files, e.g. `main.py`. */
  readonly file: string;
  /** The function's name, e.g. `handler`. */
  readonly name: string;
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
  private readonly version: string;
  private readonly interpreters: readonly string[];
  /** The interpreter of `version` once found: later processes start it without a shim. */
  private interpreter?: Promise<Interpreter>;

  constructor(python: string, options: PythonCheckOptions = {}) {
    this.version = options.version ?? '3.12';
    this.interpreters = options.interpreters ?? pythonCandidates(python, this.version);
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
   * Compiles `files` (path to source) for `tenant`, and reads the parameters of `handler`.
   * @throws Problem 503 when no interpreter of the version starts or one dies while checking
   */
  public check(
    tenant: string,
    files: Readonly<Record<string, string>>,
    handler?: HandlerLocation,
  ): Promise<PythonCheck> {
    return this.slots.run(tenant, async () => {
      const { version } = await this.locate();
      let checker = await this.take();
      const deadline = Date.now() + this.timeoutMs;
      const problems: SyntaxProblem[] = [];
      let parameters: HandlerParameters | undefined;
      const output = new BoundedText(this.limits.outputBytes);
      try {
        for (const [file, source] of Object.entries(files)) {
          if (!checker.alive) checker = await this.take();
          const result = await checker.check(
            file,
            source,
            Math.max(deadline - Date.now(), 1),
            file === handler?.file ? handler.name : undefined,
          );
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
          parameters ??= result.handler;
        }
      } finally {
        this.give(checker);
      }
      const cut = output.truncated ? `\n[cut at ${this.limits.outputBytes} bytes]` : '';
      return {
        problems,
        output: output.text + cut,
        checkedWith: `Python ${version}`,
        handler: parameters,
      };
    });
  }

  /** Stops every checker process. */
  public close(): void {
    for (const checker of this.all) checker.stop();
    this.all.clear();
    this.idle.length = 0;
  }

  /** The first interpreter of the version, found once (again after a failure). */
  private locate(): Promise<Interpreter> {
    if (this.interpreter) return this.interpreter;
    const finding = this.findInterpreter();
    this.interpreter = finding;
    finding.catch(() => {
      if (this.interpreter === finding) this.interpreter = undefined;
    });
    return finding;
  }

  private async findInterpreter(): Promise<Interpreter> {
    const refusals: string[] = [];
    for (const python of this.interpreters) {
      const probe = new PythonCheckerProcess(python, this.limits);
      try {
        const found = await probe.ready;
        if (found.version.split('.').slice(0, 2).join('.') === this.version)
          return { executable: found.executable || python, version: found.version };
        refusals.push(`${JSON.stringify(python)} is Python ${found.version}`);
      } catch (error) {
        refusals.push(`${JSON.stringify(python)} did not start (${(error as Error).message})`);
      } finally {
        probe.stop();
      }
    }
    throw new Problem(
      503,
      'Source check unavailable',
      `Could not check Python sources with the grammar of Python ${this.version} (the runtime's): ${refusals.join('; ')}; set HKS_PYTHON to a Python ${this.version} interpreter`,
    );
  }

  private async take(): Promise<PythonCheckerProcess> {
    for (let idle = this.idle.pop(); idle; idle = this.idle.pop()) {
      if (idle.alive) return idle;
      this.all.delete(idle);
    }
    const { executable } = await this.locate();
    const checker = new PythonCheckerProcess(executable, this.limits);
    this.all.add(checker);
    try {
      await checker.ready;
      return checker;
    } catch (error) {
      this.all.delete(checker);
      throw new Problem(
        503,
        'Source check unavailable',
        `Could not check Python syntax with ${JSON.stringify(executable)}: ${(error as Error).message}; set HKS_PYTHON to a Python ${this.version} interpreter`,
      );
    }
  }

  private give(checker: PythonCheckerProcess): void {
    if (checker.alive && this.all.has(checker)) this.idle.push(checker);
    else this.all.delete(checker);
  }
}
