import type { SourceRuntimeName } from '../constructs';
import { RunningRuntime, startRuntime } from './support/runtime-process';

/**
 * The bootstraps' streamed answer (`X-Hks-Stream: ndjson`), run as the real processes they are
 * in the container on test/fixtures/functions/<language>/streaming: output lines as the handler
 * writes them, then the answer the same request gets without the header.
 */
jest.setTimeout(30_000);

interface Line {
  readonly record: Record<string, unknown>;
  /** `performance.now()` when the line arrived. */
  readonly at: number;
}

/** POSTs and reads the NDJSON answer line by line, noting when each line arrived. */
async function streamed(runtime: RunningRuntime, event: unknown, headers = {}) {
  const response = await fetch(`${runtime.url}/`, {
    method: 'POST',
    body: JSON.stringify(event),
    headers: { 'content-type': 'application/json', 'x-hks-stream': 'ndjson', ...headers },
  });
  const lines: Line[] = [];
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const part of parts)
      lines.push({ record: JSON.parse(part) as Record<string, unknown>, at: performance.now() });
  }
  expect(pending).toBe('');
  return { status: response.status, headers: response.headers, lines };
}

/** The answer without the header, as the result line carries it. */
async function plain(runtime: RunningRuntime, event: unknown, headers = {}) {
  const response = await fetch(`${runtime.url}/`, {
    method: 'POST',
    body: JSON.stringify(event),
    headers: { 'content-type': 'application/json', ...headers },
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    streams: response.headers.get('x-hks-log-streams'),
    body: Buffer.from(await response.arrayBuffer()).toString('utf8'),
  };
}

const outputs = (lines: Line[]) =>
  lines.filter((l) => l.record.type === 'output').map((l) => l.record);
const joined = (lines: Line[], stream: string) =>
  outputs(lines)
    .filter((o) => o.stream === stream)
    .map((o) => o.text)
    .join('');
const resultOf = (lines: Line[]) => {
  expect(lines.at(-1)?.record.type).toBe('result');
  expect(lines.filter((l) => l.record.type === 'result')).toHaveLength(1);
  const record = lines.at(-1)!.record as {
    status: number;
    headers: Record<string, string>;
    body: string;
  };
  const header = (name: string) =>
    Object.entries(record.headers).find(([k]) => k.toLowerCase() === name)?.[1];
  return {
    status: record.status,
    contentType: header('content-type'),
    streams: header('x-hks-log-streams') ?? null,
    body: Buffer.from(record.body, 'base64').toString('utf8'),
  };
};

const HANDLERS: Record<SourceRuntimeName, { sync: string; async: string }> = {
  'python3.12': { sync: 'paced', async: 'paced_async' },
  nodejs20: { sync: 'pacedSync', async: 'paced' },
};

describe.each(['python3.12', 'nodejs20'] as const)('%s bootstrap, streamed', (name) => {
  const running: RunningRuntime[] = [];
  const start = async (handler: string, env: Record<string, string> = {}) => {
    const runtime = await startRuntime(name, {
      HKS_HANDLER: `streaming.${handler}`,
      HKS_FUNCTION_NAME: 'fn',
      ...env,
    });
    running.push(runtime);
    return runtime;
  };
  afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => r.stop()));
  });

  test.each(['sync', 'async'] as const)(
    'a %s handler: each write arrives as it is made, stdout and stderr apart, then the answer',
    async (kind) => {
      const runtime = await start(HANDLERS[name][kind]);
      const { status, headers, lines } = await streamed(runtime, { pauseMs: 1500 });
      expect(status).toBe(200);
      expect(headers.get('content-type')).toBe('application/x-ndjson');
      expect(joined(lines, 'stdout')).toBe('first\nsecond\n');
      expect(joined(lines, 'stderr')).toBe('careful\n');
      // In the order written: first, careful, second.
      const order = outputs(lines)
        .map((o) => String(o.text).trim())
        .filter(Boolean);
      expect(order).toEqual(['first', 'careful', 'second']);
      const first = lines.find((l) => String(l.record.text).startsWith('first'))!;
      const result = lines.at(-1)!;
      console.log(
        `${name} ${kind}: "first" arrived ${Math.round(result.at - first.at)} ms before the answer`,
      );
      expect(result.at - first.at).toBeGreaterThanOrEqual(1000);
      const answer = await plain(runtime, { pauseMs: 0 }, { 'x-hks-log': 'tail' });
      const streamedAnswer = resultOf(
        (await streamed(runtime, { pauseMs: 0 }, { 'x-hks-log': 'tail' })).lines,
      );
      expect(streamedAnswer).toEqual(answer);
      expect(streamedAnswer.streams).toMatch(/^o\d+,e8,o\d+$/);
    },
  );

  test('an error is the same 500 in the result line, after the output', async () => {
    const runtime = await start('fails');
    const { lines } = await streamed(runtime, null);
    expect(joined(lines, 'stdout')).toBe('about to fail\n');
    const result = resultOf(lines);
    expect(result.status).toBe(500);
    expect(result).toEqual(await plain(runtime, null));
  });

  test('past the timeout the result line is the 504; the output came before it', async () => {
    const runtime = await start('forever', { HKS_TIMEOUT_SECONDS: '1' });
    const { lines } = await streamed(runtime, null);
    expect(joined(lines, 'stdout')).toBe('starting\n');
    expect(resultOf(lines).status).toBe(504);
    // The runtime serves on, and the abandoned handler's writes reach no later answer.
    const next = await streamed(runtime, null);
    expect(resultOf(next.lines).status).toBe(504);
  });

  test('a files envelope is answered inside the result line as without the header', async () => {
    const runtime = await start(HANDLERS[name].async);
    const envelope = { event: { pauseMs: 0 }, inputFiles: {}, outputLimits: {} };
    const headers = { 'x-hks-files': 'envelope' };
    const result = resultOf((await streamed(runtime, envelope, headers)).lines);
    const answer = await plain(runtime, envelope, headers);
    expect(result).toEqual(answer);
    expect(JSON.parse(result.body)).toMatchObject({ outputFiles: {}, omittedFiles: [] });
  });
});
