// A function's invocation history (GET .../functions/{name}/invocations): every call that went
// through the platform — invoke, execute-once, schedules, asynchronous invocations — newest
// first, filtered by status and trigger, paged by the API's cursor; a row's details (its error,
// stack and logs) are read when opened (GET .../invocations/{id}).

import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { getJson, projectPath } from '../api.js';
import { Pager, useExecutionPages } from './execution-paging.js';
import { Empty, Loading, ProblemMessage, TimeText, useLoad, useNow } from './ui.js';

/** The API's statuses (api/store/invocation-store.ts), in words. */
export const INVOCATION_STATUS_LABELS = {
  succeeded: 'Succeeded',
  failed: 'Failed',
  timeout: 'Timed out',
  'too-large': 'Answer too large',
  unreachable: 'Unreachable',
  'client-gone': 'Caller gone',
};

/** What made an invocation (OpenTelemetry's faas.trigger), in words. */
export const INVOCATION_TRIGGER_LABELS = {
  http: 'Invoke (HTTP)',
  execute: 'Execute-once',
  timer: 'Schedule',
  async: 'Asynchronous',
  event: 'Event',
};

const none = html`<span class="muted">—</span>`;

/** Milliseconds as `12 ms` or `1.4 s`. */
export function formatMs(ms) {
  if (typeof ms !== 'number') return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Bytes as `512 B`, `3.2 KiB`, `1.5 MiB`. */
export function formatBytes(bytes) {
  if (typeof bytes !== 'number') return '—';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function InvocationStatus({ status }) {
  return html`<span class=${`badge invocation-${status}`}
    >${INVOCATION_STATUS_LABELS[status] ?? status}</span
  >`;
}

function Select({ id, label, value, options, onChange }) {
  return html`<label for=${id}>${label}</label>
    <select id=${id} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
      <option value="">Any</option>
      ${Object.entries(options).map(([v, words]) => html`<option value=${v}>${words}</option>`)}
    </select>`;
}

/** @param {{project: string, name: string}} props */
export function FunctionInvocations({ project, name }) {
  const now = useNow(5000);
  const [status, setStatus] = useState('');
  const [trigger, setTrigger] = useState('');
  const filters = { ...(status ? { status } : {}), ...(trigger ? { trigger } : {}) };
  const pages = useExecutionPages(projectPath(project, 'functions', name, 'invocations'), filters);
  const { page } = pages;
  const items = page.data?.items;
  return html`<div class="toolbar filters">
      <${Select}
        id="invocation-status"
        label="Status"
        value=${status}
        options=${INVOCATION_STATUS_LABELS}
        onChange=${setStatus}
      />
      <${Select}
        id="invocation-trigger"
        label="Trigger"
        value=${trigger}
        options=${INVOCATION_TRIGGER_LABELS}
        onChange=${setTrigger}
      />
    </div>
    <${ProblemMessage} error=${page.error} onRetry=${page.reload} />
    ${
      items === undefined
        ? page.loading && html`<${Loading} what="the invocations" />`
        : items.length === 0
          ? html`<${Empty}
              >${
                Object.keys(filters).length > 0
                  ? 'No invocations match these filters.'
                  : 'No invocations yet: invoke the function and its calls appear here.'
              }<//
            >`
          : html`<${InvocationTable} project=${project} name=${name} items=${items} now=${now} />
              <${Pager} pages=${pages} label="Pages of invocations" />`
    }`;
}

function InvocationTable({ project, name, items, now }) {
  return html`<table class="invocations responsive">
    <caption class="visually-hidden">
      Invocations, newest first
    </caption>
    <thead>
      <tr>
        <th scope="col">Started</th>
        <th scope="col">Trigger</th>
        <th scope="col">Status</th>
        <th scope="col">HTTP</th>
        <th scope="col">Duration</th>
        <th scope="col">Sizes (in / out)</th>
        <th scope="col">Revision</th>
        <th scope="col">Details</th>
      </tr>
    </thead>
    <tbody>
      ${items.map(
        (i) =>
          html`<${InvocationRow}
            key=${i.id}
            project=${project}
            name=${name}
            invocation=${i}
            now=${now}
          />`,
      )}
    </tbody>
  </table>`;
}

function InvocationRow({ project, name, invocation: i, now }) {
  const [open, setOpen] = useState(false);
  const detailsId = `invocation-${i.id}`;
  return html`<tr>
      <th scope="row" data-label="Started"><${TimeText} iso=${i.startedAt} now=${now} /></th>
      <td data-label="Trigger">
        ${INVOCATION_TRIGGER_LABELS[i.trigger] ?? i.trigger}
        ${i.cron && html`<span class="muted small"> <code>${i.cron}</code></span>`}
      </td>
      <td data-label="Status"><${InvocationStatus} status=${i.status} /></td>
      <td data-label="HTTP">${i.httpStatus ?? none}</td>
      <td data-label="Duration">${formatMs(i.durationMs)}</td>
      <td data-label="Sizes (in / out)">
        ${formatBytes(i.requestBytes)} / ${formatBytes(i.responseBytes)}
      </td>
      <td data-label="Revision">${i.revision ? html`<code>${i.revision}</code>` : none}</td>
      <td data-label="Details">
        <button
          type="button"
          class="secondary small"
          aria-expanded=${open}
          aria-controls=${detailsId}
          onClick=${() => setOpen(!open)}
        >
          ${open ? 'Hide details' : 'Details'}<span class="visually-hidden">
            of the invocation ${i.id}</span
          >
        </button>
      </td>
    </tr>
    ${
      open &&
      html`<tr class="invocation-details-row">
        <td colspan="8" id=${detailsId}>
          <${InvocationDetails} project=${project} name=${name} id=${i.id} />
        </td>
      </tr>`
    }`;
}

function InvocationDetails({ project, name, id }) {
  const loaded = useLoad(
    (signal) => getJson(projectPath(project, 'functions', name, 'invocations', id), { signal }),
    [project, name, id],
  );
  const i = loaded.data;
  if (loaded.error)
    return html`<${ProblemMessage} error=${loaded.error} onRetry=${loaded.reload} />`;
  if (!i) return html`<${Loading} what="the invocation" />`;
  return html`<div class="invocation-details">
    <dl class="facts">
      <div>
        <dt>Invocation id</dt>
        <dd><code>${i.id}</code></dd>
      </div>
      ${
        i.clientRequestId &&
        html`<div>
          <dt>Caller's request id</dt>
          <dd><code>${i.clientRequestId}</code></dd>
        </div>`
      }
      ${
        i.scheduledTime &&
        html`<div>
          <dt>Scheduled for</dt>
          <dd><time datetime=${i.scheduledTime}>${i.scheduledTime}</time></dd>
        </div>`
      }
      ${
        i.error &&
        html`<div>
          <dt>Error</dt>
          <dd><strong>${i.error.type}</strong>: ${i.error.message}</dd>
        </div>`
      }
    </dl>
    ${i.error?.stack && html`<h3>Stack</h3><pre class="invocation-stack">${i.error.stack}</pre>`}
    <h3>Output</h3>
    ${
      i.logs
        ? html`<pre class="invocation-logs">${i.logs}</pre>`
        : html`<p class="muted small">
            Nothing recorded: the code wrote nothing, or more than the runtime returns with the
            answer.
          </p>`
    }
  </div>`;
}
