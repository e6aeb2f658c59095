// CronJobs of a project: schedule in words, time zone, suspension, last and next runs, the
// strip of the last runs, and Run now.

import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import cronstrue from '../schedule-words.js';
import { getJson, projectPath } from '../api.js';
import { RunNow } from '../components/run-now.js';
import { scheduleInWords } from '../format.js';
import { hrefs } from '../links.js';
import {
  Breadcrumbs,
  Duration,
  Empty,
  Loading,
  ProblemMessage,
  RunStrip,
  StatusBadge,
  TimeText,
  useFocusHeading,
  useLoad,
  useNow,
} from '../components/ui.js';

/** Runs shown in each CronJob's strip. */
const STRIP_RUNS = 10;

/**
 * The CronJobs with their next run, last run and strip: one request, whatever their number
 * (the list carries what each row shows).
 */
async function loadCronJobs(project, signal) {
  const { items } = await getJson(`${projectPath(project, 'cronjobs')}?runs=${STRIP_RUNS}`, {
    signal,
  });
  return items;
}

export function CronJobsPage({ project }) {
  const heading = useFocusHeading(project);
  const now = useNow(5000);
  const list = useLoad((signal) => loadCronJobs(project, signal), [project], { refreshMs: 15000 });
  const [notice, setNotice] = useState(undefined);
  document.title = `CronJobs of ${project} · HKS console`;
  return html`<${Breadcrumbs}
      items=${[{ label: project, href: hrefs.cronJobs(project) }, { label: 'CronJobs' }]}
    />
    <div class="title-row">
      <h1 tabindex="-1" ref=${heading}>CronJobs</h1>
      <a class="cj-button" href=${hrefs.cronJobCreate(project)}>New CronJob</a>
    </div>
    <div class="notice" role="status" aria-live="polite">
      ${
        notice &&
        html`<p>Started Job <code>${notice.job}</code> of ${notice.cronjob}.${' '}<a href=${hrefs.executions(project, notice.cronjob)}>See the executions of ${notice.cronjob}</a></p>`
      }
    </div>
    <${ProblemMessage} error=${list.error} onRetry=${list.reload} />
    ${
      list.data === undefined
        ? list.loading && html`<${Loading} what="the CronJobs" />`
        : list.data.length === 0
          ? html`<${Empty}
              >No CronJobs in project ${project} yet.${' '}<a href=${hrefs.cronJobCreate(project)}
                  >Create one</a
                >, or apply a definition of kind CronJob through the API (POST
                /api/v1/projects/${project}/applications).<//
            >`
          : html`<table class="cronjobs responsive">
              <caption class="visually-hidden">
                CronJobs of project ${project}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Schedule</th>
                  <th scope="col">Time zone</th>
                  <th scope="col">State</th>
                  <th scope="col">Last run</th>
                  <th scope="col">Next run</th>
                  <th scope="col">Recent runs</th>
                  <th scope="col"><span class="visually-hidden">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                ${list.data.map(
                  (row) =>
                    html`<${CronJobRow}
                      key=${row.name}
                      project=${project}
                      row=${row}
                      now=${now}
                      onStarted=${(result) => {
                        setNotice({ ...result, cronjob: row.name });
                        list.reload();
                      }}
                    />`,
                )}
              </tbody>
            </table>`
    }`;
}

function CronJobRow({ project, row: summary, now, onStarted }) {
  const { lastRun: last, recentRuns: runs, suspended } = summary;
  const words = scheduleInWords(summary.schedule, cronstrue.toString);
  return html`<tr>
    <th scope="row" data-label="Name">
      <a href=${hrefs.cronJob(project, summary.name)}>${summary.name}</a>
      ${summary.template && html`<span class="muted small">from ${summary.template}</span>`}
    </th>
    <td data-label="Schedule">
      <code>${summary.schedule}</code>
      ${words && html`<span class="words">${words}</span>`}
    </td>
    <td data-label="Time zone">${summary.timeZone}</td>
    <td data-label="State">
      ${suspended ? html`<span class="badge suspended">Suspended</span>` : html`<span class="badge active">Active</span>`}
    </td>
    <td data-label="Last run">
      ${
        last
          ? html`<a class="last-run" href=${hrefs.logs(project, summary.name, last.id)}><${StatusBadge} status=${last.status} /><span class="visually-hidden">,</span>${' '}<span><${Duration} execution=${last} now=${now} /></span>${' '}<span class="muted small"><${TimeText} iso=${last.startedAt} now=${now} absolute=${false} /></span></a>`
          : html`<span class="muted">Never</span>`
      }
    </td>
    <td data-label="Next run">
      ${
        suspended
          ? html`<span class="muted">None while suspended</span>`
          : html`<${TimeText} iso=${summary.nextRun} now=${now} timeZone=${summary.timeZone} />`
      }
    </td>
    <td data-label="Recent runs">
      <${RunStrip}
        executions=${runs}
        now=${now}
        hrefOf=${(e) => hrefs.logs(project, summary.name, e.id)}
      />
    </td>
    <td data-label="Actions">
      <${RunNow} project=${project} cronjob=${summary.name} onStarted=${onStarted} />
    </td>
  </tr>`;
}
