import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { compileFunction } from 'node:vm';
import {
  ApplicationDefinition,
  DEFAULT_HANDLERS,
  handlerFiles,
  isSourceRuntime,
} from '../constructs';
import { FieldError, Problem } from './problem';

/** One syntax error in a source file. */
interface SyntaxProblem {
  readonly file: string;
  readonly line?: number;
  readonly message: string;
  /** The offending line with a caret under the column, when known. */
  readonly excerpt?: string;
}

// Compiles files without running them (the `python -m py_compile` check): one JSON request
// per line on stdin ({path: source}), one JSON list of problems per line on stdout.
const PYTHON_CHECKER = `
import json, sys
for request in sys.stdin:
    problems = []
    for path, source in json.loads(request).items():
        try:
            compile(source, path, "exec", dont_inherit=True)
        except SyntaxError as e:
            text = (e.text or "").rstrip("\\n")
            caret = (" " * (max(e.offset or 1, 1) - 1) + "^") if text else ""
            problems.append({"file": path, "line": e.lineno, "message": "%s: %s" % (type(e).__name__, e.msg), "excerpt": (text + "\\n" + caret) if text else None})
        except ValueError as e:
            problems.append({"file": path, "message": "ValueError: %s" % e})
    sys.stdout.write(json.dumps(problems) + "\\n")
    sys.stdout.flush()
`;

/**
 * One long-lived Python process that compiles sources on request: starting an interpreter
 * (through a version manager's shim, often) costs more than the rest of a deploy.
 */
class PythonChecker {
  private child?: ChildProcessWithoutNullStreams;
  private pending: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];

  constructor(private readonly python: string) {}

  public check(files: Record<string, string>): Promise<SyntaxProblem[]> {
    const child = this.child ?? this.start();
    return new Promise<string>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      child.stdin.write(`${JSON.stringify(files)}\n`);
    }).then((line) => JSON.parse(line) as SyntaxProblem[]);
  }

  private start(): ChildProcessWithoutNullStreams {
    const child = spawn(this.python, ['-I', '-S', '-u', '-c', PYTHON_CHECKER], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    createInterface({ input: child.stdout }).on('line', (line) =>
      this.pending.shift()?.resolve(line),
    );
    const fail = (reason: string) => {
      if (this.child === child) this.child = undefined;
      const problem = new Problem(
        503,
        'Source check unavailable',
        `Could not check Python syntax with ${JSON.stringify(this.python)}: ${reason}; install Python 3 or set HKS_PYTHON`,
      );
      for (const waiting of this.pending.splice(0)) waiting.reject(problem);
    };
    child.on('error', (error) => fail(error.message));
    child.on('exit', (code) => fail(stderr.trim() || `it exited with ${code}`));
    child.stdin.on('error', () => undefined); // reported through 'exit'
    // The checker must not keep the API alive at shutdown.
    child.unref();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    this.child = child;
    return child;
  }
}

/**
 * Syntax checks of function source before anything is deployed: Python files are compiled by
 * the configured interpreter, JavaScript files by V8 (the `node --check` equivalent).
 */
export class SourceChecker {
  private readonly python: PythonChecker;

  /** @param python the interpreter that compiles Python sources */
  constructor(python: string) {
    this.python = new PythonChecker(python);
  }

  /**
   * Checks a Function definition's source.
   * @throws Problem 400 naming the file, line and error of every syntax error
   */
  public async check(definition: ApplicationDefinition): Promise<void> {
    if (definition.kind !== 'Function' || !isSourceRuntime(definition.spec.runtime)) return;
    const spec = definition.spec;
    const runtime = spec.runtime as keyof typeof DEFAULT_HANDLERS;
    const handler = spec.handler ?? DEFAULT_HANDLERS[runtime];
    const field = spec.files ? 'files' : 'code';
    const files =
      spec.files ??
      (spec.code === undefined ? {} : { [handlerFiles(runtime, handler)[0]]: spec.code });
    const problems =
      runtime === 'python3.12'
        ? await this.checkPython(pick(files, /\.py$/))
        : checkJavaScript(pick(files, /\.(c?js)$/));
    if (problems.length === 0) return;
    const errors: FieldError[] = problems.map((p) => ({
      path: field === 'files' ? `spec.files.${p.file}` : 'spec.code',
      message: `${p.message} (${p.file}${p.line ? ` line ${p.line}` : ''})${p.excerpt ? `\n${p.excerpt}` : ''}`,
    }));
    throw new Problem(
      400,
      'Invalid source code',
      errors.map((e) => `${e.path}: ${e.message}`).join('\n'),
      errors,
    );
  }

  private async checkPython(files: Record<string, string>): Promise<SyntaxProblem[]> {
    if (Object.keys(files).length === 0) return [];
    return this.python.check(files);
  }
}

function pick(files: Readonly<Record<string, string>>, pattern: RegExp): Record<string, string> {
  return Object.fromEntries(Object.entries(files).filter(([path]) => pattern.test(path)));
}

const COMMONJS_PARAMETERS = ['exports', 'require', 'module', '__filename', '__dirname'];

/** Compiles each file as the CommonJS module body the bootstrap loads, without running it. */
function checkJavaScript(files: Record<string, string>): SyntaxProblem[] {
  const problems: SyntaxProblem[] = [];
  for (const [file, source] of Object.entries(files)) {
    try {
      compileFunction(source, COMMONJS_PARAMETERS, { filename: file });
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      // V8 puts "file:line", the line and a caret above the message in the stack.
      const [location, text, caret] = (error.stack ?? '').split('\n');
      const line = Number(/:(\d+)$/.exec(location ?? '')?.[1]) || undefined;
      problems.push({
        file,
        line,
        message: `SyntaxError: ${error.message}`,
        excerpt:
          text && caret !== undefined && /^\s*\^+\s*$/.test(caret)
            ? `${text}\n${caret}`
            : undefined,
      });
    }
  }
  return problems;
}
