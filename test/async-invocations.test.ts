import { attemptId } from '../api/async-invocations/attempt-id';
import {
  projectCallbackKey,
  signCallback,
  verifyCallback,
} from '../api/async-invocations/callback';
import {
  checkCallbackUrl,
  checkResolved,
  isLinkLocal,
} from '../api/async-invocations/callback-target';
import { retryable, retryDelayMs } from '../api/async-invocations/retry-policy';
import {
  DEFAULT_ASYNC_SETTINGS,
  parseStatuses,
  readAsyncSettings,
} from '../api/async-invocations/settings';
import { idempotencyKeyOf, prefersAsync } from '../api/async-invocations/submission';
import { Problem } from '../api/problem';
import { tooLarge } from '../api/function-proxy';

/** The rules of asynchronous invocations that need no API: settings, retries, callbacks, keys. */

const read = (env: NodeJS.ProcessEnv) => {
  const problems: string[] = [];
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const raw = env[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max)
      problems.push(
        `${name}: given ${JSON.stringify(raw)}, expected a whole number from ${min} to ${max}`,
      );
    return value;
  };
  return { settings: readAsyncSettings(env, integer, problems), problems };
};

test('settings: defaults, statuses and ranges, and each bad value named', () => {
  expect(read({}).settings).toMatchObject({ maxAttempts: 5, concurrency: 8, leaseSeconds: 30 });
  expect([...(parseStatuses('429, 500-503') as Set<number>)]).toEqual([429, 500, 501, 502, 503]);
  expect(parseStatuses('5xx')).toBe(
    '"5xx" is not a status from 100 to 599 or a range such as 500-599',
  );
  const { problems } = read({
    HKS_ASYNC_RETRY_STATUSES: '600',
    HKS_ASYNC_CALLBACK_SECRET: 'short',
    HKS_ASYNC_RETRY_BASE_MS: '5000',
    HKS_ASYNC_RETRY_MAX_MS: '1000',
  });
  expect(problems).toEqual([
    'HKS_ASYNC_RETRY_STATUSES: given "600", expected statuses and ranges such as 429,500-599 ("600" is not a status from 100 to 599 or a range such as 500-599)',
    'HKS_ASYNC_CALLBACK_SECRET: given 5 bytes, expected at least 32 bytes',
    'HKS_ASYNC_RETRY_MAX_MS: given 1000, expected at least HKS_ASYNC_RETRY_BASE_MS (5000)',
  ]);
});

test('retries: listed statuses, timeouts and unreachable functions; not a gone function or a too large answer', () => {
  const settings = DEFAULT_ASYNC_SETTINGS;
  expect(retryable({ kind: 'answered', status: 503 }, settings)).toBe(true);
  expect(retryable({ kind: 'answered', status: 429 }, settings)).toBe(true);
  expect(retryable({ kind: 'answered', status: 400 }, settings)).toBe(false);
  expect(
    retryable({ kind: 'failed', error: new Problem(504, 'Function timed out', '') }, settings),
  ).toBe(true);
  expect(
    retryable({ kind: 'failed', error: new Problem(503, 'Function not ready', '') }, settings),
  ).toBe(true);
  expect(retryable({ kind: 'failed', error: Problem.notFound('gone') }, settings)).toBe(false);
  expect(retryable({ kind: 'failed', error: tooLarge(10, '11 bytes') }, settings)).toBe(false);
  expect(retryable({ kind: 'failed', error: new Error('ECONNRESET') }, settings)).toBe(true);
});

test('backoff doubles from the base up to the cap, half of it jittered', () => {
  const s = { retryBaseMs: 1000, retryMaxMs: 5000 };
  expect([1, 2, 3, 4].map((n) => retryDelayMs(n, s, 0))).toEqual([500, 1000, 2000, 2500]);
  expect([1, 2, 3, 4].map((n) => retryDelayMs(n, s, 0.999999))).toEqual([1000, 2000, 4000, 5000]);
});

