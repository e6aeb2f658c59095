/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` until it returns true.
 *
 * @param what what is awaited, for the timeout message
 * @param timeoutMs how long to wait in total
 * @param check the condition; a thrown error counts as "not yet"
 * @param guard called before every poll; throw from it to give up early (e.g. a process died)
 * @param intervalMs pause between polls
 */
export async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  guard: () => void = () => undefined,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    guard();
    try {
      if (await check()) {
        return;
      }
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? `: ${lastError}` : ''}`,
      );
    }
    await sleep(intervalMs);
  }
}
