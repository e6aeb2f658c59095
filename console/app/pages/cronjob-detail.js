// A CronJob: its schedule as written and in words, zone, suspension, next runs and last runs,
// its container and job settings; Run now, Edit, Suspend/Resume, Change schedule (the builder,
// PATCH .../schedule) and Delete (with or without the execution history).

import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import cronstrue from '../schedule-words.js';
import { getJson, projectPath, sendJson } from '../api.js';
import { scheduleInWords } from '../format.js';
import { hrefs } from '../links.js';
import { NUMBER_SETTINGS } from '../cronjob-form-values.js';
import { RunNow } from '../components/run-now.js';
import { UsagePanel } from '../components/usage-panel.js';
import { ScheduleBuilder } from '../components/cronjob-schedule-builder.js';
import { ConfirmDialog } from '../components/cronjob-confirm-dialog.js';
import {
  Breadcrumbs,
  Loading,
  ProblemMessage,
  RunStrip,
  TimeText,
  useFocusHeading,
  useLoad,
  useNow,
} from '../components/ui.js';

/** Runs shown in the strip of last runs. */
const STRIP_RUNS = 20;

async function loadCronJob(project, cronjob, signal) {
  const [view, runs] = await Promise.all([
    getJson(projectPath(project, 'cronjobs', cronjob), { signal }),
    getJson(`${projectPath(project, 'cronjobs', cronjob, 'executions')}?limit=${STRIP_RUNS}`, {
      signal,
    }),
  ]);
  return { view, runs: runs.items };
}

export function CronJobPage({ project, cronjob }) {
  const heading = useFocusHeading(`${project}/${cronjob}`);
  const now = useNow(5000);
  const loaded = useLoad((signal) => loadCronJob(project, cronjob, signal), [project, cronjob], {
    refreshMs: 5000,
  });
  const [notice, setNotice] = useState(undefined);
  document.title = `${cronjob} · CronJobs of ${project} · HKS console`;
  const view = loaded.data?.view;
  return html`<${Breadcrumbs}
      items=${[
        { label: project, href: hrefs.cronJobs(project) },
        { label: 'CronJobs', href: hrefs.cronJobs(project) },
        { label: cronjob },
      ]}
    />
    <div class="title-row cj-title">
      <h1 tabindex="-1" ref=${heading}>${cronjob}</h1>
      ${view && html`<${StateBadge} suspended=${view.status.suspended} />`}
    </div>
    <div class="notice" role="status" aria-live="polite">${notice && html`<p>${notice}</p>`}</div>
    <${ProblemMessage} error=${loaded.error} onRetry=${loaded.reload} />
    ${
      view === undefined
        ? loaded.loading && html`<${Loading} what=${`CronJob ${cronjob}`} />`
        : html`<${CronJobDetails}
            project=${project}
            view=${view}
            runs=${loaded.data.runs}
            now=${now}
            onChanged=${(message) => {
              setNotice(message);
              loaded.reload();
            }}
          />`
    }`;
}

function StateBadge({ suspended }) {
  return suspended
    ? html`<span class="badge suspended">Suspended</span>`
    : html`<span class="badge active">Active</span>`;
}

