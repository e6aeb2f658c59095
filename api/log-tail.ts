import { Writable } from 'node:stream';

/** The end of a text cut to a size in bytes. */
export interface LogTail {
  readonly text: string;
  /** Whether bytes were dropped from the start. */
  readonly truncated: boolean;
}

/** What a cut log starts with: the failure is usually at the end, so the end is kept. */
export function truncationMarker(droppedBytes: number): string {
  return `[hks: log truncated at the size limit; the first ${droppedBytes} bytes are not kept]\n`;
}

/**
 * The last `limitBytes` bytes of `text` (UTF-8), never starting inside a character, after a
 * {@link truncationMarker} when anything was cut. The marker is not counted in the limit.
 */
export function keepEnd(text: string, limitBytes: number): LogTail {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= limitBytes) return { text, truncated: false };
  return { text: tailOf(bytes, limitBytes), truncated: true };
}

function tailOf(bytes: Buffer, limitBytes: number): string {
  let start = bytes.length - limitBytes;
  // UTF-8 continuation bytes are 10xxxxxx: step past them to the next character's first byte.
  while (start < bytes.length && (bytes[start] & 0xc0) === 0x80) start++;
  return truncationMarker(start) + bytes.subarray(start).toString('utf8');
}

/**
 * A sink that keeps only the last `limitBytes` bytes written to it, so a log of any length is
 * read with bounded memory.
 */
export class TailBuffer extends Writable {
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Bytes written in all. */
  public total = 0;

  constructor(private readonly limitBytes: number) {
    super();
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.chunks.push(buffer);
    this.kept += buffer.length;
    this.total += buffer.length;
    // Drop whole chunks from the front while the rest still covers the limit.
    while (this.chunks.length > 1 && this.kept - this.chunks[0].length >= this.limitBytes) {
      this.kept -= this.chunks[0].length;
      this.chunks.shift();
    }
    done();
  }

  /** What was written, cut to the limit like {@link keepEnd} (the marker counts all dropped bytes). */
  public tail(): LogTail {
    const bytes = Buffer.concat(this.chunks);
    const droppedBefore = this.total - bytes.length;
    if (this.total <= this.limitBytes) return { text: bytes.toString('utf8'), truncated: false };
    let start = bytes.length - this.limitBytes;
    while (start < bytes.length && (bytes[start] & 0xc0) === 0x80) start++;
    return {
      text: truncationMarker(droppedBefore + start) + bytes.subarray(start).toString('utf8'),
      truncated: true,
    };
  }
}
