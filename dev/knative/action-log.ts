/** Fields of one logged action. */
export type ActionFields = Readonly<Record<string, string | number | boolean | undefined>>;

/** Receives one line per action the stand-in takes (revision created, process ready, ...). */
export type ActionLog = (action: string, fields: ActionFields) => void;

/** Output format of {@link consoleActionLog}. */
export type ActionLogFormat = 'json' | 'plain';

/**
 * An {@link ActionLog} writing one line per action to a stream: a JSON object
 * (`{"time", "action", ...fields}`) or a plain `time action key=value ...` line.
 *
 * @param format `json` or `plain`
 * @param write where lines go
 * @default write - process.stdout
 */
export function consoleActionLog(
  format: ActionLogFormat,
  write: (line: string) => void = (line) => process.stdout.write(line),
): ActionLog {
  return (action, fields) => {
    const time = new Date().toISOString();
    const defined = Object.entries(fields).filter(([, v]) => v !== undefined);
    if (format === 'json') {
      write(`${JSON.stringify({ time, action, ...Object.fromEntries(defined) })}\n`);
      return;
    }
    const pairs = defined.map(([k, v]) =>
      typeof v === 'string' && /[\s"=]/.test(v) ? `${k}=${JSON.stringify(v)}` : `${k}=${v}`,
    );
    write(`${time} ${action}${pairs.length > 0 ? ` ${pairs.join(' ')}` : ''}\n`);
  };
}

/** An {@link ActionLog} that drops everything. */
export const silentActionLog: ActionLog = () => undefined;
