// The traffic split editor of a function: one row per target (a revision or the latest ready
// one), its percent and an optional tag. A split the API would refuse (not summing to 100, a
// bad or repeated tag) is refused here first, each message tied to its field; then PUT
// .../traffic, whose problem is shown the same way.

import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { projectPath, sendJson } from '../api.js';
import { ProblemMessage } from './ui.js';
import {
  LATEST,
  errorsByPath,
  trafficBody,
  trafficProblems,
  trafficRows,
  trafficSum,
} from './function-format.js';

/**
 * @param {object} props
 * @param {string} props.project
 * @param {{name: string, traffic: object[], latestReadyRevision?: string}} props.fn
 * @param {{name: string, ready: boolean}[]} props.revisions
 * @param {(fn: object) => void} props.onSaved called with the function the API answered (the
 *   page says so: the editor starts again from the new split)
 */
export function FunctionTrafficEditor({ project, fn, revisions, onSaved }) {
  const [rows, setRows] = useState(() => trafficRows(fn.traffic));
  const [errors, setErrors] = useState({});
  const [problem, setProblem] = useState(undefined);
  const [sending, setSending] = useState(false);
  const sum = trafficSum(rows);

  const change = (i, field, value) => {
    setRows((rs) => rs.map((r, j) => (j === i ? { ...r, [field]: value } : r)));
  };
  const submit = async (event) => {
    event.preventDefault();
    setProblem(undefined);
    const local = trafficProblems(rows);
    setErrors(errorsByPath(local));
    if (local.length > 0) {
      event.currentTarget.querySelector('[aria-invalid="true"]')?.focus();
      return;
    }
    setSending(true);
    try {
      const view = await sendJson(
        projectPath(project, 'functions', fn.name, 'traffic'),
        'PUT',
        trafficBody(rows),
      );
      onSaved(view);
    } catch (error) {
      setErrors(errorsByPath(error?.errors ?? []));
      setProblem(error);
    } finally {
      setSending(false);
    }
  };

  const rowError = (i, field) => errors[`traffic[${i}].${field}`] ?? errors[`traffic[${i}]`];
  const sumError = errors.traffic;
  const sumText = Number.isFinite(sum) ? `${sum}%` : 'not a number';

  return html`<form class="function-form function-traffic" onSubmit=${submit} noValidate>
    <table class="function-traffic-table responsive">
      <caption class="visually-hidden">
        Traffic targets of ${fn.name}
      </caption>
      <thead>
        <tr>
          <th scope="col">Revision</th>
          <th scope="col">Percent</th>
          <th scope="col">Tag (optional)</th>
          <th scope="col"><span class="visually-hidden">Actions</span></th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (row, i) => html`<${TrafficRow}
            key=${i}
            index=${i}
            row=${row}
            revisions=${revisions}
            latestReady=${fn.latestReadyRevision}
            errors=${{ target: rowError(i, 'revision'), percent: rowError(i, 'percent'), tag: rowError(i, 'tag') }}
            sumInvalid=${sumError !== undefined}
            onChange=${(field, value) => change(i, field, value)}
            onRemove=${rows.length > 1 ? () => setRows((rs) => rs.filter((_, j) => j !== i)) : undefined}
          />`,
        )}
      </tbody>
    </table>
    <p id="traffic-sum" class=${`function-traffic-sum${sum === 100 ? '' : ' off'}`} aria-live="polite">
      Total: ${sumText}${sum === 100 ? '' : ' — the percentages must add up to 100'}
    </p>
    ${sumError && html`<p id="traffic-sum-error" class="function-field-error">${sumError.map((e) => e.message).join('; ')}</p>`}
    <${ProblemMessage} error=${problem} />
    <div class="toolbar">
      <button
        type="button"
        class="secondary"
        onClick=${() =>
          setRows((rs) => [
            ...rs,
            { target: revisions.at(-1)?.name ?? LATEST, percent: '0', tag: '' },
          ])}
      >
        Add a target
      </button>
      <button type="submit" disabled=${sending}>${sending ? 'Saving…' : 'Save traffic split'}</button>
      <span role="status">${sending ? 'Saving the traffic split…' : ''}</span>
    </div>
  </form>`;
}

function TrafficRow({
  index,
  row,
  revisions,
  latestReady,
  errors,
  sumInvalid,
  onChange,
  onRemove,
}) {
  const n = index + 1;
  const id = (field) => `traffic-${index}-${field}`;
  const described = (field, extra) =>
    [extra, errors[field] ? `${id(field)}-error` : undefined].filter(Boolean).join(' ') ||
    undefined;
  const known = revisions.some((r) => r.name === row.target) || row.target === LATEST;
  return html`<tr>
    <td data-label="Revision">
      <label class="visually-hidden" for=${id('target')}>Revision of target ${n}</label>
      <select
        id=${id('target')}
        value=${row.target}
        onChange=${(e) => onChange('target', e.currentTarget.value)}
        aria-invalid=${errors.target ? 'true' : undefined}
        aria-describedby=${described('target')}
      >
        <option value=${LATEST}>Latest ready${latestReady ? ` (${latestReady})` : ''}</option>
        ${revisions.map(
          (r) =>
            html`<option key=${r.name} value=${r.name}>${r.name}${r.ready ? '' : ' (not ready)'}</option>`,
        )}
        ${!known && row.target && html`<option value=${row.target}>${row.target}</option>`}
      </select>
      <${RowError} id=${`${id('target')}-error`} errors=${errors.target} />
    </td>
    <td data-label="Percent">
      <label class="visually-hidden" for=${id('percent')}>Percent of target ${n}</label>
      <input
        id=${id('percent')}
        class="function-percent"
        type="number"
        inputmode="numeric"
        min="0"
        max="100"
        step="1"
        value=${row.percent}
        onInput=${(e) => onChange('percent', e.currentTarget.value)}
        aria-invalid=${errors.percent || sumInvalid ? 'true' : undefined}
        aria-describedby=${described('percent', sumInvalid ? 'traffic-sum traffic-sum-error' : 'traffic-sum')}
      />
      <${RowError} id=${`${id('percent')}-error`} errors=${errors.percent} />
    </td>
    <td data-label="Tag (optional)">
      <label class="visually-hidden" for=${id('tag')}>Tag of target ${n}</label>
      <input
        id=${id('tag')}
        value=${row.tag}
        onInput=${(e) => onChange('tag', e.currentTarget.value)}
        autocomplete="off"
        spellcheck="false"
        aria-invalid=${errors.tag ? 'true' : undefined}
        aria-describedby=${described('tag')}
      />
      <${RowError} id=${`${id('tag')}-error`} errors=${errors.tag} />
    </td>
    <td data-label="Actions">
      ${onRemove && html`<button type="button" class="secondary" onClick=${onRemove}>Remove<span class="visually-hidden"> target ${n}</span></button>`}
    </td>
  </tr>`;
}

function RowError({ id, errors }) {
  if (!errors?.length) return null;
  return html`<p id=${id} class="function-field-error">${errors.map((e) => e.message).join('; ')}</p>`;
}
