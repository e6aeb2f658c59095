// Functions of a project: readiness (and why not), URL, runtime, revision and traffic; a link
// to deploy one from the browser.

import { html } from 'htm/preact';
import { getJson, projectPath } from '../api.js';
import { hrefs } from '../links.js';
import {
  Breadcrumbs,
  Empty,
  Loading,
  ProblemMessage,
  TimeText,
  useFocusHeading,
  useLoad,
  useNow,
} from '../components/ui.js';
import { FunctionReadiness } from '../components/function-readiness.js';
import { trafficInWords } from '../components/function-format.js';

/** The list looks again this often (readiness changes by itself). */
const REFRESH_MS = 10000;

export function FunctionsPage({ project }) {
  const heading = useFocusHeading(project);
  const now = useNow(10000);
  const list = useLoad(
    (signal) => getJson(projectPath(project, 'functions'), { signal }).then((r) => r.items),
    [project],
    { refreshMs: REFRESH_MS },
  );
  document.title = `Functions of ${project} · HKS console`;
  return html`<${Breadcrumbs}
      items=${[{ label: project, href: hrefs.functions(project) }, { label: 'Functions' }]}
    />
    <div class="title-row">
      <h1 tabindex="-1" ref=${heading}>Functions</h1>
      <a class="function-action-link" href=${hrefs.functionCreate(project)}>Deploy a function</a>
    </div>
    <${ProblemMessage} error=${list.error} onRetry=${list.reload} />
    ${
      list.data === undefined
        ? list.loading && html`<${Loading} what="the functions" />`
        : list.data.length === 0
          ? html`<${Empty}
              >No functions in project ${project} yet.${' '}<a href=${hrefs.functionCreate(project)}
                >Deploy one from the browser</a
              >, or apply a definition of kind Function through the API.<//
            >`
          : html`<table class="functions responsive">
              <caption class="visually-hidden">
                Functions of project ${project}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Readiness</th>
                  <th scope="col">URL</th>
                  <th scope="col">Runtime</th>
                  <th scope="col">Traffic</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                ${list.data.map(
                  (fn) => html`<tr key=${fn.name}>
                    <th scope="row" data-label="Name">
                      <a href=${hrefs.function(project, fn.name)}>${fn.name}</a>
                      ${fn.ephemeral && html`<span class="muted small">temporary</span>`}
                    </th>
                    <td data-label="Readiness"><${FunctionReadiness} fn=${fn} /></td>
                    <td data-label="URL">
                      ${fn.url ? html`<code class="function-url">${fn.url}</code>` : html`<span class="muted">None yet</span>`}
                    </td>
                    <td data-label="Runtime">${fn.runtime}</td>
                    <td data-label="Traffic">
                      ${fn.traffic.length ? trafficInWords(fn.traffic) : html`<span class="muted">—</span>`}
                    </td>
                    <td data-label="Created">
                      <${TimeText} iso=${fn.createdAt} now=${now} absolute=${false} />
                    </td>
                  </tr>`,
                )}
              </tbody>
            </table>`
    }`;
}
