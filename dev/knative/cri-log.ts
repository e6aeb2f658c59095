import { closeSync, openSync, writeSync } from 'node:fs';

/** The stream a log line came from, as the CRI log format names it. */
export type LogStream = 'stdout' | 'stderr';

/** A timestamp in RFC 3339 with nanoseconds, as kubelet writes it. */
export function criTimestamp(date: Date = new Date()): string {
  return date.toISOString().replace(/Z$/, '000000Z');
}

/**
 * Writes a process's output to a file in the CRI log format kubelet uses
 * (`<RFC3339Nano> <stream> F <line>`), which kwok serves as the pod's log, and keeps the last
 * lines in memory for error messages. Partial lines wait for their newline (or {@link close}).
 */
export class CriLogFile {
  private readonly fd: number;
  private readonly pending: Record<LogStream, string> = { stdout: '', stderr: '' };
  private readonly recent: string[] = [];
  private closed = false;

  /**
   * @param path the log file, created (mode 0600) or appended to
   * @param keepLines how many of the last lines {@link tail} returns
   */
  constructor(
    public readonly path: string,
    private readonly keepLines = 20,
  ) {
    // Only the stand-in (and kwok, reading it for the pod log) reads it: not the functions.
    this.fd = openSync(path, 'a', 0o600);
  }

  /** Appends a chunk of a stream's output. */
  public write(stream: LogStream, chunk: Buffer | string): void {
    if (this.closed) return;
    const text = this.pending[stream] + chunk.toString();
    const lines = text.split('\n');
    this.pending[stream] = lines.pop() ?? '';
    for (const line of lines) this.line(stream, line);
  }

  /** The last lines written (both streams, in order), joined by newlines. */
  public tail(): string {
    return this.recent.join('\n');
  }

  /** Writes what is left of partial lines and closes the file. */
  public close(): void {
    if (this.closed) return;
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.pending[stream] !== '') this.line(stream, this.pending[stream]);
      this.pending[stream] = '';
    }
    this.closed = true;
    closeSync(this.fd);
  }

  private line(stream: LogStream, line: string): void {
    const text = line.replace(/\r$/, '');
    writeSync(this.fd, `${criTimestamp()} ${stream} F ${text}\n`);
    this.recent.push(text);
    if (this.recent.length > this.keepLines) this.recent.shift();
  }
}
