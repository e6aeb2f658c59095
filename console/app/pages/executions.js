// Executions of a CronJob: trigger, scheduled and actual start, duration, status, exit code,
// why it ended; filtered by status and start time, paged with the API's cursor, newest first.

import { html } from 'htm/preact';
import { projectPath } from '../api.js';
import { hrefs } from '../links.js';
import { RunNow } from '../components/run-now.js';
import { ExecutionFilters } from '../components/execution-filters.js';
import { Pager, REFRESH_MS, useExecutionPages } from '../components/execution-paging.js';
import { ExecutionTable } from '../components/execution-table.js';
import { filtersOf, isFiltered, withFilters } from '../components/execution-time-range.js';
import {
  Breadcrumbs,
  Empty,
  Loading,
  ProblemMessage,
  useFocusHeading,
  useNow,
} from '../components/ui.js';

export function ExecutionsPage({ project, cronjob, query }) {
  // No CronJob filter on a CronJob's own page.
  const { cronjob: _ignored, ...filters } = filtersOf(query);
  const heading = useFocusHeading(`${project}/${cronjob}`);
  const now = useNow(1000);
  const pages = useExecutionPages(projectPath(project, 'cronjobs', cronjob, 'executions'), filters);
  document.title = `Executions of ${cronjob} · HKS console`;
  const items = pages.page.data?.items;
  const filtered = isFiltered(filters);
  return html`<${Breadcrumbs}
      items=${[
        { label: project, href: hrefs.cronJobs(project) },
        { label: 'CronJobs', href: hrefs.cronJobs(project) },
        { label: cronjob },
      ]}
    />
    <div class="title-row">
      <h1 tabindex="-1" ref=${heading}>Executions of ${cronjob}</h1>
      <${RunNow} project=${project} cronjob=${cronjob} onStarted=${pages.restart} />
    </div>
    <${ExecutionFilters}
      filters=${filters}
      now=${now}
      onChange=${(next) => (location.hash = withFilters(hrefs.executions(project, cronjob), next))}
    />
    ${pages.first && html`<p class="muted small">Refreshed every ${REFRESH_MS / 1000} s</p>`}
    <${ProblemMessage} error=${pages.page.error} onRetry=${pages.page.reload} />
    ${
      items === undefined
        ? pages.page.loading && html`<${Loading} what="the executions" />`
        : items.length === 0
          ? html`<${Empty}
              >${
                filters.status && Object.keys(filters).length === 1
                  ? `No ${filters.status} executions of ${cronjob}.`
                  : filtered
                    ? `No executions of ${cronjob} match these filters.`
                    : `${cronjob} has not run yet.`
              }<//
            >`
          : html`<${ExecutionTable}
              project=${project}
              items=${items}
              now=${now}
              caption=${`Executions of ${cronjob}, newest first`}
            />`
    }
    <${Pager} pages=${pages} />`;
}
