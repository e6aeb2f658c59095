// Executions of a CronJob: trigger, scheduled and actual start, duration, status, exit code,
// why it ended; filtered by status, paged with the API's cursor, newest first.

import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { getJson, projectPath } from '../api.js';
import { scheduledTimeOf } from '../format.js';
import { hrefs } from '../links.js';
import { RunNow } from '../components/run-now.js';
import {
  Breadcrumbs,
  Duration,
  Empty,
  Loading,
  ProblemMessage,
  StatusBadge,
  TimeText,
  useFocusHeading,
  useLoad,
  useNow,
} from '../components/ui.js';

const PAGE_SIZE = 20;
const STATUSES = ['running', 'succeeded', 'failed', 'unknown'];

export function ExecutionsPage({ project, cronjob, query }) {
  const status = STATUSES.includes(query.status) ? query.status : undefined;
  const heading = useFocusHeading(`${project}/${cronjob}`);
  const now = useNow(1000);
  // The cursors of the pages seen, the first page's undefined: "Newer" goes back one.
  const [pages, setPages] = useState({ key: '', cursors: [undefined] });
  const key = `${project}/${cronjob}/${status ?? ''}`;
  const cursors = pages.key === key ? pages.cursors : [undefined];
  const cursor = cursors[cursors.length - 1];
  const first = cursor === undefined;
  const page = useLoad(
    (signal) => {
      const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (cursor) params.set('cursor', cursor);
      if (status) params.set('status', status);
      return getJson(`${projectPath(project, 'cronjobs', cronjob, 'executions')}?${params}`, {
        signal,
      });
    },
    [key, cursor],
    // New runs appear on the first page by themselves.
    { refreshMs: first ? 5000 : undefined },
  );
  document.title = `Executions of ${cronjob} · HKS console`;
  const items = page.data?.items;
  return html`<${Breadcrumbs}
      items=${[
        { label: project, href: hrefs.cronJobs(project) },
        { label: 'CronJobs', href: hrefs.cronJobs(project) },
        { label: cronjob },
      ]}
    />
    <div class="title-row">
      <h1 tabindex="-1" ref=${heading}>Executions of ${cronjob}</h1>
      <${RunNow}
        project=${project}
        cronjob=${cronjob}
        onStarted=${() => {
          setPages({ key, cursors: [undefined] });
          page.reload();
        }}
      />
    </div>
    <div class="toolbar">
      <label for="status-filter">Status</label>
      <select
        id="status-filter"
        value=${status ?? ''}
        onChange=${(e) => (location.hash = hrefs.executions(project, cronjob, e.currentTarget.value || undefined))}
      >
        <option value="">All</option>
        ${STATUSES.map((s) => html`<option key=${s} value=${s}>${s[0].toUpperCase() + s.slice(1)}</option>`)}
      </select>
      ${first && html`<span class="muted small">Refreshed every 5 s</span>`}
    </div>
    <${ProblemMessage} error=${page.error} onRetry=${page.reload} />
    ${
      items === undefined
        ? page.loading && html`<${Loading} what="the executions" />`
        : items.length === 0
          ? html`<${Empty}
              >${status ? `No ${status} executions of ${cronjob}.` : `${cronjob} has not run yet.`}<//
            >`
          : html`<${ExecutionsTable}
              project=${project}
              cronjob=${cronjob}
              items=${items}
              now=${now}
            />`
    }
    <nav class="pager" aria-label="Pages of executions">
      <button
        type="button"
        class="secondary"
        disabled=${first}
        onClick=${() => setPages({ key, cursors: cursors.slice(0, -1) })}
      >
        Newer
      </button>
      <button
        type="button"
        class="secondary"
        disabled=${!page.data?.nextCursor}
        onClick=${() => setPages({ key, cursors: [...cursors, page.data.nextCursor] })}
      >
        Older
      </button>
    </nav>`;
}

function ExecutionsTable({ project, cronjob, items, now }) {
  return html`<table class="executions responsive">
    <caption class="visually-hidden">
      Executions of ${cronjob}, newest first
    </caption>
    <thead>
      <tr>
        <th scope="col">Job</th>
        <th scope="col">Trigger</th>
        <th scope="col">Scheduled for</th>
        <th scope="col">Started</th>
        <th scope="col">Duration</th>
        <th scope="col">Status</th>
        <th scope="col">Exit code</th>
        <th scope="col">Ended because</th>
        <th scope="col">Logs</th>
      </tr>
    </thead>
    <tbody>
      ${items.map((e) => {
        const scheduled = scheduledTimeOf(e);
        const reasons = [e.reason, e.terminationReason].filter(Boolean).join(', ');
        return html`<tr key=${e.id}>
          <th scope="row" data-label="Job"><code>${e.jobName}</code></th>
          <td data-label="Trigger">${e.trigger === 'manual' ? 'Manual' : 'Scheduled'}</td>
          <td data-label="Scheduled for">
            ${scheduled ? html`<${TimeText} iso=${scheduled} now=${now} />` : html`<span class="muted">—</span>`}
          </td>
          <td data-label="Started"><${TimeText} iso=${e.startedAt} now=${now} /></td>
          <td data-label="Duration"><${Duration} execution=${e} now=${now} /></td>
          <td data-label="Status"><${StatusBadge} status=${e.status} /></td>
          <td data-label="Exit code">${e.exitCode ?? html`<span class="muted">—</span>`}</td>
          <td data-label="Ended because">${reasons || html`<span class="muted">—</span>`}</td>
          <td data-label="Logs">
            <a href=${hrefs.logs(project, cronjob, e.id)} aria-label=${`Logs of ${e.jobName}`}
              >Logs</a
            >
            ${e.logCapture !== 'captured' && html` <span class="muted small">(${e.logCapture})</span>`}
          </td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}