test('attempt ids: the first is the invocation id, the others stable UUID-shaped digests', () => {
  const id = '0b6f1c2e-5d4a-4e3b-9f21-7c8d9e0a1b2c';
  expect(attemptId(id, 1)).toBe(id);
  expect(attemptId(id, 2)).toBe(attemptId(id, 2));
  expect(attemptId(id, 2)).not.toBe(attemptId(id, 3));
  expect(attemptId(id, 2)).toMatch(
    /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
});

test('signatures: per-project keys; a wrong key, another body or an old time fail', () => {
  const secret = new TextEncoder().encode('a-platform-secret-of-32-bytes-or-more');
  const key = projectCallbackKey(secret, 'shop');
  expect(key).not.toBe(projectCallbackKey(secret, 'other'));
  const body = Buffer.from('{"ok":true}');
  const header = signCallback(key, body, 1_700_000_000);
  expect(verifyCallback(key, body, header, 300, 1_700_000_100)).toBe(true);
  expect(
    verifyCallback(projectCallbackKey(secret, 'other'), body, header, 300, 1_700_000_100),
  ).toBe(false);
  expect(verifyCallback(key, Buffer.from('{"ok":false}'), header, 300, 1_700_000_100)).toBe(false);
  expect(verifyCallback(key, body, header, 300, 1_700_000_301)).toBe(false);
});

test('callback URLs: http(s) only, never the API itself or link-local and metadata addresses', () => {
  const self = { host: 'api.example.com', port: 8080 };
  expect(checkCallbackUrl('https://hooks.example.com/x', self).href).toBe(
    'https://hooks.example.com/x',
  );
  expect(checkCallbackUrl('http://127.0.0.1:9999/x', self).port).toBe('9999');
  const refusal = (url: string) => {
    try {
      checkCallbackUrl(url, self);
    } catch (error) {
      return (error as Problem).detail;
    }
    return 'accepted';
  };
  expect(refusal('file:///etc/passwd')).toBe(
    'x-callback-url: given "file:///etc/passwd", expected an http:// or https:// URL, not file:',
  );
  expect(refusal('https://user:pw@hooks.example.com/')).toContain(
    'expected a URL without credentials',
  );
  expect(refusal('http://api.example.com/api/v1')).toContain(
    'expected a URL of another service than this API (api.example.com)',
  );
  expect(refusal('http://127.0.0.1:8080/x')).toContain('another service than this API');
  expect(refusal('http://[::1]:8080/x')).toContain('another service than this API');
  expect(refusal('http://169.254.169.254/latest')).toContain('link-local and cloud metadata');
  expect(refusal('http://[fe80::1]/')).toContain('link-local and cloud metadata');
  expect(refusal('http://metadata.google.internal/')).toContain('link-local and cloud metadata');
  expect(refusal(`https://x.example.com/${'a'.repeat(2100)}`)).toContain('at most 2048 characters');
  expect(isLinkLocal('::ffff:169.254.1.1')).toBe(true);
  expect(() => checkResolved(new URL('http://rebind.example.com/'), ['169.254.169.254'])).toThrow(
    Problem,
  );
});

test('Prefer: respond-async among other preferences; idempotency keys checked', () => {
  expect(prefersAsync({ prefer: 'return=minimal, respond-async; wait=10' })).toBe(true);
  expect(prefersAsync({ prefer: 'respond-asynchronously' })).toBe(false);
  expect(prefersAsync({})).toBe(false);
  expect(idempotencyKeyOf({ 'idempotency-key': 'order-1234:v2' })).toBe('order-1234:v2');
  expect(idempotencyKeyOf({})).toBeUndefined();
  expect(() => idempotencyKeyOf({ 'idempotency-key': '' })).toThrow(
    'Idempotency-Key: given "", expected 1 to 200 characters of letters, digits and . _ ~ : - + = /',
  );
});
