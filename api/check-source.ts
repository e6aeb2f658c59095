import {
  ApplicationDefinition,
  DEFAULT_HANDLERS,
  handlerFiles,
  isSourceRuntime,
} from '../constructs';
import { JavaScriptChecker } from './javascript-check';
import { FieldError, Problem } from './problem';
import { PythonCheck, PythonCheckOptions, PythonCheckPool } from './python-check-pool';

export type { PythonCheckOptions as SourceCheckOptions } from './python-check-pool';

/** The Python whose grammar checks each Python runtime's sources: the runtime's own. */
const PYTHON_VERSION = { 'python3.12': '3.12' } as const;

/**
 * Syntax checks of function source before anything is deployed: Python files are compiled by a
 * Python of the runtime's version, JavaScript files by V8 as Node loads them (CommonJS or ES
 * module).
 */
export class SourceChecker {
  private readonly python: PythonCheckPool;
  private readonly javascript: JavaScriptChecker;

  /**
   * @param python the interpreter tried first for Python sources (`HKS_PYTHON`)
   * @param options limits of one check and the number of checker processes
   */
  constructor(python: string, options: PythonCheckOptions = {}) {
    this.python = new PythonCheckPool(python, {
      version: PYTHON_VERSION['python3.12'],
      ...options,
    });
    this.javascript = new JavaScriptChecker({ timeoutMs: options.timeoutMs });
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
    const project = definition.metadata.project;
    const { problems, output, checkedWith }: PythonCheck =
      runtime === 'python3.12'
        ? await this.checkPython(project, pick(files, /\.py$/))
        : { problems: await this.javascript.check(project, files), output: '', checkedWith: '' };
    if (problems.length === 0) return;
    const errors: FieldError[] = problems.map((p) => ({
      path: field === 'files' ? `spec.files.${p.file}` : 'spec.code',
      message: `${p.message} (${p.file}${p.line ? ` line ${p.line}` : ''})${p.excerpt ? `\n${p.excerpt}` : ''}`,
      ...(p.line ? { line: p.line } : {}),
    }));
    throw new Problem(
      400,
      'Invalid source code',
      errors.map((e) => `${e.path}: ${e.message}`).join('\n') +
        (output ? `\nCompiler output:\n${output}` : '') +
        (checkedWith ? `\nChecked with ${checkedWith}, the grammar of runtime ${runtime}.` : ''),
      errors,
    );
  }

  /** Stops the Python checker processes (they never keep the process alive, though). */
  public close(): void {
    this.python.close();
  }

  private async checkPython(project: string, files: Record<string, string>): Promise<PythonCheck> {
    if (Object.keys(files).length === 0) return { problems: [], output: '', checkedWith: '' };
    return this.python.check(project, files);
  }
}

function pick(files: Readonly<Record<string, string>>, pattern: RegExp): Record<string, string> {
  return Object.fromEntries(Object.entries(files).filter(([path]) => pattern.test(path)));
}
