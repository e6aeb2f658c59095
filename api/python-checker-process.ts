import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { HandlerParameters } from '../constructs';

/** One syntax error in a source file. */
export interface SyntaxProblem {
  readonly file: string;
  readonly line?: number;
  readonly message: string;
  /** The offending line (a window of it around the column) with a caret under the column. */
  readonly excerpt?: string;
}

/** What a checker process may use for one check. */
export interface CheckerLimits {
  /** Address space of a checker process (`RLIMIT_AS`), in bytes; 0 for none. */
  readonly memoryBytes: number;
  /** What one check may print (warnings), in UTF-8 bytes; the rest is dropped. */
  readonly outputBytes: number;
  /** How long a checker process may take to start, in milliseconds. */
  readonly startupMs: number;
}

/** The result of compiling one file. */
export type FileCheck =
  | {
      readonly outcome: 'checked';
      readonly problem?: SyntaxProblem;
      /** The handler's parameters, when asked for and the file's top level settles them. */
      readonly handler?: HandlerParameters;
      /** What compiling this file printed (warnings), at most `outputBytes` of it. */
      readonly output: string;
      readonly truncated: boolean;
    }
  /** The time limit passed; the process was killed. */
  | { readonly outcome: 'timeout' }
  /** The process ended without answering; `output` is what it printed for this file. */
  | { readonly outcome: 'crashed'; readonly reason: string; readonly output: string };

