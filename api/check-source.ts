import {
  ApplicationDefinition,
  checkHandlerParameters,
  DEFAULT_HANDLERS,
  handlerFiles,
  HandlerParameters,
  isSourceRuntime,
} from '../constructs';
import { JavaScriptChecker, moduleKind } from './javascript-check';
import { javascriptHandlerParameters, MAX_HANDLER_MODULE_BYTES } from './javascript-handler';
import { FieldError, Problem } from './problem';
import {
  HandlerLocation,
  PythonCheck,
  PythonCheckOptions,
  PythonCheckPool,
} from './python-check-pool';
import { SyntaxProblem } from './python-checker-process';
import { freshProblem, SourceCheckCache, SourceCheckCacheOptions } from './source-check-cache';

export type { PythonCheckOptions as SourceCheckOptions } from './python-check-pool';
export type { SourceCheckCacheOptions } from './source-check-cache';

/** How the checkers word a check cut at its time limit (`python-check-pool`, `javascript-check`). */
const TIME_LIMIT_MESSAGE = 'the check took longer than the limit';

/** The Python whose grammar checks each Python runtime's sources: the runtime's own. */
const PYTHON_VERSION = { 'python3.12': '3.12' } as const;

/**
 * Checks of function source before anything is deployed: Python files are compiled by a
 * Python of the runtime's version, JavaScript files by V8 as Node loads them (CommonJS or ES
 * module); then the handler's parameters, where its module's source settles them (Python's
 * ast, acorn for JavaScript: nothing runs), against the signatures the runtime calls.
 * Verdicts are kept (bounded, least recently used first out): the same source checked again
 * by the same project gets the same answer without being compiled again.
 */
export class SourceChecker {
  private readonly python: PythonCheckPool;
  private readonly javascript: JavaScriptChecker;
  private readonly verdicts: SourceCheckCache;
  /** What every verdict depends on beside the source: the interpreter asked for, the limits. */
  private readonly settings: string;

  /**
   * @param python the interpreter tried first for Python sources (`HKS_PYTHON`)
   * @param options limits of one check and the number of checker processes
   * @param cache bounds of the kept verdicts
   */
  constructor(
    python: string,
    options: PythonCheckOptions = {},
    cache: SourceCheckCacheOptions = {},
  ) {
    this.python = new PythonCheckPool(python, {
      version: PYTHON_VERSION['python3.12'],
      ...options,
    });
    this.javascript = new JavaScriptChecker({ timeoutMs: options.timeoutMs });
    this.verdicts = new SourceCheckCache(cache);
    this.settings = JSON.stringify({
      python,
      ...options,
      handlerModuleBytes: MAX_HANDLER_MODULE_BYTES,
    });
  }

  /**
   * Checks a Function definition's source.
   * @throws Problem 400 naming the file, line and error of every syntax error, or the
   *   handler's signature and the accepted ones
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
    // The project is part of the key: whether another project sent this code stays unknown.
    const key = SourceCheckCache.keyOf([
      this.settings,
      project,
      runtime,
      handler,
      field,
      ...Object.keys(files)
        .sort()
        .flatMap((path) => [path, files[path]]),
    ]);
    const kept = this.verdicts.get(key);
    if (kept?.accepted) return;
    if (kept) throw freshProblem(kept.problem);
    const refusal = await this.refusalOf(project, runtime, handler, field, files);
    // A check cut at its time limit tells how busy the checker was, not what the source is.
    if (!refusal?.timedOut)
      this.verdicts.set(
        key,
        refusal ? { accepted: false, problem: refusal.problem } : { accepted: true },
      );
    if (refusal) throw freshProblem(refusal.problem);
  }

  /** Stops the Python checker processes (they never keep the process alive, though). */
  public close(): void {
    this.python.close();
  }

  /** The 400 the source is refused with, and whether a check hit its time limit; none: accepted. */
  private async refusalOf(
    project: string,
    runtime: keyof typeof DEFAULT_HANDLERS,
    handler: string,
    field: 'files' | 'code',
    files: Readonly<Record<string, string>>,
  ): Promise<{ problem: Problem; timedOut: boolean } | undefined> {
    // A larger module is left to the bootstrap's check at load: parsing it costs more than
    // its syntax check (Python's ast about 2.5 times the compile, within the check's time limit).
    const file = handlerFiles(runtime, handler).find(
      (candidate) =>
        candidate in files && Buffer.byteLength(files[candidate]) <= MAX_HANDLER_MODULE_BYTES,
    );
    const location: HandlerLocation | undefined =
      file === undefined ? undefined : { file, name: handler.slice(handler.lastIndexOf('.') + 1) };
    const checked: PythonCheck =
      runtime === 'python3.12'
        ? await this.checkPython(project, pick(files, /\.py$/), location)
        : await this.checkJavaScript(project, files, location);
    const { output, checkedWith } = checked;
    const problems = checked.problems.length
      ? checked.problems
      : signatureProblems(runtime, handler, location, checked.handler);
    if (problems.length === 0) return undefined;
    const errors: FieldError[] = problems.map((p) => ({
      path: field === 'files' ? `spec.files.${p.file}` : 'spec.code',
      message: `${p.message} (${p.file}${p.line ? ` line ${p.line}` : ''})${p.excerpt ? `\n${p.excerpt}` : ''}`,
      ...(p.line ? { line: p.line } : {}),
    }));
    const problem = new Problem(
      400,
      'Invalid source code',
      errors.map((e) => `${e.path}: ${e.message}`).join('\n') +
        (output ? `\nCompiler output:\n${output}` : '') +
        (checkedWith ? `\nChecked with ${checkedWith}, the grammar of runtime ${runtime}.` : ''),
      errors,
    );
    return { problem, timedOut: problems.some((p) => p.message.startsWith(TIME_LIMIT_MESSAGE)) };
  }

  private async checkPython(
    project: string,
    files: Record<string, string>,
    handler: HandlerLocation | undefined,
  ): Promise<PythonCheck> {
    if (Object.keys(files).length === 0) return { problems: [], output: '', checkedWith: '' };
    return this.python.check(project, files, handler);
  }

  private async checkJavaScript(
    project: string,
    files: Readonly<Record<string, string>>,
    handler: HandlerLocation | undefined,
  ): Promise<PythonCheck> {
    const problems = await this.javascript.check(project, files);
    const kind = handler && moduleKind(handler.file, files);
    const parameters =
      problems.length === 0 && handler && typeof kind === 'string'
        ? javascriptHandlerParameters(files[handler.file], kind, handler.name)
        : undefined;
    return { problems, output: '', checkedWith: '', handler: parameters };
  }
}

/** The handler's signature as a problem of its module, when the runtime cannot call it. */
function signatureProblems(
  runtime: keyof typeof DEFAULT_HANDLERS,
  handler: string,
  location: HandlerLocation | undefined,
  parameters: HandlerParameters | undefined,
): SyntaxProblem[] {
  const message = parameters && checkHandlerParameters(runtime, handler, parameters);
  if (!location || !parameters || !message) return [];
  return [{ file: location.file, line: parameters.line, message }];
}

function pick(files: Readonly<Record<string, string>>, pattern: RegExp): Record<string, string> {
  return Object.fromEntries(Object.entries(files).filter(([path]) => pattern.test(path)));
}
