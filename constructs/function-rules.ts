/**
 * Rules of Function definitions shared by the schema, the YAML loader and the constructs.
 * Like the other field rules, each returns `undefined` or a sentence saying what was given
 * and what is expected.
 */
import { describeValue } from './field-rules';

/** The runtimes a Function can name. `image` runs a prebuilt image as it is. */
export const FUNCTION_RUNTIMES = ['python3.12', 'nodejs20', 'image'] as const;

/** A Function runtime. */
export type FunctionRuntimeName = (typeof FUNCTION_RUNTIMES)[number];

/** A runtime whose code comes as source, run by the platform's bootstrap on a stock image. */
export type SourceRuntimeName = Exclude<FunctionRuntimeName, 'image'>;

/**
 * Most bytes of source (all files together) a Function may have. The source and the
 * bootstrap travel in one ConfigMap, which Kubernetes refuses above 1 MiB (1048576 bytes);
 * this leaves room for the bootstrap, keys and metadata. Larger code needs `runtime: image`.
 */
export const MAX_FUNCTION_SOURCE_BYTES = 900 * 1024;

/** Longest request Knative Serving allows by default (`max-revision-timeout-seconds`). */
export const MAX_FUNCTION_TIMEOUT_SECONDS = 600;

/** The handler of a source runtime when none is given. */
export const DEFAULT_HANDLERS: Readonly<Record<SourceRuntimeName, string>> = {
  'python3.12': 'main.handler',
  nodejs20: 'index.handler',
};

