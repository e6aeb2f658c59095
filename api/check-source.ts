import { spawn } from 'node:child_process';
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

// Compiles every file without running it: the `python -m py_compile` check, in one process.
const PYTHON_CHECK = `
import json, sys
problems = []
for path, source in json.load(sys.stdin).items():
    try:
        compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as e:
        text = (e.text or "").rstrip("\\n")
        caret = (" " * (max(e.offset or 1, 1) - 1) + "^") if text else ""
        problems.append({"file": path, "line": e.lineno, "message": "%s: %s" % (type(e).__name__, e.msg), "excerpt": (text + "\\n" + caret) if text else None})
    except ValueError as e:
        problems.append({"file": path, "message": "ValueError: %s" % e})
sys.stdout.write(json.dumps(problems))
`;

/**
 * Syntax checks of function source before anything is deployed: Python files are compiled by
 * the configured interpreter, JavaScript files by V8 (the `node --check` equivalent).
 */
export class SourceChecker {
  constructor(private readonly python: string) {}

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

  private checkPython(files: Record<string, string>): Promise<SyntaxProblem[]> {
    if (Object.keys(files).length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const child = spawn(this.python, ['-I', '-S', '-c', PYTHON_CHECK], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
      child.on('error', (error) =>
        reject(
          new Problem(
            503,
            'Source check unavailable',
            `Could not run ${JSON.stringify(this.python)} to check Python syntax (${error.message}); install Python 3 or set HKS_PYTHON`,
          ),
        ),
      );
      child.on('close', (code) => {
        try {
          if (code !== 0) throw new Error(err.trim() || `exit code ${code}`);
          resolve(JSON.parse(out) as SyntaxProblem[]);
        } catch (error) {
          reject(
            new Problem(
              503,
              'Source check unavailable',
              `The Python syntax check failed: ${(error as Error).message}`,
            ),
          );
        }
      });
      child.stdin.end(JSON.stringify(files));
    });
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
