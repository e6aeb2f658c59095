// Create or edit a CronJob: its container (a StatelessApplication of the project as template,
// or an image; command, args and env), its schedule (the builder) and its job settings. The API
// checks the definition first (?dryRun=true) and its field errors are shown beside the fields
// they name; an edit is saved with If-Match, so a change made meanwhile is not overwritten.

import { html } from 'htm/preact';
import { useRef, useState } from 'preact/hooks';
import { getJson, projectPath, request, sendJson } from '../api.js';
import { hrefs } from '../links.js';
import {
  NUMBER_SETTINGS,
  definitionOf,
  formValuesOf,
  newFormValues,
} from '../cronjob-form-values.js';
import {
  BROWSER_TIME_ZONE,
  FieldError,
  ScheduleBuilder,
} from '../components/cronjob-schedule-builder.js';
import {
  Breadcrumbs,
  Loading,
  ProblemMessage,
  useFocusHeading,
  useLoad,
} from '../components/ui.js';

/** Where each field the API may name is in the form: its input's id. */
const FIELD_IDS = {
  'metadata.name': 'cj-name',
  'spec.template': 'cj-template',
  'spec.image': 'cj-image',
  'spec.command': 'cj-command',
  'spec.args': 'cj-args',
  'spec.env': 'cj-env-add',
  'spec.schedule': 'cj-schedule-schedule',
  'spec.timeZone': 'cj-schedule-time-zone',
  'spec.concurrencyPolicy': 'cj-concurrencyPolicy',
  'spec.restartPolicy': 'cj-restartPolicy',
  'spec.suspend': 'cj-suspend',
  ...Object.fromEntries(NUMBER_SETTINGS.map((s) => [`spec.${s.key}`, `cj-${s.key}`])),
};

