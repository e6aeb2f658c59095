// Deploys a source function from the browser: name, runtime, handler and code, sent as a
// Function definition (POST .../applications); `?from=<name>` edits a deployed one (its stored
// definition, PUT with If-Match). The API's syntax errors are marked on their line.

import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiProblem, projectPath, request, sendJson } from '../api.js';
import { hrefs } from '../links.js';
import {
  Breadcrumbs,
  Loading,
  ProblemMessage,
  useFocusHeading,
  useLoad,
} from '../components/ui.js';
import { FunctionCodeEditor, goToLine } from '../components/function-code-editor.js';
import {
  API_VERSION,
  FUNCTION_NAME,
  SOURCE_RUNTIMES,
  errorsByPath,
  sourceErrorLine,
  splitSourceMessage,
} from '../components/function-format.js';

const FIELDS = ['metadata.name', 'spec.runtime', 'spec.handler', 'spec.code'];

/** The stored definition of the function to edit, and its version for If-Match. */
async function loadDefinition(project, name, signal) {
  const res = await request(projectPath(project, 'applications', name), { signal });
  const view = await res.json();
  if (view.kind !== 'Function')
    throw new ApiProblem(
      409,
      'Not a function',
      `Application ${name} in project ${project} is a ${view.kind}, not a Function`,
    );
  return { definition: view.definition, etag: res.headers.get('etag') ?? undefined };
}

export function FunctionDeployPage({ project, query = {} }) {
  const from = query.from;
  const heading = useFocusHeading(from ?? 'new');
  const stored = useLoad(
    (signal) =>
      from === undefined ? Promise.resolve(undefined) : loadDefinition(project, from, signal),
    [project, from],
  );
  document.title = `${from ? `Edit ${from}` : 'Deploy a function'} · HKS console`;
  return html`<${Breadcrumbs}
      items=${[
        { label: project, href: hrefs.functions(project) },
        { label: 'Functions', href: hrefs.functions(project) },
        ...(from ? [{ label: from, href: hrefs.function(project, from) }] : []),
        { label: from ? 'Edit code' : 'Deploy' },
      ]}
    />
    <h1 tabindex="-1" ref=${heading}>
      ${from ? html`Edit and redeploy <code>${from}</code>` : 'Deploy a function'}
    </h1>
    <${ProblemMessage} error=${stored.error} onRetry=${stored.reload} />
    ${
      stored.loading && stored.data === undefined
        ? html`<${Loading} what="the function's definition" />`
        : !stored.error &&
          html`<${DeployForm} key=${from ?? ''} project=${project} stored=${stored.data} />`
    }`;
}

/** The form's starting values: the stored definition's, or a first handler. */
function initialValues(stored) {
  const spec = stored?.definition.spec;
  if (spec && SOURCE_RUNTIMES[spec.runtime] && spec.code !== undefined)
    return {
      name: stored.definition.metadata.name,
      runtime: spec.runtime,
      handler: spec.handler ?? SOURCE_RUNTIMES[spec.runtime].handler,
      code: spec.code,
    };
  return {
    name: '',
    runtime: 'python3.12',
    handler: SOURCE_RUNTIMES['python3.12'].handler,
    code: SOURCE_RUNTIMES['python3.12'].starter,
  };
}

