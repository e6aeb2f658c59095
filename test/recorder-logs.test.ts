import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { attemptsOf, joinAttempts, lastExitCode } from '../api/job-attempts';
import {
  PARKED_TTL_ANNOTATION,
  RECORD_FINALIZER,
  holdPatch,
  releasePatch,
} from '../api/job-finalizer';
import { TailBuffer, keepEnd, truncationMarker } from '../api/log-tail';

describe('keepEnd: truncation keeps the end of a log', () => {
  test('a log within the limit is kept whole', () => {
    expect(keepEnd('short', 5)).toEqual({ text: 'short', truncated: false, droppedBytes: 0 });
  });

  test('the end is kept, after a marker counting the dropped bytes', () => {
    const { text, truncated } = keepEnd('start\nmiddle\nERROR at the end\n', 17);
    expect(truncated).toBe(true);
    expect(text).toBe(`${truncationMarker(13)}ERROR at the end\n`);
  });

  test.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])(
    'never splits a UTF-8 character (limit %i bytes over 2-, 3- and 4-byte characters)',
    (limit) => {
      const log = 'é日本🙂語ü'; // 2 + 3 + 3 + 4 + 3 + 2 bytes
      const { text } = keepEnd(log, limit);
      const kept = text.slice(text.indexOf('\n') + 1);
      expect(kept).not.toContain('\uFFFD');
      expect(log.endsWith(kept)).toBe(true);
      expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(limit);
      // At most one character's worth (3 continuation bytes) is given up to stay whole.
      expect(Buffer.byteLength(kept)).toBeGreaterThanOrEqual(limit - 3);
    },
  );

  test('a joined log counts what each part lost when read, and is marked once', async () => {
    // Two attempts read through TailBuffers of 64 bytes, then joined and cut to 64 again, as
    // the recorder does: the marker counts every byte of the original not kept.
    const first = `${'a'.repeat(200)}\n`;
    const second = `${'b'.repeat(100)}\nthe failure\n`;
    const tails = await Promise.all(
      [first, second].map(async (log) => {
        const sink = new TailBuffer(64);
        sink.write(log);
        await new Promise<void>((resolve) => sink.end(resolve));
        return sink.unmarkedTail();
      }),
    );
    const dropped = tails.reduce((sum, t) => sum + t.droppedBytes, 0);
    const joined = tails.map((t) => t.text).join('');
    const cut = keepEnd(joined, 64, dropped);
    const whole = first + second;
    expect(cut.text).toBe(`${truncationMarker(Buffer.byteLength(whole) - 64)}${whole.slice(-64)}`);
    expect(cut.droppedBytes).toBe(Buffer.byteLength(whole) - 64);
    expect(cut.text.match(/log truncated/g)).toHaveLength(1);
  });

  test('a part cut when read is marked even when the join fits the limit', () => {
    expect(keepEnd('end\n', 64, 10)).toEqual({
      text: `${truncationMarker(10)}end\n`,
      truncated: true,
      droppedBytes: 10,
    });
  });

  test('TailBuffer keeps the same end of a streamed log, chunk boundaries inside characters', async () => {
    const log = `${'line one 日本\n'.repeat(50)}the failure 🙂\n`;
    const bytes = Buffer.from(log);
    const sink = new TailBuffer(40);
    for (let i = 0; i < bytes.length; i += 7) sink.write(bytes.subarray(i, i + 7));
    await new Promise<void>((resolve) => sink.end(resolve));
    expect(sink.tail()).toEqual(keepEnd(log, 40));
  });
});

const pod = (name: string, created: string, status: Partial<NonNullable<V1Pod['status']>>) =>
  ({
    metadata: { name, creationTimestamp: new Date(created) },
    spec: { containers: [{ name: 'main', image: 'x' }] },
    status,
  }) as V1Pod;

const terminated = (exitCode: number) => ({ terminated: { exitCode } });

