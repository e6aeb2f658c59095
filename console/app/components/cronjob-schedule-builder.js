// The schedule builder: presets (every N minutes ... monthly on), the raw cron field, the IANA
// time zone, the schedule in words and the next runs in that zone as the API computes them
// (GET /schedules/next), with the DST gaps and repeated hours marked. Errors of the API for
// the schedule or the zone are shown beside the field they name.

import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import cronstrue from '../schedule-words.js';
import { getJson } from '../api.js';
import { scheduleInWords } from '../format.js';
import {
  DEFAULT_SETTINGS,
  MINUTE_STEPS,
  PRESETS,
  WEEKDAYS,
  expressionOf,
  presetOf,
} from '../cronjob-schedule-presets.js';

/** Runs the preview shows. */
const PREVIEW_RUNS = 5;
/** The preview asks the API once typing pauses this long. */
const PREVIEW_DEBOUNCE_MS = 300;

/** The zones the browser knows (IANA names), UTC first: the CronJob default. */
const TIME_ZONES = ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')];

/** The viewer's own zone, offered as a one-press choice. */
export const BROWSER_TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

/**
 * The schedule and time zone of a CronJob, edited with presets or as a raw expression.
 * @param {object} props
 * @param {string} props.id prefix of the fields' ids, unique in the page
 * @param {string} props.schedule the cron expression (5 fields or a macro)
 * @param {string} props.timeZone IANA zone; empty: UTC, the CronJob default
 * @param {(schedule: string) => void} props.onScheduleChange
 * @param {(timeZone: string) => void} props.onTimeZoneChange
 * @param {{schedule?: string, timeZone?: string}} [props.errors] the API's messages of a save,
 *   shown before the preview's own
 * @param {string} [props.from] ISO instant the preview counts from; default now
 */
export function ScheduleBuilder({
  id,
  schedule,
  timeZone,
  onScheduleChange,
  onTimeZoneChange,
  errors = {},
  from,
}) {
  const read = presetOf(schedule);
  const [mode, setMode] = useState(read?.preset ?? 'custom');
  const [settings, setSettings] = useState(read?.settings ?? DEFAULT_SETTINGS);
  const preview = useNextRuns(schedule, timeZone, from);
  const fieldError = (field) => errors[field] ?? preview.fieldErrors[field];

  const editRaw = (value) => {
    onScheduleChange(value);
    const found = presetOf(value);
    setMode(found?.preset ?? 'custom');
    if (found) setSettings(found.settings);
  };
  const pickPreset = (preset) => {
    setMode(preset);
    if (preset !== 'custom') onScheduleChange(expressionOf(preset, settings));
  };
  const changeSetting = (key, value) => {
    const next = { ...settings, [key]: value };
    setSettings(next);
    onScheduleChange(expressionOf(mode, next));
  };

  const words = schedule.trim() ? scheduleInWords(schedule, cronstrue.toString) : undefined;
  const preset = PRESETS.find((p) => p.id === mode);
  const scheduleError = fieldError('schedule');
  const zoneError = fieldError('timeZone');
  return html`<div class="cj-builder">
    <div class="cj-builder-row">
      <div class="cj-field">
        <label for=${`${id}-preset`}>Repeat</label>
        <select
          id=${`${id}-preset`}
          value=${mode}
          onChange=${(e) => pickPreset(e.currentTarget.value)}
        >
          ${PRESETS.map((p) => html`<option key=${p.id} value=${p.id}>${p.label}</option>`)}
          <option value="custom">Custom (cron expression)</option>
        </select>
      </div>
      ${preset?.settings.map(
        (key) =>
          html`<${PresetSetting}
          key=${key}
          id=${`${id}-${key}`}
          name=${key}
          value=${settings[key]}
          onChange=${(value) => changeSetting(key, value)}
        />`,
      )}
    </div>
    <div class="cj-field">
      <label for=${`${id}-schedule`}>Cron expression</label>
      <input
        id=${`${id}-schedule`}
        class="cj-cron"
        value=${schedule}
        onInput=${(e) => editRaw(e.currentTarget.value)}
        required
        autocomplete="off"
        spellcheck="false"
        aria-invalid=${scheduleError ? 'true' : 'false'}
        aria-describedby=${describedBy(id, 'schedule', scheduleError, `${id}-words ${id}-schedule-help`)}
      />
      <${FieldError} id=${`${id}-schedule-error`} message=${scheduleError} />
      <p id=${`${id}-words`} class="cj-words">${words ? words : schedule.trim() ? 'Not readable as a schedule' : ''}</p>
      <p id=${`${id}-schedule-help`} class="help small">
        5 fields: minute hour day-of-month month day-of-week (e.g. <code>30 2 * * 1-5</code>), or <code>@hourly</code>, <code>@daily</code>, <code>@weekly</code>, <code>@monthly</code>,${' '}<code>@yearly</code>.
      </p>
    </div>
    <${TimeZoneField}
      id=${`${id}-time-zone`}
      value=${timeZone}
      error=${zoneError}
      onChange=${onTimeZoneChange}
    />
    <${NextRuns} id=${`${id}-runs`} preview=${preview} timeZone=${timeZone || 'UTC'} from=${from} />
  </div>`;
}

