import { Writable } from 'node:stream';

/** The end of a text cut to a size in bytes. */
export interface LogTail {
  readonly text: string;
  /** Whether bytes were dropped from the start. */
  readonly truncated: boolean;
  /** How many bytes of the original were dropped from the start (0 when none). */
  readonly droppedBytes: number;
}

/** The kept end of a text with no marker, and how many bytes were dropped before it. */
export interface UnmarkedTail {
  readonly text: string;
  readonly droppedBytes: number;
}

/** What a cut log starts with: the failure is usually at the end, so the end is kept. */
export function truncationMarker(droppedBytes: number): string {
  return `[hks: log truncated at the size limit; the first ${droppedBytes} bytes are not kept]\n`;
}

/**
 * The last `limitBytes` bytes of `text` (UTF-8), never starting inside a character, after a
 * {@link truncationMarker} when anything was cut. The marker is not counted in the limit.
 *
 * @param droppedBefore bytes already dropped from the start of what `text` is the end of (e.g.
 *   the parts of a joined log that were cut when each was read); counted in the marker, which
 *   is written when they or this cut dropped anything. @default 0
 */
export function keepEnd(text: string, limitBytes: number, droppedBefore = 0): LogTail {
  const bytes = Buffer.from(text, 'utf8');
  const start = cutStart(bytes, limitBytes);
  const droppedBytes = droppedBefore + start;
  if (droppedBytes === 0) return { text, truncated: false, droppedBytes: 0 };
  return {
    text: truncationMarker(droppedBytes) + bytes.subarray(start).toString('utf8'),
    truncated: true,
    droppedBytes,
  };
}

/** Where the kept end of `bytes` starts: at most `limitBytes` left, never inside a character. */
function cutStart(bytes: Buffer, limitBytes: number): number {
  if (bytes.length <= limitBytes) return 0;
  let start = bytes.length - limitBytes;
  // UTF-8 continuation bytes are 10xxxxxx: step past them to the next character's first byte.
  while (start < bytes.length && (bytes[start] & 0xc0) === 0x80) start++;
  return start;
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
    const { text, droppedBytes } = this.unmarkedTail();
    if (droppedBytes === 0) return { text, truncated: false, droppedBytes: 0 };
    return { text: truncationMarker(droppedBytes) + text, truncated: true, droppedBytes };
  }

  /** What was written, cut to the limit, without a marker: for a caller that joins parts. */
  public unmarkedTail(): UnmarkedTail {
    const bytes = Buffer.concat(this.chunks);
    const start = cutStart(bytes, this.limitBytes);
    return {
      text: bytes.subarray(start).toString('utf8'),
      droppedBytes: this.total - bytes.length + start,
    };
  }
}