function CronJobDetails({ project, view, runs, now, onChanged }) {
  const { definition, status, timeZone } = view;
  const spec = definition.spec;
  const name = view.name;
  const [changing, setChanging] = useState(false);
  const [action, setAction] = useState({ busy: false, error: undefined });
  const words = scheduleInWords(spec.schedule, cronstrue.toString);

  const toggleSuspend = async () => {
    const verb = status.suspended ? 'resume' : 'suspend';
    setAction({ busy: true, error: undefined });
    try {
      await sendJson(projectPath(project, 'cronjobs', name, verb), 'POST');
      setAction({ busy: false, error: undefined });
      onChanged(
        verb === 'suspend'
          ? `${name} is suspended: no new runs are scheduled (Run now still works).`
          : `${name} is resumed: runs are scheduled again.`,
      );
    } catch (error) {
      setAction({ busy: false, error });
    }
  };

  return html`<div class="cj-actions cj-toolbar">
      <${RunNow}
        project=${project}
        cronjob=${name}
        onStarted=${(result) => onChanged(`Started Job ${result.job}.`)}
      />
      <a class="cj-button" href=${hrefs.cronJobEdit(project, name)}>Edit</a>
      <button type="button" class="secondary" onClick=${toggleSuspend} disabled=${action.busy}>
        ${status.suspended ? 'Resume' : 'Suspend'}
      </button>
      <button
        type="button"
        class="secondary"
        aria-expanded=${changing ? 'true' : 'false'}
        aria-controls="cj-change"
        onClick=${() => setChanging(!changing)}
      >
        Change schedule
      </button>
      <${DeleteCronJob} project=${project} name=${name} runs=${runs.length} />
    </div>
    <${ProblemMessage} error=${action.error} />
    <div id="cj-change">
      ${
        changing &&
        html`<${ScheduleChange}
          project=${project}
          name=${name}
          spec=${spec}
          onDone=${(message) => {
            setChanging(false);
            if (message) onChanged(message);
          }}
        />`
      }
    </div>

    <dl class="facts cj-facts">
      <div>
        <dt>Schedule</dt>
        <dd>
          <code>${spec.schedule}</code>
          ${words && html`<span class="words"> ${words}</span>`}
        </dd>
      </div>
      <div>
        <dt>Time zone</dt>
        <dd>${timeZone}${spec.timeZone ? '' : html` <span class="muted small">(the default)</span>`}</dd>
      </div>
      <div>
        <dt>Container</dt>
        <dd>
          ${spec.template ? html`from application <code>${spec.template}</code>` : html`image <code>${spec.image}</code>`}
        </dd>
      </div>
      <div>
        <dt>Last scheduled</dt>
        <dd><${TimeText} iso=${status.lastScheduleTime} now=${now} timeZone=${timeZone} /></dd>
      </div>
      <div>
        <dt>Running now</dt>
        <dd>${status.activeJobs.length ? status.activeJobs.join(', ') : html`<span class="muted">None</span>`}</dd>
      </div>
    </dl>
    ${!status.exists && html`<p class="truncated-note">The CronJob object is missing from the cluster: save its definition again to apply it.</p>`}

    <div class="cj-columns">
      <section class="cj-section" aria-labelledby="cj-h-next">
        <h2 id="cj-h-next">Next runs</h2>
        ${
          status.suspended
            ? html`<p class="muted">None while suspended.</p>`
            : html`<ol class="cj-run-list">
                ${view.nextRuns.map((iso) => html`<li key=${iso}><${TimeText} iso=${iso} now=${now} timeZone=${timeZone} /></li>`)}
              </ol>`
        }
      </section>
      <section class="cj-section" aria-labelledby="cj-h-last">
        <h2 id="cj-h-last">Last runs</h2>
        <${RunStrip}
          executions=${runs}
          now=${now}
          hrefOf=${(e) => hrefs.logs(project, name, e.id)}
        />
        <p><a href=${hrefs.executions(project, name)}>All executions of ${name}</a></p>
      </section>
    </div>

    <section class="cj-section" aria-labelledby="cj-h-usage">
      <h2 id="cj-h-usage">Usage and cost</h2>
      <${UsagePanel} project=${project} cronjob=${name} />
    </section>

    <section class="cj-section" aria-labelledby="cj-h-settings">
      <h2 id="cj-h-settings">Job settings</h2>
      <dl class="facts">
        <div><dt>When a run is still going</dt><dd>${spec.concurrencyPolicy ?? 'Forbid (default)'}</dd></div>
        <div><dt>Restart policy</dt><dd>${spec.restartPolicy ?? 'Never (default)'}</dd></div>
        ${NUMBER_SETTINGS.map(
          (s) =>
            html`<div key=${s.key}><dt>${s.label}</dt><dd>${spec[s.key] ?? `${s.default} (default)`}</dd></div>`,
        )}
        ${spec.command && html`<div><dt>Command</dt><dd><code>${JSON.stringify(spec.command)}</code></dd></div>`}
        ${spec.args && html`<div><dt>Arguments</dt><dd><code>${JSON.stringify(spec.args)}</code></dd></div>`}
        ${spec.env && html`<div><dt>Environment</dt><dd><code>${Object.keys(spec.env).join(', ')}</code></dd></div>`}
      </dl>
    </section>`;
}

