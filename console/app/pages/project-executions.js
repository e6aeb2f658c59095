// Executions of every CronJob of a project in one history, newest first: the columns of a
// CronJob's executions and the CronJob of each; filtered by status, CronJob and start time
// (kept in the hash query, so that a filtered view can be linked), paged with the API's cursor.

import { html } from 'htm/preact';
import { getJson, projectPath } from '../api.js';
import { hrefs } from '../links.js';
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
  useLoad,
  useNow,
} from '../components/ui.js';

export function ProjectExecutionsPage({ project, query }) {
  const filters = filtersOf(query);
  const heading = useFocusHeading(project);
  const now = useNow(1000);
  const pages = useExecutionPages(projectPath(project, 'executions'), filters);
  // The names the CronJob filter offers: the list without its runs, read once.
  const cronjobs = useLoad(
    (signal) => getJson(`${projectPath(project, 'cronjobs')}?runs=0`, { signal }),
    [project],
  );
  document.title = `Executions of ${project} · HKS console`;
  const items = pages.page.data?.items;
  const href = hrefs.projectExecutions(project);
  return html`<${Breadcrumbs}
      items=${[{ label: project, href: hrefs.cronJobs(project) }, { label: 'Executions' }]}
    />
    <h1 tabindex="-1" ref=${heading}>Executions</h1>
    <${ExecutionFilters}
      filters=${filters}
      now=${now}
      cronjobs=${cronjobs.data?.items.map((c) => c.name) ?? []}
      onChange=${(next) => (location.hash = withFilters(href, next))}
    />
    ${pages.first && html`<p class="muted small">Refreshed every ${REFRESH_MS / 1000} s</p>`}
    <${ProblemMessage} error=${pages.page.error} onRetry=${pages.page.reload} />
    ${
      items === undefined
        ? pages.page.loading && html`<${Loading} what="the executions" />`
        : items.length === 0
          ? html`<${Empty}
              >${
                isFiltered(filters)
                  ? html`No executions of ${project} match these filters.${' '}<a href=${href}
                        >Show all executions</a
                      >`
                  : `No CronJob of ${project} has run yet.`
              }<//
            >`
          : html`<${ExecutionTable}
              project=${project}
              items=${items}
              now=${now}
              showCronJob=${true}
              caption=${`Executions of the CronJobs of ${project}, newest first`}
            />`
    }
    <${Pager} pages=${pages} />`;
}