// Compiles files without running them (the `python -m py_compile` check). Started with the
// memory limit and the output limit as arguments, it answers {"ready": sys.executable,
// "version": "3.12.1"}, then
// one JSON answer per JSON request line ({path, source, handler?}). With handler (a function
// name), a file that compiles is also parsed for that function's parameters (the ast: nothing
// runs); they are answered when the module's top level settles them, else null. What compiling prints (warnings and
// anything on stderr) is captured per request and cut at the output limit; warnings are
// formatted without reading the named file from disk (linecache would read the API's files).
// After a MemoryError it answers and exits: a fresh process serves the next request.
const PYTHON_CHECKER = `
import ast, json, sys, warnings
memory_limit, output_limit = int(sys.argv[1]), int(sys.argv[2])
try:
    import resource
    if memory_limit > 0:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory_limit if hard == resource.RLIM_INFINITY else min(memory_limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
except (ImportError, ValueError, OSError):
    pass  # no RLIMIT_AS on this platform: the time limit still applies

class Output:
    def __init__(self):
        self.kept = bytearray()
        self.truncated = False
    def write(self, text):
        data = text.encode("utf-8", "replace")
        room = output_limit - len(self.kept)
        self.kept += data[:max(room, 0)]
        if len(data) > room and not self.truncated:
            self.truncated = True
            warnings.simplefilter("ignore")  # nothing more is kept: skip formatting the rest
        return len(text)
    def flush(self):
        pass

def excerpt(e):
    text = (e.text or "").rstrip("\\n")
    if not text:
        return None
    column = max(e.offset or 1, 1) - 1
    start, end = max(column - 80, 0), column + 80
    shown = ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")
    return shown + "\\n" + " " * (column - start + (3 if start else 0)) + "^"

def compile_file(path, source):
    try:
        compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as e:
        return {"file": path, "line": e.lineno, "message": "%s: %s" % (type(e).__name__, str(e.msg)[:500]), "excerpt": excerpt(e)}
    except ValueError as e:
        return {"file": path, "message": "ValueError: %s" % str(e)[:500]}
    except RecursionError:
        return {"file": path, "message": "RecursionError: nesting too deep: the compiler's recursion limit was reached; expected code nested less deeply"}
    except MemoryError as e:
        if "too complex" not in str(e):
            raise
        # The parser's own stack (deep unary operators, conditionals, lambdas): no memory is short.
        return {"file": path, "message": "MemoryError: nesting too deep: the parser's stack overflowed; expected code nested less deeply"}
    return None

def binds(node, name):
    """Whether anything in node may bind name at the module's top level (or anywhere, to be safe)."""
    for n in ast.walk(node):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and n.name == name:
            return True
        if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load):
            return True
        if isinstance(n, ast.alias) and (n.name == "*" or (n.asname or n.name.split(".")[0]) == name):
            return True
        if isinstance(n, ast.Global) and name in n.names:
            return True
    return False

def parameters_of(node):
    a = node.args
    positional = a.posonlyargs + a.args
    return {"line": node.lineno, "text": ast.unparse(a)[:200], "positional": len(positional),
            "required": len(positional) - len(a.defaults), "rest": a.vararg is not None,
            "requiredKeywordOnly": [k.arg for k, d in zip(a.kwonlyargs, a.kw_defaults) if d is None]}

def handler_parameters(source, name):
    """The parameters of the top-level function name: its last binding, when that is a def
    without decorators or a lambda assigned to it. None when something else binds it last
    (a decorator, an import, a class, a call, a binding inside if/try/for/with) or nothing does."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    found = None
    for statement in tree.body:
        value = getattr(statement, "value", None)
        targets = statement.targets if isinstance(statement, ast.Assign) else [getattr(statement, "target", None)]
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == name:
            found = None if statement.decorator_list or binds(ast.Module(body=statement.body, type_ignores=[]), name) else statement
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)) and isinstance(value, ast.Lambda) and all(isinstance(t, ast.Name) for t in targets) and any(t.id == name for t in targets):
            found = value
        elif binds(statement, name):
            found = None
    return parameters_of(found) if found is not None else None

sys.stdout.write(json.dumps({"ready": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3]}) + "\\n")
sys.stdout.flush()
for line in sys.stdin:
    request = json.loads(line)
    output, fatal, handler = Output(), False, None
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: output.write("%s:%s: %s: %s\\n" % (filename, lineno, category.__name__, message))
        sys.stderr = output
        try:
            problem = compile_file(request["path"], request["source"])
            if problem is None and request.get("handler"):
                handler = handler_parameters(request["source"], request["handler"])
        except MemoryError:
            fatal = True
            problem = {"file": request["path"], "message": "MemoryError: compiling it ran out of memory (the limit is %d MiB per check)" % (memory_limit >> 20)}
        finally:
            sys.stderr = sys.__stderr__
    request = None
    sys.stdout.write(json.dumps({"problem": problem, "handler": handler, "output": output.kept.decode("utf-8", "ignore"), "truncated": output.truncated, "fatal": fatal}) + "\\n")
    sys.stdout.flush()
    if fatal:
        sys.exit(0)
`;

/** Text kept up to a number of UTF-8 bytes. */
export class BoundedText {
  private kept = '';
  private bytes = 0;
  private cut = false;

  constructor(private readonly limit: number) {}

  public append(text: string, truncated = false): void {
    this.cut ||= truncated;
    const size = Buffer.byteLength(text);
    if (this.bytes + size <= this.limit) {
      this.kept += text;
      this.bytes += size;
      return;
    }
    const room = this.limit - this.bytes;
    if (room > 0) this.kept += Buffer.from(text).subarray(0, room).toString('utf8');
    this.bytes = this.limit;
    this.cut = true;
  }

  public get text(): string {
    return this.kept;
  }

  public get truncated(): boolean {
    return this.cut;
  }
}

/** The interpreter a checker process runs. */
export interface Interpreter {
  /** Its own path (`sys.executable`); empty when Python does not know it. */
  readonly executable: string;
  /** `major.minor.micro`, e.g. `3.12.1`. */
  readonly version: string;
}

interface Answer {
  readonly ready?: string;
  readonly version?: string;
  readonly problem?: SyntaxProblem | null;
  readonly handler?: HandlerParameters | null;
  readonly output?: string;
  readonly truncated?: boolean;
  /** It exits after this answer. */
  readonly fatal?: boolean;
}

