/**
 * The API's logger: pino, one JSON line per event (or a readable line with `pretty`), with
 * child loggers per component and per request.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** The values of `HKS_LOG_LEVEL`, most verbose first; `silent` logs nothing. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The values of `HKS_LOG_FORMAT`. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** How {@link createLogger} logs. */
export interface LoggerOptions {
  /** The least severe level written. @default "info" */
  readonly level?: LogLevel;
  /** `json`: one JSON object a line; `pretty`: a line for people reading a terminal. @default "json" */
  readonly format?: LogFormat;
  /** Where the lines go. @default - standard output, written synchronously */
  readonly destination?: DestinationStream;
}

/** Receives a component's log lines: a message and plain fields (`err`: an Error). */
export type LogLine = (message: string, fields?: Readonly<Record<string, unknown>>) => void;

/**
 * The root logger. Lines carry `level` as its name (`"info"`), `time` as ISO 8601 and `msg`;
 * an `err` field is serialized with its type, message, stack and cause.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? 'json';
  // Synchronous: a process that exits right after a line (a failed start) still writes it.
  const out = options.destination ?? pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level: options.level ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.errWithCause },
    },
    format === 'pretty' ? prettyStream(out) : out,
  );
}

/**
 * The `(message, fields)` function the components take, writing to `logger`: at `warn` when
 * the fields name a failure (`error` or `err`), else at `info`.
 */
export function lineLogger(logger: Logger): LogLine {
  return (message, fields = {}) => {
    if ('error' in fields || 'err' in fields) logger.warn(fields, message);
    else logger.info(fields, message);
  };
}

const FIXED_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'component', 'err']);

/** Turns pino's JSON lines into `time LEVEL [component] msg key=value…`, stacks indented. */
function prettyStream(out: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      const fields = Object.entries(entry)
        .filter(([key]) => !FIXED_KEYS.has(key))
        .map(
          ([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`,
        );
      const component = typeof entry.component === 'string' ? ` [${entry.component}]` : '';
      const err = entry.err as { stack?: string } | undefined;
      const stack = err?.stack ? `\n    ${err.stack.split('\n').join('\n    ')}` : '';
      out.write(
        `${String(entry.time)} ${String(entry.level).toUpperCase().padEnd(5)}${component} ${String(entry.msg)}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}${stack}\n`,
      );
    },
  };
}

let processLogger: Logger | undefined;

/**
 * Makes `logger` the one {@link processLog} hands out: `api/main.ts` sets it from the
 * configuration at start.
 */
export function useProcessLogger(logger: Logger): void {
  processLogger = logger;
}

/**
 * A component's child of the process's logger, for code that is handed no logger (the error
 * handler, a roll-back deep in a route); until {@link useProcessLogger}, a default JSON logger.
 */
export function processLog(component: string): Logger {
  processLogger ??= createLogger();
  return processLogger.child({ component });
}
