// The filters of the executions pages: status, CronJob (the project's page), and the start
// time as a preset or a range typed in the viewer's zone, named beside the inputs. Each change
// goes to the hash query (execution-time-range.js), so that a filtered view can be linked.

import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import {
  RANGE_PRESETS,
  STATUSES,
  instantOfLocalInput,
  localInputValue,
  zoneLabel,
} from './execution-time-range.js';

const CUSTOM = 'custom';

/**
 * @param {{filters: object, onChange: (filters: object) => void, cronjobs?: string[], now: number}} props
 *   `cronjobs`: the names the CronJob filter offers; without it there is no CronJob filter
 */
export function ExecutionFilters({ filters, onChange, cronjobs, now }) {
  const set = (changes) => onChange({ ...filters, ...changes });
  const timeMode = filters.range ?? (filters.since || filters.until ? CUSTOM : '');
  const [typing, setTyping] = useState(false);
  const showRange = timeMode === CUSTOM || typing;
  return html`<div class="toolbar filters">
      <label for="status-filter">Status</label>
      <select
        id="status-filter"
        value=${filters.status ?? ''}
        onChange=${(e) => set({ status: e.currentTarget.value || undefined })}
      >
        <option value="">All</option>
        ${STATUSES.map((s) => html`<option key=${s} value=${s}>${s[0].toUpperCase() + s.slice(1)}</option>`)}
      </select>
      ${
        cronjobs &&
        html`<label for="cronjob-filter">CronJob</label>
          <select
            id="cronjob-filter"
            value=${filters.cronjob ?? ''}
            onChange=${(e) => set({ cronjob: e.currentTarget.value || undefined })}
          >
            <option value="">All</option>
            ${
              // A CronJob named in a link but gone from the list stays selectable.
              [...new Set([...cronjobs, ...(filters.cronjob ? [filters.cronjob] : [])])].map(
                (name) => html`<option key=${name} value=${name}>${name}</option>`,
              )
            }
          </select>`
      }
      <label for="time-filter">Started</label>
      <select
        id="time-filter"
        value=${showRange ? CUSTOM : timeMode}
        onChange=${(e) => {
          const mode = e.currentTarget.value;
          setTyping(mode === CUSTOM);
          if (mode !== CUSTOM)
            set({ range: mode || undefined, since: undefined, until: undefined });
        }}
      >
        <option value="">Any time</option>
        ${Object.entries(RANGE_PRESETS).map(
          ([key, preset]) => html`<option key=${key} value=${key}>${preset.label}</option>`,
        )}
        <option value=${CUSTOM}>Between…</option>
      </select>
    </div>
    ${
      showRange &&
      html`<${TimeRangeForm}
        key=${`${filters.since ?? ''}/${filters.until ?? ''}`}
        filters=${filters}
        now=${now}
        onApply=${(range) => {
          setTyping(false);
          set({ range: undefined, ...range });
        }}
      />`
    }`;
}

/**
 * Two `datetime-local` inputs read in the viewer's zone, applied together. They start from the
 * applied range (`defaultValue`, the form keyed by it) and are the user's until Apply: a
 * `value` would be written back at every render — the page's clock ticks — and wipe what was
 * being typed.
 */
function TimeRangeForm({ filters, now, onApply }) {
  const zone = zoneLabel(now);
  return html`<form
    class="toolbar time-range"
    aria-label="Start time range"
    onSubmit=${(e) => {
      e.preventDefault();
      const form = e.currentTarget.elements;
      onApply({
        since: instantOfLocalInput(form.namedItem('since').value),
        until: instantOfLocalInput(form.namedItem('until').value),
      });
    }}
  >
    <label for="since-filter">From</label>
    <input
      id="since-filter"
      name="since"
      type="datetime-local"
      aria-describedby="time-zone-note"
      defaultValue=${localInputValue(filters.since)}
    />
    <label for="until-filter">to</label>
    <input
      id="until-filter"
      name="until"
      type="datetime-local"
      aria-describedby="time-zone-note"
      defaultValue=${localInputValue(filters.until)}
    />
    <span id="time-zone-note" class="muted small">Times in your zone: ${zone}</span>
    <button type="submit" class="secondary">Apply</button>
  </form>`;
}