describe('per-attempt logs', () => {
  test('pods of backoffLimit retries are attempts, oldest first, each marked', () => {
    const pods = [
      pod('job-b', '2026-01-01T00:00:10Z', {
        containerStatuses: [
          {
            name: 'main',
            image: 'x',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: terminated(0),
          },
        ],
      }),
      pod('job-a', '2026-01-01T00:00:00Z', {
        containerStatuses: [
          {
            name: 'main',
            image: 'x',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: terminated(3),
          },
        ],
      }),
    ];
    const attempts = attemptsOf(pods);
    expect(attempts.map((a) => [a.pod, a.exitCode])).toEqual([
      ['job-a', 3],
      ['job-b', 0],
    ]);
    expect(lastExitCode(attempts)).toBe(0);
    expect(joinAttempts(attempts.map((a, i) => ({ ...a, text: `run ${i}` })))).toBe(
      '--- attempt 1 of 2: pod job-a, restart 0, exit code 3 ---\nrun 0\n' +
        '--- attempt 2 of 2: pod job-b, restart 0, exit code 0 ---\nrun 1\n',
    );
  });

  test('a restarted container (OnFailure) running again: the previous run and the current one', () => {
    const [previous, current] = attemptsOf([
      pod('job-a', '2026-01-01T00:00:00Z', {
        containerStatuses: [
          {
            name: 'main',
            image: 'x',
            imageID: '',
            ready: true,
            restartCount: 2,
            // The node keeps the previous run while the container runs again.
            lastState: { terminated: { exitCode: 1, containerID: 'containerd://1' } },
            state: { running: {} },
          },
        ],
      }),
    ]);
    expect(previous).toMatchObject({ previous: true, restart: 1, exitCode: 1, lostRestarts: 1 });
    expect(current).toMatchObject({ previous: false, restart: 2 });
    expect(current.exitCode).toBeUndefined();
    expect(
      joinAttempts([
        { ...previous, text: 'a' },
        { ...current, text: 'b\n' },
      ]),
    ).toContain(
      'restart 1, exit code 1 (the logs of 1 earlier restart are no longer kept by the node)',
    );
  });

  test('a single attempt has no header', () => {
    expect(
      joinAttempts([
        {
          pod: 'p',
          container: 'main',
          restart: 0,
          previous: false,
          hasLog: true,
          lostRestarts: 0,
          text: 'x',
        },
      ]),
    ).toBe('x');
  });
});

describe('the record finalizer patches', () => {
  const job = (fields: {
    finalizers?: string[];
    ttl?: number;
    annotations?: Record<string, string>;
    deleting?: boolean;
  }) =>
    ({
      metadata: {
        name: 'j',
        resourceVersion: '42',
        finalizers: fields.finalizers,
        annotations: fields.annotations,
        deletionTimestamp: fields.deleting ? new Date() : undefined,
      },
      spec: { template: {}, ttlSecondsAfterFinished: fields.ttl },
    }) as V1Job;

  test('hold adds the finalizer and parks the TTL, tested against the resourceVersion', () => {
    expect(holdPatch(job({ ttl: 0 }))).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '42' },
      { op: 'add', path: '/metadata/finalizers', value: [RECORD_FINALIZER] },
      { op: 'add', path: '/metadata/annotations', value: {} },
      {
        op: 'add',
        path: '/metadata/annotations/hks.hexabase.io~1ttl-seconds-after-finished',
        value: '0',
      },
      { op: 'remove', path: '/spec/ttlSecondsAfterFinished' },
    ]);
    expect(holdPatch(job({ finalizers: ['other'] }))?.[1]).toEqual({
      op: 'add',
      path: '/metadata/finalizers/-',
      value: RECORD_FINALIZER,
    });
    expect(holdPatch(job({ finalizers: [RECORD_FINALIZER] }))).toBeUndefined();
    expect(holdPatch(job({ deleting: true }))).toBeUndefined();
  });

  test('release removes only our finalizer, at a tested index, and restores the TTL', () => {
    expect(
      releasePatch(
        job({
          finalizers: ['other', RECORD_FINALIZER],
          annotations: { [PARKED_TTL_ANNOTATION]: '30' },
        }),
      ),
    ).toEqual([
      { op: 'test', path: '/metadata/finalizers/1', value: RECORD_FINALIZER },
      { op: 'remove', path: '/metadata/finalizers/1' },
      { op: 'remove', path: '/metadata/annotations/hks.hexabase.io~1ttl-seconds-after-finished' },
      { op: 'add', path: '/spec/ttlSecondsAfterFinished', value: 30 },
    ]);
    expect(releasePatch(job({ finalizers: ['other'] }))).toBeUndefined();
  });
});
