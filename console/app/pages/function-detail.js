// One function: readiness and URL, its revisions, the traffic split editor, the invoke panel,
// its schedules, its invocation history, its asynchronous invocations and its logs (followed).
// Refreshed every few seconds while it is not ready.

import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
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
import { FunctionTrafficEditor } from '../components/function-traffic.js';
import { FunctionInvokePanel } from '../components/function-invoke.js';
import { FunctionLogs } from '../components/function-logs.js';
import { FunctionInvocations } from '../components/function-invocations.js';
import { UsagePanel } from '../components/usage-panel.js';
import { FunctionSchedules } from '../components/function-schedules.js';
import { FunctionAsyncInvocations } from '../components/function-async-invocations.js';
import { SOURCE_RUNTIMES, trafficInWords } from '../components/function-format.js';

/** How often the page looks again: soon while the function gets ready, else now and then. */
const REFRESH_PENDING_MS = 2000;
const REFRESH_READY_MS = 15000;

/** The editor starts again from the function's split when that changes (saved, or by others). */
const trafficKey = (fn) =>
  JSON.stringify([fn.traffic.map((t) => [t.revision, t.latestRevision, t.tag, t.percent])]);

async function loadFunction(project, name, signal) {
  const [fn, revisions] = await Promise.all([
    getJson(projectPath(project, 'functions', name), { signal }),
    getJson(projectPath(project, 'functions', name, 'revisions'), { signal }),
  ]);
  return { fn, revisions: revisions.items };
}

export function FunctionPage({ project, name, query = {} }) {
  const heading = useFocusHeading(name);
  const now = useNow(5000);
  const [lastData, setLastData] = useState(undefined);
  const [notice, setNotice] = useState(undefined);
  // Soon again while the function (a deploy just made, say) is on its way to ready.
  const settled = lastData !== undefined && (lastData.fn.ready || lastData.fn.failed);
  const loaded = useLoad(
    (signal) =>
      loadFunction(project, name, signal).then((d) => {
        setLastData(d);
        return d;
      }),
    [project, name],
    { refreshMs: settled ? REFRESH_READY_MS : REFRESH_PENDING_MS },
  );
  const data = loaded.data;
  const fn = data?.fn;
  document.title = `${name} · Functions of ${project} · HKS console`;

  return html`<${Breadcrumbs}
      items=${[
        { label: project, href: hrefs.functions(project) },
        { label: 'Functions', href: hrefs.functions(project) },
        { label: name },
      ]}
    />
    <div class="title-row">
      <h1 tabindex="-1" ref=${heading}>${name}</h1>
      ${
        fn &&
        SOURCE_RUNTIMES[fn.runtime] &&
        !fn.ephemeral &&
        html`<a
          class="function-action-link"
          href=${`${hrefs.functionCreate(project)}?from=${encodeURIComponent(name)}`}
          >Edit code and redeploy</a
        >`
      }
    </div>
    <div class="notice" role="status" aria-live="polite">
      ${notice && html`<p>${notice}</p>`}
      ${
        query.deployed &&
        !notice &&
        fn &&
        html`<p>
          Version ${query.deployed} applied.
          ${fn.ready ? ` Ready at revision ${fn.latestReadyRevision}.` : fn.failed ? ' It failed to start: see the reason below.' : ' Waiting for its revision to become ready…'}
        </p>`
      }
    </div>
    <${ProblemMessage} error=${loaded.error} onRetry=${loaded.reload} />
    ${
      data === undefined
        ? loaded.loading && html`<${Loading} what="the function" />`
        : html`<${FunctionFacts} fn=${fn} now=${now} />
            <section class="function-section" aria-labelledby="revisions-heading">
              <h2 id="revisions-heading">Revisions</h2>
              <${Revisions} revisions=${data.revisions} now=${now} />
            </section>
            <section class="function-section" aria-labelledby="traffic-heading">
              <h2 id="traffic-heading">Traffic</h2>
              <p class="help small">
                Split the requests between revisions by percent (adding up to 100). A tag gives a
                target its own address, for trying a revision before it gets traffic.
              </p>
              <${FunctionTrafficEditor}
                key=${trafficKey(fn)}
                project=${project}
                fn=${fn}
                revisions=${data.revisions}
                onSaved=${(view) => {
                  setNotice(`Traffic split saved: ${trafficInWords(view.traffic)}.`);
                  loaded.reload();
                }}
              />
            </section>
            <section class="function-section" aria-labelledby="invoke-heading">
              <h2 id="invoke-heading">Invoke</h2>
              <${FunctionInvokePanel} project=${project} fn=${fn} />
            </section>
            <section class="function-section" aria-labelledby="schedules-heading">
              <h2 id="schedules-heading">Schedules</h2>
              <${FunctionSchedules} project=${project} name=${name} />
            </section>
            <section class="function-section" aria-labelledby="invocations-heading">
              <h2 id="invocations-heading">Invocations</h2>
              <p class="help small">
                Every call through the platform — invoke, execute-once, schedules and asynchronous
                invocations — newest first.
              </p>
              <${FunctionInvocations} project=${project} name=${name} />
            </section>
            <section class="function-section" aria-labelledby="usage-heading">
              <h2 id="usage-heading">Usage and cost</h2>
              <${UsagePanel} project=${project} function=${name} />
            </section>
            <section class="function-section" aria-labelledby="async-heading">
              <h2 id="async-heading">Asynchronous invocations</h2>
              <${FunctionAsyncInvocations} project=${project} name=${name} />
            </section>
            <section class="function-section" aria-labelledby="logs-heading">
              <h2 id="logs-heading">Logs</h2>
              <${FunctionLogs}
                project=${project}
                name=${name}
                revision=${fn.latestReadyRevision}
              />
            </section>`
    }`;
}

