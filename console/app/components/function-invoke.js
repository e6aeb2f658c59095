// The invoke panel of a function: a JSON or text body (optionally to a tagged revision) sent
// through the API (POST .../invoke, asking for the invocation's own logs with `X-Hks-Log:
// tail`); the answer as it came — status, headers, body — and what the code wrote while
// handling it (the `X-Hks-Log-Result` header, decoded here).

import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { projectPath, request } from '../api.js';
import { formatDuration } from '../format.js';
import { ProblemMessage } from './ui.js';
import { decodeLogTail, jsonProblem, readableBody } from './function-format.js';

/** The API and the SDKs read the invocation's logs through these (runtimes/log-records.ts). */
const LOG_TAIL_HEADER = 'x-hks-log';
const LOG_RESULT_HEADER = 'x-hks-log-result';

/** Response headers not worth a row: the transport's own. */
const TRANSPORT_HEADERS = new Set(['connection', 'keep-alive', 'date', 'transfer-encoding']);

/**
 * @param {object} props
 * @param {string} props.project
 * @param {{name: string, ready: boolean, traffic: {tag?: string}[]}} props.fn
 */
export function FunctionInvokePanel({ project, fn }) {
  const [kind, setKind] = useState('json');
  const [body, setBody] = useState('{"name": "Ada"}');
  const [tag, setTag] = useState('');
  const [bodyError, setBodyError] = useState(undefined);
  const [state, setState] = useState({ sending: false });
  const controller = useRef(undefined);
  const bodyField = useRef(null);
  const tags = fn.traffic.flatMap((t) => (t.tag ? [t.tag] : []));
  useEffect(() => () => controller.current?.abort(), []);

  const submit = async (event) => {
    event.preventDefault();
    const problem = kind === 'json' ? jsonProblem(body) : undefined;
    setBodyError(problem);
    if (problem) {
      bodyField.current?.focus();
      return;
    }
    controller.current?.abort();
    controller.current = new AbortController();
    setState({ sending: true });
    const started = Date.now();
    try {
      const res = await request(
        `${projectPath(project, 'functions', fn.name, 'invoke')}${tag ? `?tag=${encodeURIComponent(tag)}` : ''}`,
        {
          method: 'POST',
          text: body,
          headers: {
            'content-type': kind === 'json' ? 'application/json' : 'text/plain; charset=utf-8',
            accept: '*/*',
            [LOG_TAIL_HEADER]: 'tail',
          },
          anyStatus: true,
          signal: controller.current.signal,
        },
      );
      const text = await res.text();
      setState({ sending: false, result: resultOf(res, text, Date.now() - started) });
    } catch (error) {
      if (error?.name === 'AbortError') return;
      setState({ sending: false, error });
    }
  };

  return html`<form class="function-form function-invoke" onSubmit=${submit} noValidate>
    <div class="function-fields">
      <fieldset class="function-body-kind">
        <legend>Body</legend>
        ${[
          ['json', 'JSON'],
          ['text', 'Text'],
        ].map(
          ([value, label]) => html`<label key=${value}>
            <input
              type="radio"
              name="invoke-kind"
              value=${value}
              checked=${kind === value}
              onChange=${() => {
                setKind(value);
                setBodyError(undefined);
              }}
            />
            ${label}
          </label>`,
        )}
      </fieldset>
      ${
        tags.length > 0 &&
        html`<div class="function-field">
          <label for="invoke-tag">Send to</label>
          <select id="invoke-tag" value=${tag} onChange=${(e) => setTag(e.currentTarget.value)}>
            <option value="">The traffic split</option>
            ${tags.map((t) => html`<option key=${t} value=${t}>Tag ${t}</option>`)}
          </select>
        </div>`
      }
    </div>
    <div class="function-field">
      <label for="invoke-body">Request body</label>
      <textarea
        id="invoke-body"
        ref=${bodyField}
        class="function-invoke-body"
        rows="5"
        spellcheck="false"
        value=${body}
        onInput=${(e) => {
          setBody(e.currentTarget.value);
          setBodyError(undefined);
        }}
        aria-invalid=${bodyError ? 'true' : undefined}
        aria-describedby=${bodyError ? 'invoke-body-error' : undefined}
      ></textarea>
      ${bodyError && html`<p id="invoke-body-error" class="function-field-error">Request body: ${bodyError}</p>`}
    </div>
    <div class="toolbar">
      <button type="submit" disabled=${state.sending}>${state.sending ? 'Invoking…' : 'Invoke'}</button>
      ${!fn.ready && html`<span class="muted small">The function is not ready: the API will say why.</span>`}
      <span role="status">${state.sending ? `Invoking ${fn.name}…` : state.result ? `Answered ${state.result.status}` : ''}</span>
    </div>
    <${ProblemMessage} error=${state.error} />
    ${state.result && html`<${InvocationResult} result=${state.result} />`}
  </form>`;
}

