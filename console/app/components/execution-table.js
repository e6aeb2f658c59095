// The table of executions both executions pages show: trigger, scheduled and actual start,
// duration, status, exit code, attempts, why it ended and the log link; with `showCronJob`, the
// CronJob of each run too (the project's page).

import { html } from 'htm/preact';
import { scheduledTimeOf } from '../format.js';
import { hrefs } from '../links.js';
import { Duration, StatusBadge, TimeText } from './ui.js';

const none = html`<span class="muted">—</span>`;

/**
 * @param {{project: string, items: object[], now: number, caption: string, showCronJob?: boolean}} props
 */
export function ExecutionTable({ project, items, now, caption, showCronJob = false }) {
  return html`<table class="executions responsive">
    <caption class="visually-hidden">
      ${caption}
    </caption>
    <thead>
      <tr>
        <th scope="col">Job</th>
        ${showCronJob && html`<th scope="col">CronJob</th>`}
        <th scope="col">Trigger</th>
        <th scope="col">Scheduled for</th>
        <th scope="col">Started</th>
        <th scope="col">Duration</th>
        <th scope="col">Status</th>
        <th scope="col">Exit code</th>
        <th scope="col">Attempts</th>
        <th scope="col">Ended because</th>
        <th scope="col">Logs</th>
      </tr>
    </thead>
    <tbody>
      ${items.map(
        (e) =>
          html`<${ExecutionRow}
            key=${e.id}
            project=${project}
            execution=${e}
            now=${now}
            showCronJob=${showCronJob}
          />`,
      )}
    </tbody>
  </table>`;
}

function ExecutionRow({ project, execution: e, now, showCronJob }) {
  const scheduled = scheduledTimeOf(e);
  const reasons = [e.reason, e.terminationReason].filter(Boolean).join(', ');
  return html`<tr>
    <th scope="row" data-label="Job"><code>${e.jobName}</code></th>
    ${
      showCronJob &&
      html`<td data-label="CronJob">
        <a href=${hrefs.executions(project, e.cronjob)}>${e.cronjob}</a>
      </td>`
    }
    <td data-label="Trigger">${e.trigger === 'manual' ? 'Manual' : 'Scheduled'}</td>
    <td data-label="Scheduled for">
      ${scheduled ? html`<${TimeText} iso=${scheduled} now=${now} />` : none}
    </td>
    <td data-label="Started"><${TimeText} iso=${e.startedAt} now=${now} /></td>
    <td data-label="Duration"><${Duration} execution=${e} now=${now} /></td>
    <td data-label="Status"><${StatusBadge} status=${e.status} /></td>
    <td data-label="Exit code">${e.exitCode ?? none}</td>
    <td data-label="Attempts">${typeof e.attempts === 'number' ? attemptsText(e.attempts) : none}</td>
    <td data-label="Ended because">${reasons || none}</td>
    <td data-label="Logs">
      <a href=${hrefs.logs(project, e.cronjob, e.id)} aria-label=${`Logs of ${e.jobName}`}>Logs</a>
      ${e.logCapture !== 'captured' && html` <span class="muted small">(${e.logCapture})</span>`}
    </td>
  </tr>`;
}

/** "1", or "3 (2 retries)": every attempt after the first is a retry (a new pod or a restart). */
function attemptsText(attempts) {
  const retries = attempts - 1;
  if (retries <= 0) return String(attempts);
  return `${attempts} (${retries} ${retries === 1 ? 'retry' : 'retries'})`;
}
