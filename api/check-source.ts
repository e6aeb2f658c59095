import { compileFunction } from 'node:vm';
import {
  ApplicationDefinition,
  DEFAULT_HANDLERS,
  handlerFiles,
  isSourceRuntime,
} from '../constructs';
import { FieldError, Problem } from './problem';
import { PythonCheck, PythonCheckOptions, PythonCheckPool } from './python-check-pool';
import { SyntaxProblem } from './python-checker-process';

export type { PythonCheckOptions as SourceCheckOptions } from './python-check-pool';

/**
 * Syntax checks of function source before anything is deployed: Python files are compiled by
 * the configured interpreter, JavaScript files by V8 (the `node --check` equivalent).
 */
export class SourceChecker {
  private readonly python: PythonCheckPool;

  /**
   * @param python the interpreter that compiles Python sources
   * @param options limits of one Python check and the number of checker processes
   */
  constructor(python: string, options: PythonCheckOptions = {}) {
    this.python = new PythonCheckPool(python, options);
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
    const { problems, output }: PythonCheck =
      runtime === 'python3.12'
        ? await this.checkPython(definition.metadata.project, pick(files, /\.py$/))
        : { problems: checkJavaScript(pick(files, /\.(c?js)$/)), output: '' };
    if (problems.length === 0) return;
    const errors: FieldError[] = problems.map((p) => ({
      path: field === 'files' ? `spec.files.${p.file}` : 'spec.code',
      message: `${p.message} (${p.file}${p.line ? ` line ${p.line}` : ''})${p.excerpt ? `\n${p.excerpt}` : ''}`,
    }));
    throw new Problem(
      400,
      'Invalid source code',
      errors.map((e) => `${e.path}: ${e.message}`).join('\n') +
        (output ? `\nCompiler output:\n${output}` : ''),
      errors,
    );
  }

  /** Stops the Python checker processes (they never keep the process alive, though). */
  public close(): void {
    this.python.close();
  }

  private async checkPython(project: string, files: Record<string, string>): Promise<PythonCheck> {
    if (Object.keys(files).length === 0) return { problems: [], output: '' };
    return this.python.check(project, files);
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
