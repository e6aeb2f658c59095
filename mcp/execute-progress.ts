import type { ExecuteRequest } from '../sdk/typescript';
import { executeStream } from '../sdk/typescript/execute-stream';
import { Http, LONG_REQUEST_TIMEOUT_MS } from '../sdk/typescript/http';

/** Tells the client how a long tool call is going (an MCP progress notification's message). */
export type ProgressReport = (message: string) => void;

/** What the MCP server needs to send notifications for one request. */
type SendNotification = (notification: {
  method: 'notifications/progress';
  params: { progressToken: string | number; progress: number; message: string };
}) => Promise<void>;

/**
 * A {@link ProgressReport} sending `notifications/progress` for `progressToken`, the token the
 * client gave with its request; the progress counts the messages (there is no known total).
 * A notification that cannot be sent is dropped: it must not fail the call.
 */
export function progressNotifier(
  progressToken: string | number,
  send: SendNotification,
): ProgressReport {
  let progress = 0;
  return (message) => {
    progress += 1;
    void send({
      method: 'notifications/progress',
      params: { progressToken, progress, message },
    }).catch(() => undefined);
  };
}

/**
 * Runs execute-once streamed, reporting each phase and each piece of output (prefixed with its
 * stream) as it comes; answers the same result as the plain call.
 */
export async function executeWithProgress(
  api: Http,
  request: ExecuteRequest,
  signal: AbortSignal,
  report: ProgressReport,
): Promise<{ json: unknown }> {
  const events = executeStream(api, request, { signal }, LONG_REQUEST_TIMEOUT_MS);
  for (;;) {
    const next = await events.next();
    if (next.done) return { json: next.value };
    const event = next.value;
    if (event.type === 'phase') report(event.phase);
    else if (event.type === 'output' && event.text.trim() !== '')
      report(`[${event.stream}] ${event.text}`);
  }
}