/** The schedule and zone changed in place: the builder, saved with PATCH .../schedule. */
function ScheduleChange({ project, name, spec, onDone }) {
  const [schedule, setSchedule] = useState(spec.schedule);
  const [timeZone, setTimeZone] = useState(spec.timeZone ?? '');
  const [state, setState] = useState({ busy: false, problem: undefined });
  const errors = {};
  for (const e of state.problem?.errors ?? []) {
    const field = e.path.replace(/^spec\./, '');
    if (field === 'schedule' || field === 'timeZone') errors[field] ??= e.message;
  }
  const save = async (event) => {
    event.preventDefault();
    setState({ busy: true, problem: undefined });
    try {
      await sendJson(projectPath(project, 'cronjobs', name, 'schedule'), 'PATCH', {
        schedule,
        // Empty: no zone, so the CronJob default (UTC).
        timeZone: timeZone === '' ? null : timeZone,
      });
      onDone(`The schedule of ${name} is now ${schedule}${timeZone ? ` in ${timeZone}` : ''}.`);
    } catch (problem) {
      setState({ busy: false, problem });
    }
  };
  const fieldErrors = Object.keys(errors).length > 0;
  return html`<form class="cj-section cj-change" onSubmit=${save} noValidate aria-labelledby="cj-h-change">
    <h2 id="cj-h-change">Change the schedule</h2>
    ${state.problem && !fieldErrors && html`<${ProblemMessage} error=${state.problem} />`}
    <${ScheduleBuilder}
      id="cj-change-builder"
      schedule=${schedule}
      timeZone=${timeZone}
      errors=${errors}
      onScheduleChange=${(v) => {
        setSchedule(v);
        setState((s) => ({ ...s, problem: undefined }));
      }}
      onTimeZoneChange=${(v) => {
        setTimeZone(v);
        setState((s) => ({ ...s, problem: undefined }));
      }}
    />
    <div class="cj-actions">
      <button type="submit" disabled=${state.busy}>${state.busy ? 'Saving…' : 'Save the schedule'}</button>
      <button type="button" class="secondary" onClick=${() => onDone(undefined)} disabled=${state.busy}>Cancel</button>
    </div>
  </form>`;
}

/** Delete, confirmed in a dialog that offers to delete the execution history too. */
function DeleteCronJob({ project, name, runs }) {
  const [state, setState] = useState({ open: false, purge: false, busy: false, error: undefined });
  const remove = async () => {
    setState((s) => ({ ...s, busy: true, error: undefined }));
    try {
      const query = state.purge ? '?purgeHistory=true' : '';
      await sendJson(`${projectPath(project, 'applications', name)}${query}`, 'DELETE');
      location.hash = hrefs.cronJobs(project);
    } catch (error) {
      setState((s) => ({ ...s, busy: false, error }));
    }
  };
  return html`<button
      type="button"
      class="cj-danger"
      onClick=${() => setState({ open: true, purge: false, busy: false, error: undefined })}
    >
      Delete
    </button>
    <${ConfirmDialog}
      open=${state.open}
      title=${`Delete CronJob ${name}?`}
      confirmLabel="Delete"
      busy=${state.busy}
      error=${state.error}
      onConfirm=${remove}
      onCancel=${() => setState((s) => ({ ...s, open: false }))}
    >
      <p>The CronJob, its running Jobs and their pods are deleted.</p>
      <label class="cj-check">
        <input
          type="checkbox"
          checked=${state.purge}
          onChange=${(e) => setState((s) => ({ ...s, purge: e.currentTarget.checked }))}
        />
        Also delete the execution history${runs ? ` (${runs}${runs === STRIP_RUNS ? ' or more' : ''} runs and their logs)` : ''}
      </label>
      <p class="help small">Kept otherwise: the executions stay readable through the API.</p>
    </${ConfirmDialog}>`;
}
