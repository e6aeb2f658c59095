import { spawn } from 'node:child_process';
import { posix } from 'node:path';
import { compileFunction } from 'node:vm';
import { FairSlots } from './fair-slots';
import { Problem } from './problem';
import { SyntaxProblem } from './python-checker-process';

/** How Node loads a file: as an ES module or as CommonJS. */
export type ModuleKind = 'module' | 'commonjs';

/** Limits of the ES module checks, which run in a `node --check` process each. */
export interface JavaScriptCheckOptions {
  /** Time one file's check may take, in milliseconds. @default 5000 */
  readonly timeoutMs?: number;
  /** Checks at once; one project uses at most all but one of them. @default 2 */
  readonly workers?: number;
}

const NESTING = 'nesting too deep: the parser ran out of stack; expected code nested less deeply';
const ESM_HINT =
  '; the file is loaded as CommonJS: for an ES module name it .mjs or add a package.json with {"type": "module"}';
const COMMONJS_PARAMETERS = ['exports', 'require', 'module', '__filename', '__dirname'];
/** What a `node --check` may print before it is cut off: the source line, twice at most. */
const STDERR_BYTES = 4 * 1024 * 1024;

/**
 * How Node loads `file` among `files` (paths relative to the function's folder): `.mjs` and
 * `.cjs` by their extension, `.js` by the `"type"` of the nearest `package.json` among the files
 * (CommonJS without one, as the bootstrap's folder has none).
 */
export function moduleKind(
  file: string,
  files: Readonly<Record<string, string>>,
): ModuleKind | SyntaxProblem {
  if (file.endsWith('.mjs')) return 'module';
  if (file.endsWith('.cjs')) return 'commonjs';
  for (let folder = posix.dirname(file); ; folder = posix.dirname(folder)) {
    const manifest = folder === '.' ? 'package.json' : `${folder}/package.json`;
    const text = files[manifest];
    if (text !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        return {
          file: manifest,
          message: `not JSON (${(error as Error).message}); Node reads it to load ${file}, expected a package.json object`,
        };
      }
      const type = (parsed as { type?: unknown } | null)?.type;
      return type === 'module' ? 'module' : 'commonjs';
    }
    if (folder === '.' || folder === '/') return 'commonjs';
  }
}

/**
 * Syntax checks of JavaScript by V8, as Node will load each file: CommonJS module bodies are
 * compiled in this process (parsing runs no code); ES modules by `node --check` in a process of
 * their own, with a time limit, since this Node parses them only behind a flag.
 */
export class JavaScriptChecker {
  private readonly slots: FairSlots;
  private readonly timeoutMs: number;

  constructor(options: JavaScriptCheckOptions = {}) {
    const workers = options.workers ?? 2;
    this.slots = new FairSlots(workers, Math.max(workers - 1, 1));
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /**
   * The syntax errors of the `.js`, `.cjs` and `.mjs` files among `files`, for `tenant`.
   * @throws Problem 503 when a module check ends without a verdict
   */
  public async check(
    tenant: string,
    files: Readonly<Record<string, string>>,
  ): Promise<SyntaxProblem[]> {
    const problems: SyntaxProblem[] = [];
    for (const [file, source] of Object.entries(files)) {
      if (!/\.(c?js|mjs)$/.test(file)) continue;
      const kind = moduleKind(file, files);
      const problem =
        kind === 'commonjs'
          ? checkCommonJs(file, source)
          : kind === 'module'
            ? await this.slots.run(tenant, () => this.checkModule(file, source))
            : kind;
      if (problem) problems.push(problem);
    }
    return problems;
  }

  private checkModule(file: string, source: string): Promise<SyntaxProblem | undefined> {
    return new Promise((resolve, reject) => {
      // A clean environment: no NODE_OPTIONS (a loader such as tsx) reaches the check.
      const child = spawn(process.execPath, ['--input-type=module', '--check'], {
        env: {},
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      let stderr = '';
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, this.timeoutMs);
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        if (stderr.length > STDERR_BYTES) child.kill('SIGKILL');
      });
      child.stdin.on('error', () => undefined); // reported by its exit
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(unavailable(file, error.message));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (timedOut) {
          return resolve({
            file,
            message: `the check took longer than the limit of ${this.timeoutMs / 1000} s; expected source that parses within it`,
          });
        }
        if (code === 0) return resolve(undefined);
        const problem = moduleProblem(file, stderr);
        if (problem) resolve(problem);
        else reject(unavailable(file, signal ? `killed by ${signal}` : `exit code ${code}`));
      });
      child.stdin.end(source);
    });
  }
}

function unavailable(file: string, reason: string): Problem {
  return new Problem(
    503,
    'Source check unavailable',
    `Could not check ${file}: node --check ended without a verdict (${reason})`,
  );
}

/** Compiles a file as the CommonJS module body the bootstrap loads, without running it. */
function checkCommonJs(file: string, source: string): SyntaxProblem | undefined {
  try {
    compileFunction(source, COMMONJS_PARAMETERS, { filename: file });
    return undefined;
  } catch (error) {
    if (isError(error, 'RangeError')) return { file, message: `RangeError: ${NESTING}` };
    if (!isError(error, 'SyntaxError')) throw error;
    // V8 puts "file:line", the line and a caret above the message in the stack.
    const [location, text, caret] = (error.stack ?? '').split('\n');
    const esm = /'(import|export)'|import statement|import\.meta|await is only valid/.test(
      error.message,
    );
    return {
      file,
      line: Number(/:(\d+)$/.exec(location ?? '')?.[1]) || undefined,
      message: `SyntaxError: ${error.message}${esm ? ESM_HINT : ''}`,
      excerpt: excerptOf(text, caret),
    };
  }
}

/** The problem `node --check` printed: "[stdin]:line", the line, a caret, then the error. */
function moduleProblem(file: string, stderr: string): SyntaxProblem | undefined {
  const lines = stderr.split('\n');
  const error = lines.find((l) => /^(SyntaxError|RangeError): /.test(l));
  if (error === undefined) return undefined;
  if (error.startsWith('RangeError: Maximum call stack'))
    return { file, message: `RangeError: ${NESTING}` };
  if (error.startsWith('RangeError')) return undefined;
  const line = Number(/^\[stdin\]:(\d+)$/.exec(lines[0] ?? '')?.[1]) || undefined;
  return {
    file,
    line,
    message: error.slice(0, 500),
    excerpt: line ? excerptOf(lines[1], lines[2]) : undefined,
  };
}

/** The source line around the caret (80 characters either side) with the caret under it. */
function excerptOf(text: string | undefined, caret: string | undefined): string | undefined {
  if (!text || caret === undefined || !/^\s*\^+\s*$/.test(caret)) return undefined;
  const column = caret.indexOf('^');
  const start = Math.max(column - 80, 0);
  const end = column + 80;
  const shown = `${start ? '...' : ''}${text.slice(start, end)}${end < text.length ? '...' : ''}`;
  const marks = caret.trim().slice(0, 80);
  return `${shown}\n${' '.repeat(column - start + (start ? 3 : 0))}${marks}`;
}

/** By name: V8's errors come from the main realm, which a test sandbox's classes are not. */
function isError(error: unknown, name: string): error is Error {
  return typeof error === 'object' && error !== null && (error as Error).name === name;
}