/** The form's field an error path belongs to: itself or the nearest field it is inside. */
function fieldOf(path) {
  for (let p = path; p; p = p.replace(/(\.[^.[]*|\[[^\]]*\])$/, '')) {
    if (FIELD_IDS[p]) return p;
    if (!/[.[]/.test(p)) break;
  }
  return undefined;
}

/** The project's StatelessApplications, and the CronJob with its ETag when editing. */
async function loadForm(project, cronjob, signal) {
  const [list, current] = await Promise.all([
    getJson(projectPath(project, 'applications'), { signal }),
    cronjob === undefined
      ? undefined
      : request(projectPath(project, 'applications', cronjob), { signal }).then(async (res) => ({
          etag: res.headers.get('etag') ?? undefined,
          application: await res.json(),
        })),
  ]);
  if (current && current.application.kind !== 'CronJob') {
    throw new Error(`${cronjob} is a ${current.application.kind}, not a CronJob`);
  }
  return {
    templates: list.items.filter((a) => a.kind === 'StatelessApplication').map((a) => a.name),
    current,
  };
}

export function CronJobFormPage({ project, cronjob, query }) {
  const editing = cronjob !== undefined;
  const heading = useFocusHeading(`${project}/${cronjob ?? ''}`);
  const loaded = useLoad((signal) => loadForm(project, cronjob, signal), [project, cronjob]);
  const title = editing ? `Edit ${cronjob}` : 'New CronJob';
  document.title = `${title} · HKS console`;
  return html`<${Breadcrumbs}
      items=${[
        { label: project, href: hrefs.cronJobs(project) },
        { label: 'CronJobs', href: hrefs.cronJobs(project) },
        ...(editing ? [{ label: cronjob, href: hrefs.cronJob(project, cronjob) }] : []),
        { label: editing ? 'Edit' : 'New' },
      ]}
    />
    <h1 tabindex="-1" ref=${heading}>${title}</h1>
    <${ProblemMessage} error=${loaded.error} onRetry=${loaded.reload} />
    ${
      loaded.data === undefined
        ? loaded.loading && html`<${Loading} what="the form" />`
        : html`<${CronJobForm}
            project=${project}
            templates=${loaded.data.templates}
            current=${loaded.data.current}
            from=${query?.from}
          />`
    }`;
}

function CronJobForm({ project, templates, current, from }) {
  const base = current?.application.definition;
  const [values, setValues] = useState(() =>
    base ? formValuesOf(base) : newFormValues({ templates, timeZone: BROWSER_TIME_ZONE ?? '' }),
  );
  const [state, setState] = useState({
    busy: false,
    problem: undefined,
    errors: {},
    checked: undefined,
  });
  const summary = useRef(null);
  const editing = current !== undefined;

  const change = (key, value, path = `spec.${key}`) => {
    setValues((v) => ({ ...v, [key]: value }));
    // What the API said about a field no longer holds once it changes.
    setState((s) => (s.errors[path] ? { ...s, errors: { ...s.errors, [path]: undefined } } : s));
  };
  const bind = (key, path) => ({
    value: values[key],
    onInput: (e) => change(key, e.currentTarget.value, path),
  });
  const errorOf = (path) => state.errors[path];
  const aria = (path, help) => {
    const id = FIELD_IDS[path];
    const error = errorOf(path);
    return {
      id,
      'aria-invalid': error ? 'true' : 'false',
      'aria-describedby':
        [error ? `${id}-error` : '', help ? `${id}-help` : ''].join(' ').trim() || undefined,
    };
  };

  const submit = async (checkOnly) => {
    const definition = definitionOf(values, project, base);
    const path = editing
      ? projectPath(project, 'applications', base.metadata.name)
      : projectPath(project, 'applications');
    const method = editing ? 'PUT' : 'POST';
    setState({ busy: true, problem: undefined, errors: {}, checked: undefined });
    try {
      const dryRun = await sendJson(`${path}?dryRun=true`, method, definition);
      if (checkOnly) {
        const objects = dryRun.manifests.map((m) => `${m.kind}/${m.metadata?.name}`);
        setState({ busy: false, problem: undefined, errors: {}, checked: objects });
        return;
      }
      await sendJson(path, method, definition, {
        headers: editing && current.etag ? { 'if-match': current.etag } : {},
      });
      location.hash = hrefs.cronJob(project, definition.metadata.name);
    } catch (problem) {
      const errors = {};
      for (const e of problem.errors ?? []) {
        const field = fieldOf(e.path);
        if (field && !errors[field]) errors[field] = e.message;
      }
      setState({ busy: false, problem, errors, checked: undefined });
      // Once rendered: the summary is read first.
      setTimeout(() => summary.current?.focus(), 0);
    }
  };

  const scheduleErrors = { schedule: errorOf('spec.schedule'), timeZone: errorOf('spec.timeZone') };
  return html`<form
    class="cj-form"
    noValidate
    onSubmit=${(e) => {
      e.preventDefault();
      submit(false);
    }}
  >
    <${ErrorSummary} summaryRef=${summary} problem=${state.problem} open=${state.errors} />
    <div class="notice" role="status" aria-live="polite">
      ${
        state.checked &&
        html`<p>The API accepts this definition. Saving applies ${state.checked.join(', ')}.</p>`
      }
    </div>

    <section class="cj-section" aria-labelledby="cj-h-name">
      <h2 id="cj-h-name">Name</h2>
      ${
        editing
          ? html`<p><code>${values.name}</code> <span class="muted small">(a CronJob's name cannot change)</span></p>`
          : html`<div class="cj-field">
              <label for="cj-name">Name</label>
              <input ...${bind('name', 'metadata.name')} ...${aria('metadata.name', true)} required autocomplete="off" spellcheck="false" />
              <${FieldError} id="cj-name-error" message=${errorOf('metadata.name')} />
              <p id="cj-name-help" class="help small">Lower-case letters, digits and dashes, starting with a letter.</p>
            </div>`
      }
    </section>

    <section class="cj-section" aria-labelledby="cj-h-container">
      <h2 id="cj-h-container">Container</h2>
      <fieldset class="cj-choice">
        <legend>Run the container of</legend>
        <label>
          <input type="radio" name="cj-source" value="template" checked=${values.source === 'template'}
            disabled=${templates.length === 0 && values.source !== 'template'}
            onChange=${() => change('source', 'template', 'spec.template')} />
          an application of the project (template)
        </label>
        <label>
          <input type="radio" name="cj-source" value="image" checked=${values.source === 'image'}
            onChange=${() => change('source', 'image', 'spec.image')} />
          an image
        </label>
      </fieldset>
      ${
        values.source === 'template'
          ? html`<div class="cj-field">
              <label for="cj-template">Application</label>
              <select value=${values.template} ...${aria('spec.template', true)} onChange=${(e) => change('template', e.currentTarget.value)}>
                ${templates.includes(values.template) ? '' : html`<option value=${values.template}>${values.template || 'Choose…'}</option>`}
                ${templates.map((t) => html`<option key=${t} value=${t}>${t}</option>`)}
              </select>
              <${FieldError} id="cj-template-error" message=${errorOf('spec.template')} />
              <p id="cj-template-help" class="help small">
                ${templates.length ? 'Its image, command, env and resources are copied; what you set below replaces them.' : 'The project has no StatelessApplication yet.'}
              </p>
            </div>`
          : html`<div class="cj-field">
              <label for="cj-image">Image</label>
              <input ...${bind('image', 'spec.image')} ...${aria('spec.image', true)} autocomplete="off" spellcheck="false" placeholder="registry.example.com/team/report:1.2" />
              <${FieldError} id="cj-image-error" message=${errorOf('spec.image')} />
              <p id="cj-image-help" class="help small">A full reference with a tag or digest.</p>
            </div>`
      }
      <div class="cj-grid">
        ${['command', 'args'].map(
          (key) => html`<div class="cj-field" key=${key}>
            <label for=${`cj-${key}`}>${key === 'command' ? 'Command' : 'Arguments'}</label>
            <textarea ...${bind(key, `spec.${key}`)} ...${aria(`spec.${key}`, true)} rows="3" spellcheck="false"></textarea>
            <${FieldError} id=${`cj-${key}-error`} message=${errorOf(`spec.${key}`)} />
            <p id=${`cj-${key}-help`} class="help small">
              One item per line (or a JSON array); empty: the ${key === 'command' ? "image's ENTRYPOINT" : "image's CMD"}${values.source === 'template' ? " or the template's" : ''}.
            </p>
          </div>`,
        )}
      </div>
      <${EnvEditor}
        env=${values.env}
        error=${errorOf('spec.env')}
        onChange=${(env) => change('env', env)}
      />
    </section>

    <section class="cj-section" aria-labelledby="cj-h-schedule">
      <h2 id="cj-h-schedule">Schedule</h2>
      <${ScheduleBuilder}
        id="cj-schedule"
        schedule=${values.schedule}
        timeZone=${values.timeZone}
        errors=${scheduleErrors}
        from=${from}
        onScheduleChange=${(v) => change('schedule', v)}
        onTimeZoneChange=${(v) => change('timeZone', v)}
      />
      <label class="cj-check">
        <input type="checkbox" id="cj-suspend" checked=${values.suspend}
          onChange=${(e) => change('suspend', e.currentTarget.checked)} />
        Suspended: create it without scheduling runs (Run now still works)
      </label>
    </section>

    <section class="cj-section" aria-labelledby="cj-h-job">
      <h2 id="cj-h-job">Job settings</h2>
      <div class="cj-grid">
        <${ChoiceField} path="spec.concurrencyPolicy" label="When a run is still going" aria=${aria} error=${errorOf('spec.concurrencyPolicy')}
          value=${values.concurrencyPolicy} onChange=${(v) => change('concurrencyPolicy', v)}
          options=${[
            ['', 'Default: skip the new run (Forbid)'],
            ['Forbid', 'Skip the new run (Forbid)'],
            ['Allow', 'Run both (Allow)'],
            ['Replace', 'Stop the old run (Replace)'],
          ]} />
        <${ChoiceField} path="spec.restartPolicy" label="Restart a failed container" aria=${aria} error=${errorOf('spec.restartPolicy')}
          value=${values.restartPolicy} onChange=${(v) => change('restartPolicy', v)}
          options=${[
            ['', 'Default: in a new pod (Never)'],
            ['Never', 'In a new pod (Never)'],
            ['OnFailure', 'In the same pod (OnFailure)'],
          ]} />
        ${NUMBER_SETTINGS.map(
          (s) => html`<div class="cj-field" key=${s.key}>
            <label for=${`cj-${s.key}`}>${s.label}</label>
            <input type="text" inputmode="numeric" ...${bind(s.key)} ...${aria(`spec.${s.key}`, true)} autocomplete="off" />
            <${FieldError} id=${`cj-${s.key}-error`} message=${errorOf(`spec.${s.key}`)} />
            <p id=${`cj-${s.key}-help`} class="help small">Empty: ${s.default}</p>
          </div>`,
        )}
      </div>
    </section>

    <div class="cj-actions">
      <button type="submit" disabled=${state.busy}>${state.busy ? 'Saving…' : editing ? 'Save' : 'Create'}</button>
      <button type="button" class="secondary" disabled=${state.busy} onClick=${() => submit(true)}>Check with the API</button>
      <a href=${editing ? hrefs.cronJob(project, base.metadata.name) : hrefs.cronJobs(project)}>Cancel</a>
    </div>
  </form>`;
}

/** A select of a few settings, the empty choice the platform's default. */
function ChoiceField({ path, label, options, value, onChange, aria, error }) {
  const props = aria(path, false);
  return html`<div class="cj-field">
    <label for=${props.id}>${label}</label>
    <select ...${props} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
      ${options.map(([v, text]) => html`<option key=${v} value=${v}>${text}</option>`)}
    </select>
    <${FieldError} id=${`${props.id}-error`} message=${error} />
  </div>`;
}

/** Plain environment variables as name/value rows. */
function EnvEditor({ env, error, onChange }) {
  const set = (i, key, value) =>
    onChange(env.map((e, j) => (j === i ? { ...e, [key]: value } : e)));
  return html`<fieldset class="cj-env" aria-describedby=${error ? 'cj-env-add-error' : undefined}>
    <legend>Environment variables</legend>
    ${env.length === 0 && html`<p class="muted small">None${' '}set here (a template's own are kept).</p>`}
    ${env.map(
      (e, i) => html`<div class="cj-env-row" key=${i}>
        <label class="visually-hidden" for=${`cj-env-name-${i}`}>Name of variable ${i + 1}</label>
        <input id=${`cj-env-name-${i}`} value=${e.name} placeholder="NAME" autocomplete="off" spellcheck="false"
          onInput=${(ev) => set(i, 'name', ev.currentTarget.value)} />
        <label class="visually-hidden" for=${`cj-env-value-${i}`}>Value of variable ${i + 1}</label>
        <input id=${`cj-env-value-${i}`} value=${e.value} placeholder="value" autocomplete="off" spellcheck="false"
          onInput=${(ev) => set(i, 'value', ev.currentTarget.value)} />
        <button type="button" class="secondary" onClick=${() => onChange(env.filter((_, j) => j !== i))}
          aria-label=${`Remove variable ${e.name || i + 1}`}>Remove</button>
      </div>`,
    )}
    <button type="button" class="secondary" id="cj-env-add" onClick=${() => onChange([...env, { name: '', value: '' }])}>
      Add a variable
    </button>
    <${FieldError} id="cj-env-add-error" message=${error} />
  </fieldset>`;
}

/**
 * The API's refusal above the form: its title and detail, each field error linked to its
 * field (focus moves here after a failed save, so it is read first).
 */
function ErrorSummary({ problem, summaryRef, open }) {
  if (!problem) return null;
  // A field's error leaves the summary once the field changes, the summary with the last one.
  const errors = (problem.errors ?? []).filter((e) => {
    const field = fieldOf(e.path);
    return !field || open[field];
  });
  if (errors.length === 0 && problem.errors?.length) return null;
  return html`<div class="problem cj-summary" role="alert" tabindex="-1" ref=${summaryRef}>
    <p class="problem-title">
      ${problem.title ?? 'Something went wrong'}${problem.status ? html` <span class="problem-status">(${problem.status})</span>` : ''}
    </p>
    ${
      errors.length
        ? html`<ul>
            ${errors.map((e) => {
              const field = fieldOf(e.path);
              const text = `${e.path}: ${e.message}`;
              return html`<li key=${e.path + e.message}>
                ${field ? html`<a href=${`#${FIELD_IDS[field]}`} onClick=${(ev) => focusField(ev, FIELD_IDS[field])}>${text}</a>` : text}
              </li>`;
            })}
          </ul>`
        : html`<p class="problem-detail">${problem.title ? problem.detail : String(problem.message ?? problem)}</p>`
    }
  </div>`;
}

/** The routes live in the hash: focus the field instead of following `#id`. */
function focusField(event, id) {
  event.preventDefault();
  document.getElementById(id)?.focus();
}