/** `aria-describedby`: the error first when there is one, then the field's other texts. */
function describedBy(id, field, error, others = '') {
  return [error ? `${id}-${field}-error` : '', others].join(' ').trim() || undefined;
}

/** An error of the API beside the field it names. */
export function FieldError({ id, message }) {
  return message ? html`<p id=${id} class="cj-field-error">${message}</p>` : null;
}

const SETTING_FIELDS = {
  step: { label: 'Every', unit: 'minutes' },
  minute: { label: 'At minute' },
  time: { label: 'At' },
  weekday: { label: 'On' },
  day: { label: 'On day' },
};

/** One setting of a preset: a step, a minute, a time of day, a weekday or a day of the month. */
function PresetSetting({ id, name, value, onChange }) {
  const { label } = SETTING_FIELDS[name];
  const field = {
    step: () => html`<select id=${id} value=${String(value)} onChange=${(e) => onChange(Number(e.currentTarget.value))}>
      ${MINUTE_STEPS.map((n) => html`<option key=${n} value=${String(n)}>${n} minute${n === 1 ? '' : 's'}</option>`)}
    </select>`,
    minute: () => html`<input id=${id} type="number" min="0" max="59" value=${value}
      onInput=${(e) => within(e.currentTarget, onChange)} />`,
    time: () => html`<input id=${id} type="time" value=${value} required
      onInput=${(e) => e.currentTarget.value && onChange(e.currentTarget.value)} />`,
    weekday:
      () => html`<select id=${id} value=${String(value)} onChange=${(e) => onChange(Number(e.currentTarget.value))}>
      ${WEEKDAYS.map((d, i) => html`<option key=${d} value=${String(i)}>${d}</option>`)}
    </select>`,
    day: () => html`<input id=${id} type="number" min="1" max="31" value=${value}
      onInput=${(e) => within(e.currentTarget, onChange)} />`,
  }[name];
  return html`<div class="cj-field">
    <label for=${id}>${label}</label>
    ${field()}
  </div>`;
}

/** Passes a number input's value on while it is a whole number within its min and max. */
function within(input, onChange) {
  const n = Number(input.value);
  if (input.value !== '' && Number.isInteger(n) && n >= Number(input.min) && n <= Number(input.max))
    onChange(n);
}

/** The IANA zone: typed with suggestions from the browser's list; empty is UTC. */
function TimeZoneField({ id, value, error, onChange }) {
  return html`<div class="cj-field">
    <label for=${id}>Time zone</label>
    <div class="cj-inline">
      <input
        id=${id}
        list=${`${id}-list`}
        value=${value}
        onInput=${(e) => onChange(e.currentTarget.value.trim())}
        autocomplete="off"
        spellcheck="false"
        placeholder="UTC"
        aria-invalid=${error ? 'true' : 'false'}
        aria-describedby=${[error ? `${id}-error` : '', `${id}-help`].join(' ').trim()}
      />
      ${
        BROWSER_TIME_ZONE &&
        value !== BROWSER_TIME_ZONE &&
        html`<button type="button" class="secondary" onClick=${() => onChange(BROWSER_TIME_ZONE)}>
          Use my time zone (${BROWSER_TIME_ZONE})
        </button>`
      }
    </div>
    <datalist id=${`${id}-list`}>
      ${TIME_ZONES.map((z) => html`<option key=${z} value=${z}></option>`)}
    </datalist>
    <${FieldError} id=${`${id}-error`} message=${error} />
    <p id=${`${id}-help`} class="help small">
      An IANA name such as Europe/Berlin; empty: UTC (the CronJob default).
    </p>
  </div>`;
}

/**
 * The next runs as the API computes them: asked once typing pauses, the request of an older
 * value aborted; field errors of its 400 answer returned for the fields they name.
 */