/** Whether a runtime runs source code (as opposed to a prebuilt image). */
export function isSourceRuntime(runtime: FunctionRuntimeName): runtime is SourceRuntimeName {
  return runtime !== 'image';
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const JS_IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const PATH_SEGMENT = /^[-._a-zA-Z0-9]+$/;

/** A handler: `module.function` (python, module may be dotted) or `file.export` (node). */
export function checkHandler(runtime: SourceRuntimeName, handler: string): string | undefined {
  const dot = handler.lastIndexOf('.');
  const module = handler.slice(0, dot);
  const name = handler.slice(dot + 1);
  if (runtime === 'python3.12') {
    if (
      dot > 0 &&
      module.split('.').every((part) => IDENTIFIER.test(part)) &&
      IDENTIFIER.test(name)
    )
      return undefined;
    return `given ${describeValue(handler)}, expected module.function of Python identifiers, e.g. "main.handler" (module main.py, function handler)`;
  }
  if (dot > 0 && checkSourcePath(module) === undefined && JS_IDENTIFIER.test(name))
    return undefined;
  return `given ${describeValue(handler)}, expected file.export, e.g. "index.handler" (file index.js, exported function handler)`;
}

/** A file path inside a Function's source: relative, `/`-separated, no `..`. */
export function checkSourcePath(path: string): string | undefined {
  const segments = path.split('/');
  if (path.length <= 200 && segments.every((s) => PATH_SEGMENT.test(s) && s !== '.' && s !== '..'))
    return undefined;
  return `given ${describeValue(path)}, expected a relative path of at most 200 characters whose parts are letters, digits, '-', '_' and '.' (no "..", no leading "/")`;
}

/** The files that can hold a handler's module, first the one inline `code` is written to. */
export function handlerFiles(runtime: SourceRuntimeName, handler: string): string[] {
  const module = handler.slice(0, handler.lastIndexOf('.'));
  if (runtime === 'python3.12') {
    const base = module.split('.').join('/');
    return [`${base}.py`, `${base}/__init__.py`];
  }
  return [`${module}.js`, `${module}.cjs`, `${module}.mjs`, `${module}/index.js`];
}

/** Total size in bytes (UTF-8) of a set of source files. */
export function sourceBytes(files: Readonly<Record<string, string>>): number {
  let total = 0;
  for (const content of Object.values(files)) total += Buffer.byteLength(content, 'utf8');
  return total;
}

/** The size limit, as a problem, when the files exceed it. */
export function checkSourceSize(files: Readonly<Record<string, string>>): string | undefined {
  const bytes = sourceBytes(files);
  if (bytes <= MAX_FUNCTION_SOURCE_BYTES) return undefined;
  return `given ${Object.keys(files).length} file(s) of ${bytes} bytes in all, expected at most ${MAX_FUNCTION_SOURCE_BYTES} bytes (source travels in a ConfigMap, limited to 1 MiB); build an image and use runtime: image for larger code`;
}

/** The handler's module among the files, as a problem when it is missing. */
export function checkHandlerFile(
  runtime: SourceRuntimeName,
  handler: string,
  files: Readonly<Record<string, string>>,
): string | undefined {
  const candidates = handlerFiles(runtime, handler);
  if (candidates.some((file) => file in files)) return undefined;
  const names = Object.keys(files).sort();
  return `given files ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', ...' : ''}, expected the handler ${JSON.stringify(handler)}'s module among them: ${candidates.join(' or ')}`;
}

/** Variables the runtime or Knative set themselves. */
export function checkFunctionEnvName(name: string): string | undefined {
  if (name === 'PORT' || name.startsWith('K_') || name.startsWith('HKS_')) {
    return `given ${describeValue(name)}, expected a name other than PORT, K_* (set by Knative) and HKS_* (set by the function runtime)`;
  }
  return undefined;
}

/**
 * The handler signatures each source runtime accepts, as its bootstrap and the API's source
 * check state them. The bootstraps carry the same text (they depend on nothing).
 */
export const HANDLER_SIGNATURES: Readonly<Record<SourceRuntimeName, string>> = {
  'python3.12':
    'handler(event) or handler(event, context), def or async def (further positional parameters need defaults; *args and **kwargs are fine)',
  nodejs20:
    '(event) or (event, context), returning a value or a Promise (further parameters need defaults; callback-style (event, context, callback) is not supported)',
};

/** A handler's parameters as its source declares them (or its runtime reports them). */
export interface HandlerParameters {
  /** Line of the definition, from 1. */
  readonly line: number;
  /** The parameter list as written, e.g. `event, context, extra`. */
  readonly text: string;
  /** Positional parameters: python's before `*`, node's all but a rest parameter. */
  readonly positional: number;
  /**
   * Of these, the ones a caller must pass: python's without a default; node's up to the first
   * one with a default or the rest parameter (the function's `length`).
   */
  readonly required: number;
  /** A `*args` / `...rest` parameter. */
  readonly rest: boolean;
  /** Python's keyword-only parameters without a default, which no call passes. */
  readonly requiredKeywordOnly: readonly string[];
}

/**
 * Whether the runtime can call the handler as `handler(event)` or `handler(event, context)`.
 * Python: at least one positional parameter (or `*args`), at most two without a default, no
 * keyword-only one without a default. Node passes arguments by position and ignores extra ones,
 * so only a function needing three or more (the callback style) is refused.
 */
export function checkHandlerParameters(
  runtime: SourceRuntimeName,
  handler: string,
  parameters: HandlerParameters,
): string | undefined {
  const given = `handler ${JSON.stringify(handler)} is defined as (${parameters.text})`;
  const expected = `expected ${HANDLER_SIGNATURES[runtime]}`;
  if (runtime === 'nodejs20') {
    if (parameters.required <= 2) return undefined;
    return `${given}: ${parameters.required} parameters before any default, more than event and context; ${expected}`;
  }
  if (parameters.requiredKeywordOnly.length > 0)
    return `${given}: keyword-only ${parameters.requiredKeywordOnly.join(', ')} without a default, which no call passes; ${expected}`;
  if (parameters.positional === 0 && !parameters.rest)
    return `${given}: no positional parameter to take the event; ${expected}`;
  if (parameters.required > 2)
    return `${given}: ${parameters.required} positional parameters without a default, more than event and context; ${expected}`;
  return undefined;
}