function FunctionFacts({ fn, now }) {
  return html`<dl class="facts function-facts">
    <div>
      <dt>Readiness</dt>
      <dd><${FunctionReadiness} fn=${fn} detail=${true} /></dd>
    </div>
    <div>
      <dt>URL</dt>
      <dd>${fn.url ? html`<code class="function-url">${fn.url}</code>` : html`<span class="muted">None yet</span>`}</dd>
    </div>
    <div>
      <dt>Runtime</dt>
      <dd>${fn.runtime}</dd>
    </div>
    <div>
      <dt>Latest revision</dt>
      <dd>
        ${fn.latestCreatedRevision ?? '—'}
        ${
          fn.latestReadyRevision &&
          fn.latestReadyRevision !== fn.latestCreatedRevision &&
          html`<span class="muted small"> (ready: ${fn.latestReadyRevision})</span>`
        }
      </dd>
    </div>
    <div>
      <dt>Timeout</dt>
      <dd>${fn.timeoutSeconds} s</dd>
    </div>
    <div>
      <dt>Created</dt>
      <dd><${TimeText} iso=${fn.createdAt} now=${now} /></dd>
    </div>
    ${
      fn.ephemeral &&
      html`<div>
        <dt>Temporary</dt>
        <dd>expires <${TimeText} iso=${fn.expiresAt} now=${now} absolute=${false} /></dd>
      </div>`
    }
  </dl>`;
}

function Revisions({ revisions, now }) {
  if (revisions.length === 0) return html`<${Empty}>No revisions yet.<//>`;
  return html`<table class="function-revisions responsive">
    <caption class="visually-hidden">
      Revisions, newest first
    </caption>
    <thead>
      <tr>
        <th scope="col">Revision</th>
        <th scope="col">Ready</th>
        <th scope="col">Traffic</th>
        <th scope="col">Tags</th>
        <th scope="col">Created</th>
      </tr>
    </thead>
    <tbody>
      ${[...revisions].reverse().map(
        (r) => html`<tr key=${r.name}>
          <th scope="row" data-label="Revision">${r.name}</th>
          <td data-label="Ready">
            ${r.ready ? html`<span class="badge function-ready">Ready</span>` : html`<span class="badge function-pending">Not ready</span> <span class="muted small">${r.reason ?? ''}</span>`}
          </td>
          <td data-label="Traffic">${r.percent}%</td>
          <td data-label="Tags">${r.tags.length ? r.tags.join(', ') : html`<span class="muted">—</span>`}</td>
          <td data-label="Created"><${TimeText} iso=${r.createdAt} now=${now} absolute=${false} /></td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}
