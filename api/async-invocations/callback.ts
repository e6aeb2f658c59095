import { createHmac, timingSafeEqual } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { checkResolved } from './callback-target';

/** The header of a callback's signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'x-hks-signature';

/**
 * A project's callback signing key: HMAC-SHA256 of `callback:<project>` under the platform
 * secret, so that one project's key verifies none of another's callbacks.
 */
export function projectCallbackKey(secret: Uint8Array, project: string): string {
  return createHmac('sha256', secret).update(`callback:${project}`).digest('hex');
}

/** `t=<unix>,v1=<hex HMAC-SHA256 of "<unix>.<body>">` under `key`. */
export function signCallback(key: string, body: Buffer, unixSeconds: number): string {
  const mac = createHmac('sha256', key).update(`${unixSeconds}.`).update(body).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * Whether a callback's signature header is `key`'s over `body`, made at most `toleranceSeconds`
 * ago (a replayed old callback fails). What a receiver does, in a few lines.
 */
export function verifyCallback(
  key: string,
  body: Buffer,
  header: string,
  toleranceSeconds = 300,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  const fields = new Map(
    header.split(',').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const t = Number(fields.get('t'));
  const given = Buffer.from(fields.get('v1') ?? '', 'hex');
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signCallback(key, body, t).split('v1=')[1], 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** What a callback carries. */
export interface CallbackMessage {
  readonly invocationId: string;
  /** `succeeded` or `dead`. */
  readonly state: string;
  /** The function's status of the last attempt. @default - none: no answer */
  readonly status?: number;
  readonly durationMs?: number;
  readonly attempts: number;
  readonly contentType?: string;
  readonly body: Buffer;
}

/** How one delivery went. */
export interface Delivery {
  readonly ok: boolean;
  readonly status?: number;
  readonly error?: string;
}

/**
 * POSTs a result to its callback URL once, signed with `key`; a 2xx answer delivers it.
 * The host is resolved first and refused when it is link-local (metadata services).
 */
export async function deliverCallback(
  url: URL,
  key: string,
  message: CallbackMessage,
  timeoutMs: number,
): Promise<Delivery> {
  try {
    const addresses = await lookup(url.hostname.replace(/^\[|\]$/g, ''), { all: true });
    checkResolved(
      url,
      addresses.map((a) => a.address),
    );
    const response = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        'content-type': message.contentType ?? 'application/octet-stream',
        'x-hks-invocation-id': message.invocationId,
        'x-hks-state': message.state,
        'x-hks-attempts': String(message.attempts),
        ...(message.status === undefined ? {} : { 'x-hks-status': String(message.status) }),
        ...(message.durationMs === undefined
          ? {}
          : { 'x-hks-duration-ms': String(Math.round(message.durationMs)) }),
        [SIGNATURE_HEADER]: signCallback(key, message.body, Math.floor(Date.now() / 1000)),
      },
      body: message.body,
    });
    await response.body?.cancel();
    return response.ok
      ? { ok: true, status: response.status }
      : { ok: false, status: response.status, error: `answered ${response.status}` };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}