/**
 * One Python process that compiles one file at a time. Its stderr and its answers belong to
 * the file being checked: nothing of one request reaches another's result.
 */
export class PythonCheckerProcess {
  /** The interpreter once it runs: its path starts the next process without a version manager's shim. */
  public readonly ready: Promise<Interpreter>;
  private readonly child: ChildProcessWithoutNullStreams;
  private current?: { readonly finish: (check: FileCheck) => void; readonly stderr: BoundedText };
  private startupStderr: BoundedText;
  private ended?: string;
  private onReady?: {
    resolve: (interpreter: Interpreter) => void;
    reject: (error: Error) => void;
  };

  constructor(
    python: string,
    private readonly limits: CheckerLimits,
  ) {
    this.startupStderr = new BoundedText(limits.outputBytes);
    this.ready = new Promise((resolve, reject) => (this.onReady = { resolve, reject }));
    this.ready.catch(() => undefined); // the pool awaits it; an unawaited rejection is no crash
    const startup = setTimeout(
      () => this.end(`it did not start within ${limits.startupMs} ms`),
      limits.startupMs,
    );
    void this.ready.finally(() => clearTimeout(startup)).catch(() => undefined);
    const child = spawn(
      python,
      [
        '-I',
        '-S',
        '-u',
        '-c',
        PYTHON_CHECKER,
        String(limits.memoryBytes),
        String(limits.outputBytes),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stderr
      .setEncoding('utf8')
      .on('data', (chunk: string) => (this.current?.stderr ?? this.startupStderr).append(chunk));
    createInterface({ input: child.stdout }).on('line', (line) => this.answer(line));
    child.on('error', (error) => this.end(error.message));
    child.on('exit', (code, signal) =>
      this.end(signal ? `it was killed by ${signal}` : `it exited with code ${code}`),
    );
    child.stdin.on('error', () => undefined); // reported through 'exit'
    // A checker must not keep the API alive at shutdown; a check in flight holds its timer.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr])
      (stream as unknown as { unref?: () => void }).unref?.();
  }

  /** Whether it can take another file. */
  public get alive(): boolean {
    return this.ended === undefined;
  }

  /**
   * Compiles one file; kills the process when `timeoutMs` passes first.
   * @param handler a function whose parameters to read from the file, once it compiles
   */
  public check(
    path: string,
    source: string,
    timeoutMs: number,
    handler?: string,
  ): Promise<FileCheck> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        finish({ outcome: 'timeout' });
        this.stop();
      }, timeoutMs);
      const finish = (check: FileCheck) => {
        clearTimeout(timer);
        this.current = undefined;
        resolve(check);
      };
      this.current = { finish, stderr: new BoundedText(this.limits.outputBytes) };
      if (!this.alive) return this.end(this.ended ?? 'it ended');
      this.child.stdin.write(`${JSON.stringify({ path, source, handler })}\n`);
    });
  }

  /** Kills the process. */
  public stop(): void {
    this.ended ??= 'it was stopped';
    this.child.kill('SIGKILL');
  }

  private answer(line: string): void {
    let answer: Answer;
    try {
      answer = JSON.parse(line) as Answer;
    } catch {
      return this.end(`it answered ${JSON.stringify(line.slice(0, 200))}, expected JSON`);
    }
    if (answer.ready !== undefined)
      return this.onReady?.resolve({ executable: answer.ready, version: answer.version ?? '' });
    if (answer.fatal) this.ended ??= 'it ran out of memory';
    this.current?.finish({
      outcome: 'checked',
      problem: answer.problem ?? undefined,
      handler: answer.handler ?? undefined,
      output: answer.output ?? '',
      truncated: answer.truncated === true,
    });
  }

  private end(reason: string): void {
    this.ended ??= reason;
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    const output = this.startupStderr.text.trim();
    this.onReady?.reject(new Error(output ? `${reason}: ${output}` : reason));
    const current = this.current;
    current?.finish({ outcome: 'crashed', reason, output: current.stderr.text });
  }
}