/** What the page shows of a response. */
function resultOf(res, text, durationMs) {
  const headers = [...res.headers.entries()].filter(
    ([name]) => !TRANSPORT_HEADERS.has(name) && name !== LOG_RESULT_HEADER,
  );
  const type = res.headers.get('content-type') ?? '';
  const tail = res.headers.get(LOG_RESULT_HEADER);
  let logs;
  try {
    logs = tail === null ? undefined : decodeLogTail(tail);
  } catch {
    logs = { output: `(the ${LOG_RESULT_HEADER} header is not base64: ${tail})` };
  }
  // The API's own refusals (not ready, unknown tag, timeout) are problem details.
  let problem;
  if (/^application\/problem\+json\b/.test(type)) {
    try {
      const p = JSON.parse(text);
      if (typeof p?.title === 'string') problem = { ...p, status: res.status };
    } catch {
      // Shown as the body below.
    }
  }
  return {
    status: res.status,
    statusText: res.statusText,
    requestId: res.headers.get('x-request-id') ?? undefined,
    durationMs,
    headers,
    body: readableBody(text, type),
    logs,
    problem,
  };
}

function InvocationResult({ result }) {
  const record = result.logs?.record;
  const outcome = result.status < 400 ? 'succeeded' : 'failed';
  return html`<section class="function-invoke-result" aria-labelledby="invoke-result-heading">
    <h3 id="invoke-result-heading">Response</h3>
    <dl class="facts">
      <div>
        <dt>Status</dt>
        <dd><span class=${`badge status-${outcome}`}>${result.status}</span> ${result.statusText}</dd>
      </div>
      <div>
        <dt>Took</dt>
        <dd>${formatDuration(result.durationMs)}${record?.durationMs !== undefined ? html` <span class="muted small">(handler ${formatDuration(record.durationMs)})</span>` : ''}</dd>
      </div>
      ${
        result.requestId &&
        html`<div>
          <dt>Request id</dt>
          <dd><code>${result.requestId}</code></dd>
        </div>`
      }
    </dl>
    ${result.problem && html`<${ProblemMessage} error=${result.problem} />`}
    <h4>Headers</h4>
    <dl class="function-headers">
      ${result.headers.map(
        ([name, value]) => html`<div key=${name}>
          <dt>${name}</dt>
          <dd><code>${value}</code></dd>
        </div>`,
      )}
    </dl>
    <h4>Body</h4>
    ${
      result.body === ''
        ? html`<p class="state empty">The response has no body.</p>`
        : html`<pre class="function-output" tabindex="0" aria-label="Response body">${result.body}</pre>`
    }
    <h4>Logs of this invocation</h4>
    ${
      result.logs === undefined
        ? html`<p class="state empty">
            No logs came back: image functions do not send them (see the function's logs below).
          </p>`
        : result.logs.output === ''
          ? html`<p class="state empty">The code wrote nothing while handling this request.</p>`
          : html`<pre class="log function-invocation-log" tabindex="0" aria-label="Logs of this invocation">${result.logs.output}</pre>`
    }
    ${record?.error && html`<${HandlerError} error=${record.error} />`}
  </section>`;
}

/** The handler's exception as the runtime recorded it. */
function HandlerError({ error }) {
  if (typeof error === 'string')
    return html`<p class="function-field-error">The handler failed: ${error}</p>`;
  return html`<div class="function-handler-error">
    <p class="function-field-error">
      The handler raised <code>${error.type ?? 'an error'}</code>${error.message ? `: ${error.message}` : ''}
    </p>
    ${error.stack && html`<pre class="function-output" tabindex="0" aria-label="Stack trace">${error.stack}</pre>`}
  </div>`;
}
