// A function's asynchronous invocations (GET .../functions/{name}/async-invocations): the
// newest 20 with their state, attempts, result status and size, last error and callback
// delivery; a row's result body is read when opened (GET .../async-invocations/{id}).

import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { getJson, projectPath } from '../api.js';
import { Empty, Loading, ProblemMessage, TimeText, useLoad, useNow } from './ui.js';
import { formatBytes, formatMs } from './function-invocations.js';

/** The queue's states (api/async-invocations), in words. */
const STATE_LABELS = {
  queued: 'Queued',
  running: 'Running',
  succeeded: 'Succeeded',
  'failed-retrying': 'Failed, will retry',
  dead: 'Dead (out of attempts)',
  cancelled: 'Cancelled',
};

/** How a callback's delivery went, in words. */
const CALLBACK_LABELS = { pending: 'pending', delivered: 'delivered', failed: 'failed' };

const LIMIT = 20;
const REFRESH_MS = 5000;
const none = html`<span class="muted">—</span>`;

/** @param {{project: string, name: string}} props */
export function FunctionAsyncInvocations({ project, name }) {
  const now = useNow(5000);
  const path = projectPath(project, 'functions', name, 'async-invocations');
  const loaded = useLoad((signal) => getJson(`${path}?limit=${LIMIT}`, { signal }), [path], {
    refreshMs: REFRESH_MS,
  });
  const items = loaded.data?.items;
  if (loaded.error)
    return html`<${ProblemMessage} error=${loaded.error} onRetry=${loaded.reload} />`;
  if (items === undefined) return html`<${Loading} what="the asynchronous invocations" />`;
  if (items.length === 0) {
    return html`<${Empty}
      >None yet: <code>POST .../invoke</code> with <code>Prefer: respond-async</code> queues
      one.<//
    >`;
  }
  return html`<table class="async-invocations responsive">
    <caption class="visually-hidden">
      ${`The newest ${LIMIT} asynchronous invocations`}
    </caption>
    <thead>
      <tr>
        <th scope="col">Queued</th>
        <th scope="col">State</th>
        <th scope="col">Attempts</th>
        <th scope="col">Result</th>
        <th scope="col">Duration</th>
        <th scope="col">Callback</th>
        <th scope="col">Answer</th>
      </tr>
    </thead>
    <tbody>
      ${items.map((a) => html`<${AsyncRow} key=${a.id} path=${path} invocation=${a} now=${now} />`)}
    </tbody>
  </table>`;
}

function AsyncRow({ path, invocation: a, now }) {
  const [open, setOpen] = useState(false);
  const answerId = `async-${a.id}`;
  return html`<tr>
      <th scope="row" data-label="Queued"><${TimeText} iso=${a.createdAt} now=${now} /></th>
      <td data-label="State">
        <span class=${`badge async-${a.state}`}>${STATE_LABELS[a.state] ?? a.state}</span>
        ${
          a.state === 'failed-retrying' &&
          a.nextAttemptAt &&
          html`<span class="muted small">
            next <${TimeText} iso=${a.nextAttemptAt} now=${now} absolute=${false}
          /></span>`
        }
      </td>
      <td data-label="Attempts">${a.attempts} of ${a.maxAttempts}</td>
      <td data-label="Result">
        ${a.result ? `HTTP ${a.result.status}, ${formatBytes(a.result.bytes)}` : none}
        ${a.lastError && html`<span class="function-reason small">${a.lastError}</span>`}
      </td>
      <td data-label="Duration">${a.durationMs === undefined ? none : formatMs(a.durationMs)}</td>
      <td data-label="Callback">
        ${a.callback ? `${CALLBACK_LABELS[a.callback.state] ?? a.callback.state}` : none}
      </td>
      <td data-label="Answer">
        ${
          a.result
            ? html`<button
                type="button"
                class="secondary small"
                aria-expanded=${open}
                aria-controls=${answerId}
                onClick=${() => setOpen(!open)}
              >
                ${open ? 'Hide answer' : 'Answer'}<span class="visually-hidden">
                  of the asynchronous invocation ${a.id}</span
                >
              </button>`
            : none
        }
      </td>
    </tr>
    ${
      open &&
      html`<tr class="async-answer-row">
        <td colspan="7" id=${answerId}><${AsyncAnswer} path=${path} id=${a.id} /></td>
      </tr>`
    }`;
}

function AsyncAnswer({ path, id }) {
  const loaded = useLoad(
    (signal) => getJson(`${path}/${encodeURIComponent(id)}`, { signal }),
    [path, id],
  );
  const result = loaded.data?.result;
  if (loaded.error)
    return html`<${ProblemMessage} error=${loaded.error} onRetry=${loaded.reload} />`;
  if (!loaded.data) return html`<${Loading} what="the answer" />`;
  if (!result) return html`<p class="muted small">No answer stored.</p>`;
  const body =
    result.body ?? (result.bodyBase64 ? `(binary, ${formatBytes(result.bytes)})` : '(empty)');
  return html`<div class="invocation-details">
    <p class="small">
      HTTP ${result.status}${result.contentType ? `, ${result.contentType}` : ''}${result.truncated ? ' — cut at the stored size' : ''}
    </p>
    <pre class="invocation-logs">${body}</pre>
  </div>`;
}
