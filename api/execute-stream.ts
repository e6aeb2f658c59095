import type { Readable } from 'node:stream';
import type { KnativeService } from './knative';
import type { Functions, Invocation, InvokeRequest } from './functions';
import { responseHeadersFromFunction } from './invoke-headers';
import { Problem } from './problem';

/** Request header asking a runtime for its streamed answer; the value is `ndjson`. */
export const STREAM_HEADER = 'x-hks-stream';

/** The phases an execution reports as it reaches them. */
export type ExecutePhase =
  /** Validated and applied; Knative is starting it. */
  | 'deploying'
  /** Ready; about to be invoked. */
  | 'ready'
  /** The runtime took the invocation: the code runs. */
  | 'running';

/** One write of the code, as it wrote it. */
export interface OutputChunk {
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
  /** Set on the last chunk passed on: the output reached its cap here. @default - not cut */
  readonly truncated?: true;
}

/** Milliseconds of the phases done so far (the `timings` of the result). */
export type TimingsSoFar = Readonly<Record<string, number | undefined>>;

/** What an execution tells while it runs (a streamed execute). */
export interface ExecuteProgress {
  phase(phase: ExecutePhase, timings: TimingsSoFar): void;
  output(chunk: OutputChunk): void;
}

/** A line of a runtime's streamed answer. */
type StreamRecord =
  | { readonly type: 'output'; readonly stream: 'stdout' | 'stderr'; readonly text: string }
  | {
      readonly type: 'result';
      readonly status: number;
      readonly headers: Readonly<Record<string, string | string[]>>;
      readonly body: string;
    };

/**
 * Invokes a function asking for its runtime's streamed answer (`X-Hks-Stream: ndjson`): each
 * output line goes to `progress` as it arrives, and the invocation returned is the one the
 * final record describes, in the shape {@link Functions.invoke} returns (so that it is read
 * exactly as a plain answer). An answer that is not streamed (the runtime refused the request
 * before running the code) is returned as it is.
 * @throws Problem as {@link Functions.invoke} does: 504 past the timeout, 502 when the function
 *   stops half way (its process ended) or its answer is over the response limit, 499 when the
 *   caller went
 */
export async function invokeStreamed(
  functions: Functions,
  project: string,
  name: string,
  request: InvokeRequest,
  service: KnativeService,
  progress: Pick<ExecuteProgress, 'output'> & { running(): void },
): Promise<Invocation> {
  const { ended, ...invocation } = await functions.invokeIncremental(
    project,
    name,
    { ...request, platformHeaders: { ...request.platformHeaders, [STREAM_HEADER]: 'ndjson' } },
    service,
  );
  const { status, headers, body } = invocation.response;
  try {
    if (headers[STREAM_HEADER] !== 'ndjson') {
      const whole = await readAll(body);
      ended({ responseBytes: whole.length });
      return { ...invocation, response: { status, headers, body: whole } };
    }
    progress.running();
    let result: Extract<StreamRecord, { type: 'result' }> | undefined;
    for await (const line of lines(body)) {
      const record = parseRecord(line);
      if (record.type === 'output') progress.output({ stream: record.stream, text: record.text });
      else result = record;
    }
    if (result === undefined) {
      throw new Problem(
        502,
        'Function stopped answering',
        'The function’s streamed answer ended without its result record (its process ended?)',
      );
    }
    const answer = {
      status: result.status,
      headers: responseHeadersFromFunction(result.headers),
      body: Buffer.from(result.body, 'base64'),
    };
    // Recorded as the answer the runtime would have given unstreamed: the last record's status,
    // headers (its log tail) and body, not the stream's 200 and its output lines.
    ended({
      responseBytes: answer.body.length,
      answer: { status: answer.status, headers: { ...headers, ...answer.headers } },
    });
    return { ...invocation, response: answer };
  } catch (error) {
    ended({ error });
    body.destroy();
    throw error;
  }
}

/**
 * Passes output on up to `limitBytes` of UTF-8 in all (the cap of the result's combined
 * output): the chunk that reaches it is cut at a character boundary and marked `truncated`,
 * later ones are dropped.
 */
export function cappedOutput(
  output: ExecuteProgress['output'],
  limitBytes: number,
): ExecuteProgress['output'] {
  let left = limitBytes;
  let cut = false;
  return (chunk) => {
    if (cut) return;
    const bytes = Buffer.from(chunk.text, 'utf8');
    if (bytes.length <= left) {
      left -= bytes.length;
      output(chunk);
      return;
    }
    let end = left;
    // Back off continuation bytes (10xxxxxx) so that no character is split.
    while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
    cut = true;
    output({ ...chunk, text: bytes.subarray(0, end).toString('utf8'), truncated: true });
  };
}

/** The lines of an NDJSON body as they arrive. */
async function* lines(body: Readable): AsyncGenerator<string> {
  let pending = '';
  const decoder = new TextDecoder();
  for await (const chunk of body as AsyncIterable<Buffer>) {
    pending += decoder.decode(chunk, { stream: true });
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const part of parts) if (part !== '') yield part;
  }
  pending += decoder.decode();
  if (pending !== '') yield pending;
}

/** One record of the streamed answer. @throws Problem 502 for a line that is not one */
function parseRecord(line: string): StreamRecord {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    record = undefined;
  }
  const r = record as Partial<Record<string, unknown>> | undefined;
  const isOutput =
    r?.type === 'output' &&
    (r.stream === 'stdout' || r.stream === 'stderr') &&
    typeof r.text === 'string';
  const isResult =
    r?.type === 'result' &&
    typeof r.status === 'number' &&
    typeof r.body === 'string' &&
    typeof r.headers === 'object' &&
    r.headers !== null;
  if (!isOutput && !isResult) {
    throw new Problem(
      502,
      'Function answer malformed',
      `The function’s streamed answer has the line ${JSON.stringify(line.slice(0, 100))}; expected {"type": "output" | "result", ...}`,
    );
  }
  return record as StreamRecord;
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
