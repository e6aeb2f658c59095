// A function's schedules (GET .../functions/{name}/schedules): each one's cron and zone, whether
// it is suspended, its next runs and its last run with how it ended.

import { html } from 'htm/preact';
import { getJson, projectPath } from '../api.js';
import { Empty, Loading, ProblemMessage, TimeText, useLoad, useNow } from './ui.js';

/** How a schedule's run ended (api/function-schedules), in words. */
const RUN_STATUS_LABELS = {
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  skipped: 'Skipped (previous run still running)',
  missed: 'Missed',
  lost: 'Lost (its API process stopped)',
};

/** How often the schedules are read again: the next run moves on. */
const REFRESH_MS = 15000;

/** @param {{project: string, name: string}} props */
export function FunctionSchedules({ project, name }) {
  const now = useNow(5000);
  const loaded = useLoad(
    (signal) => getJson(projectPath(project, 'functions', name, 'schedules'), { signal }),
    [project, name],
    { refreshMs: REFRESH_MS },
  );
  const items = loaded.data?.items;
  if (loaded.error)
    return html`<${ProblemMessage} error=${loaded.error} onRetry=${loaded.reload} />`;
  if (items === undefined) return html`<${Loading} what="the schedules" />`;
  if (items.length === 0) {
    return html`<${Empty}>No schedules: add <code>schedules:</code> to the definition to run it on a timer.<//>`;
  }
  return html`<table class="function-schedules responsive">
    <caption class="visually-hidden">
      Schedules of the function
    </caption>
    <thead>
      <tr>
        <th scope="col">Schedule</th>
        <th scope="col">When</th>
        <th scope="col">State</th>
        <th scope="col">Next run</th>
        <th scope="col">Last run</th>
      </tr>
    </thead>
    <tbody>
      ${items.map(
        (s) => html`<tr key=${s.name}>
          <th scope="row" data-label="Schedule">${s.name}</th>
          <td data-label="When"><code>${s.cron}</code> <span class="muted small">${s.timeZone}</span></td>
          <td data-label="State">
            ${s.suspend ? html`<span class="badge suspended">Suspended</span>` : 'Active'}
          </td>
          <td data-label="Next run">
            ${s.suspend || !s.nextRuns?.length ? html`<span class="muted">—</span>` : html`<${TimeText} iso=${s.nextRuns[0]} now=${now} timeZone=${s.timeZone} />`}
          </td>
          <td data-label="Last run">
            ${
              s.lastRun
                ? html`${RUN_STATUS_LABELS[s.lastRun.status] ?? s.lastRun.status},
                    <${TimeText} iso=${s.lastRun.scheduledTime} now=${now} absolute=${false} />`
                : html`<span class="muted">None yet</span>`
            }
          </td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}