function DeployForm({ project, stored }) {
  const editing = stored !== undefined;
  const spec = stored?.definition.spec;
  const [values, setValues] = useState(() => initialValues(stored));
  const [errors, setErrors] = useState({});
  const [problem, setProblem] = useState(undefined);
  const [sending, setSending] = useState(false);
  const editor = useRef(null);
  const form = useRef(null);
  const [focusFirst, setFocusFirst] = useState(0);

  // After a refused deploy, the first field in error takes the focus (its error is read with it).
  useEffect(() => {
    if (focusFirst) form.current?.querySelector('[aria-invalid="true"]')?.focus();
  }, [focusFirst]);

  if (editing && !(spec && SOURCE_RUNTIMES[spec.runtime] && spec.code !== undefined))
    return html`<p class="state empty">
      The source of ${stored.definition.metadata.name} is not inline code (its definition gives
      ${spec?.runtime === 'image' ? 'an image' : 'files or a source folder'}): change it through its
      definition and the API (PUT /api/v1/projects/${project}/applications/${stored.definition.metadata.name}).
    </p>`;

  /** Changing a field clears the errors given for it (by the API's path). */
  const clearError = (path) => setErrors(({ [path]: _, ...rest }) => rest);
  const update = (key, path) => (value) => {
    setValues((v) => ({ ...v, [key]: value }));
    clearError(path);
  };
  const setRuntime = (runtime) => {
    clearError('spec.runtime');
    setValues((v) => {
      const before = SOURCE_RUNTIMES[v.runtime];
      const after = SOURCE_RUNTIMES[runtime];
      // What the user has not changed follows the runtime.
      return {
        ...v,
        runtime,
        handler: v.handler === before.handler ? after.handler : v.handler,
        code: v.code === before.starter ? after.starter : v.code,
      };
    });
  };

  const submit = async (event) => {
    event.preventDefault();
    setProblem(undefined);
    const local = checkLocally(values);
    setErrors(local);
    if (Object.keys(local).length > 0) {
      setFocusFirst((n) => n + 1);
      return;
    }
    const definition = {
      apiVersion: API_VERSION,
      kind: 'Function',
      metadata: { ...(stored?.definition.metadata ?? {}), name: values.name, project },
      spec: {
        // An edit keeps what the form does not show (env, scaling, timeout...).
        ...(spec ?? {}),
        runtime: values.runtime,
        handler: values.handler.trim() || undefined,
        code: values.code,
      },
    };
    setSending(true);
    try {
      const result = editing
        ? await sendJson(projectPath(project, 'applications', values.name), 'PUT', definition, {
            headers: stored.etag ? { 'if-match': stored.etag } : {},
          })
        : await sendJson(projectPath(project, 'applications'), 'POST', definition);
      location.hash = `${hrefs.function(project, values.name)}?deployed=${result.version}`;
    } catch (error) {
      setSending(false);
      const byPath = errorsByPath(error?.errors ?? []);
      setErrors(Object.fromEntries(FIELDS.filter((f) => byPath[f]).map((f) => [f, byPath[f]])));
      // Errors of other fields stay in the problem's detail.
      setProblem(error);
      setFocusFirst((n) => n + 1);
    }
  };

  const fieldError = (path) => errors[path];
  const codeErrors = fieldError('spec.code') ?? [];
  const errorLine = codeErrors.map(sourceErrorLine).find((l) => l !== undefined);
  const runtime = SOURCE_RUNTIMES[values.runtime];

  return html`<form class="function-form function-deploy" ref=${form} onSubmit=${submit} noValidate>
    <${ProblemMessage} error=${problem} />
    ${
      problem?.status === 409 &&
      !editing &&
      html`<p>
        <a href=${hrefs.function(project, values.name)}>Open ${values.name}</a> or
        <a href=${`${hrefs.functionCreate(project)}?from=${encodeURIComponent(values.name)}`}
          >edit its code</a
        >.
      </p>`
    }
    <div class="function-fields">
      <div class="function-field">
        <label for="function-name">Name</label>
        <input
          id="function-name"
          value=${values.name}
          onInput=${(e) => update('name', 'metadata.name')(e.currentTarget.value)}
          readOnly=${editing}
          required
          autocomplete="off"
          spellcheck="false"
          aria-invalid=${fieldError('metadata.name') ? 'true' : undefined}
          aria-describedby=${`function-name-help${fieldError('metadata.name') ? ' function-name-error' : ''}`}
        />
        <p id="function-name-help" class="help small">
          ${editing ? 'A new version of this function.' : 'Lower-case letters, digits and dashes, starting with a letter.'}
        </p>
        <${FieldErrors} id="function-name-error" errors=${fieldError('metadata.name')} />
      </div>
      <div class="function-field">
        <label for="function-runtime">Runtime</label>
        <select
          id="function-runtime"
          value=${values.runtime}
          onChange=${(e) => setRuntime(e.currentTarget.value)}
          aria-invalid=${fieldError('spec.runtime') ? 'true' : undefined}
          aria-describedby=${fieldError('spec.runtime') ? 'function-runtime-error' : undefined}
        >
          ${Object.entries(SOURCE_RUNTIMES).map(
            ([value, r]) =>
              html`<option key=${value} value=${value}>${r.label} (${value})</option>`,
          )}
        </select>
        <${FieldErrors} id="function-runtime-error" errors=${fieldError('spec.runtime')} />
      </div>
      <div class="function-field">
        <label for="function-handler">Handler</label>
        <input
          id="function-handler"
          value=${values.handler}
          onInput=${(e) => update('handler', 'spec.handler')(e.currentTarget.value)}
          autocomplete="off"
          spellcheck="false"
          aria-invalid=${fieldError('spec.handler') ? 'true' : undefined}
          aria-describedby=${`function-handler-help${fieldError('spec.handler') ? ' function-handler-error' : ''}`}
        />
        <p id="function-handler-help" class="help small">
          ${values.runtime === 'python3.12' ? 'module.function' : 'file.export'}: the code below is
          saved as the handler's module. Default ${runtime.handler}.
        </p>
        <${FieldErrors} id="function-handler-error" errors=${fieldError('spec.handler')} />
      </div>
    </div>
    <div class="function-field">
      <label for="function-code">Code</label>
      <p id="function-code-help" class="help small">
        Tab indents; press Esc, then Tab, to leave the editor.
      </p>
      <${FunctionCodeEditor}
        id="function-code"
        value=${values.code}
        onInput=${update('code', 'spec.code')}
        errorLine=${errorLine}
        indent=${values.runtime === 'python3.12' ? 4 : 2}
        editorRef=${editor}
        describedBy=${`function-code-help${codeErrors.length ? ' function-code-error' : ''}`}
      />
      ${
        codeErrors.length > 0 &&
        html`<div id="function-code-error" class="function-code-error">
          ${codeErrors.map((e, i) => {
            const line = sourceErrorLine(e);
            const { summary, excerpt } = splitSourceMessage(e.message);
            return html`<div key=${i} class="function-code-error-item">
              <p>
                ${line !== undefined && html`<strong>Line ${line}: </strong>`}${summary}
              </p>
              ${excerpt && html`<pre tabindex="0" aria-label=${`Excerpt of line ${line ?? ''}`.trim()}>${excerpt}</pre>`}
              ${
                line !== undefined &&
                html`<button
                  type="button"
                  class="secondary"
                  onClick=${() => editor.current && goToLine(editor.current, line)}
                >
                  Go to line ${line}
                </button>`
              }
            </div>`;
          })}
        </div>`
      }
    </div>
    <div class="toolbar">
      <button type="submit" disabled=${sending}>
        ${sending ? 'Deploying…' : editing ? 'Redeploy' : 'Deploy'}
      </button>
      <a href=${editing ? hrefs.function(project, values.name) : hrefs.functions(project)}>Cancel</a>
      <span role="status" class="muted">${sending ? 'Checking and applying the definition…' : ''}</span>
    </div>
  </form>`;
}

/** What the page refuses before sending, keyed by the API's paths. */
function checkLocally(values) {
  const errors = {};
  if (!FUNCTION_NAME.test(values.name))
    errors['metadata.name'] = [
      {
        message:
          values.name === ''
            ? 'missing, expected a name such as greet'
            : `given ${JSON.stringify(values.name)}, expected lower-case letters, digits and dashes, starting with a letter (at most 63)`,
      },
    ];
  if (values.code.trim() === '')
    errors['spec.code'] = [{ message: 'empty, expected the source of the handler' }];
  return errors;
}

/** A field's errors, tied to it by `id` (its aria-describedby). */
function FieldErrors({ id, errors }) {
  if (!errors?.length) return null;
  return html`<p id=${id} class="function-field-error">
    ${errors.map((e) => e.message).join('; ')}
  </p>`;
}