function useNextRuns(schedule, timeZone, from) {
  const [state, setState] = useState({ loading: false });
  // What an error was about: it stops standing beside the fields once they change.
  const key = JSON.stringify([schedule, timeZone, from]);
  useEffect(() => {
    if (!schedule.trim()) {
      setState({ loading: false });
      return undefined;
    }
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    const timer = setTimeout(async () => {
      const params = new URLSearchParams({
        schedule,
        timeZone: timeZone || 'UTC',
        count: String(PREVIEW_RUNS),
      });
      if (from) params.set('from', from);
      try {
        const data = await getJson(`schedules/next?${params}`, { signal: controller.signal });
        setState({ loading: false, data });
      } catch (error) {
        if (!controller.signal.aborted) setState({ loading: false, error, key });
      }
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [schedule, timeZone, from]);
  const fieldErrors = {};
  for (const e of state.key === key ? (state.error?.errors ?? []) : []) {
    if (e.path === 'schedule' || e.path === 'timeZone') fieldErrors[e.path] ??= e.message;
  }
  return { ...state, fieldErrors };
}

/** `2027-03-14T02:30:00-04:00` → its parts, read as written (the wall time in the zone). */
function wallTimeOf(local) {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/.exec(
      local,
    );
  if (!m) return { text: local, key: local };
  const [, y, mo, d, h, mi, offset] = m;
  const weekday = WEEKDAYS[new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d))).getUTCDay()];
  const utcOffset = offset === undefined ? '' : offset === 'Z' ? 'UTC' : `UTC${offset}`;
  return {
    text: `${weekday.slice(0, 3)} ${y}-${mo}-${d} ${h}:${mi}`,
    offset: utcOffset,
    key: `${y}-${mo}-${d}T${h}:${mi}`,
  };
}

/** What the preview says of a wall time without a run, by the API's reason. */
const SKIPPED = {
  'dst-gap': {
    badge: 'DST gap',
    why: 'clocks go forward: this time does not exist, no run',
  },
  'stepped-over': {
    badge: 'Skipped on a clock change',
    why: "the time exists, but the CronJob controller's scheduler steps past it that day",
  },
};

/** The preview: runs and skipped wall times in the order of the clock, DST marked. */
function NextRuns({ id, preview, timeZone, from }) {
  const heading = from
    ? `Next ${PREVIEW_RUNS} runs after ${from}, in ${timeZone}`
    : `Next ${PREVIEW_RUNS} runs in ${timeZone}`;
  const { data, error, loading } = preview;
  const items = data
    ? [
        ...data.runs.map((run) => ({ ...run, kind: 'run', wall: wallTimeOf(run.local) })),
        ...(data.skipped ?? []).map((s) => ({ ...s, kind: 'skipped', wall: wallTimeOf(s.local) })),
      ].sort((a, b) => (a.wall.key < b.wall.key ? -1 : a.wall.key > b.wall.key ? 1 : 0))
    : [];
  return html`<section class="cj-runs" aria-labelledby=${`${id}-heading`}>
    <h3 id=${`${id}-heading`}>${heading}</h3>
    <p class="visually-hidden" role="status" aria-live="polite">
      ${loading ? 'Computing the next runs…' : data ? `${data.runs.length} runs listed` : ''}
    </p>
    ${
      error && Object.keys(preview.fieldErrors).length === 0
        ? html`<p class="cj-field-error">${error.title}${error.detail ? `: ${error.detail}` : ''}</p>`
        : ''
    }
    ${
      data &&
      html`<ol class=${`cj-run-list${loading ? ' cj-stale' : ''}`}>
        ${items.map((item, i) =>
          item.kind === 'run'
            ? html`<li key=${`r${i}`}>
                <time datetime=${item.at}>${item.wall.text}</time>
                <span class="muted small"> ${item.wall.offset}</span>
                ${
                  item.repeatedHour &&
                  html` <span class="badge cj-dst">Repeated hour</span
                    ><span class="muted small"> clocks go back: this wall time occurs twice</span>`
                }
              </li>`
            : html`<li key=${`s${i}`} class="cj-skipped">
                <span>${item.wall.text}</span>
                <span class="badge cj-dst">${SKIPPED[item.reason]?.badge ?? 'Skipped'}</span
                ><span class="muted small"> ${SKIPPED[item.reason]?.why ?? 'no run at this time'}</span>
              </li>`,
        )}
      </ol>`
    }
    ${!data && loading ? html`<p class="muted small">Computing the next runs…</p>` : ''}
  </section>`;
}
