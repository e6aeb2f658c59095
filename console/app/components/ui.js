// Small pieces every page uses: loading, empty and problem states, status badges, times.

import { html } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { absoluteTime, formatDuration, executionDurationMs, relativeTime } from '../format.js';

/**
 * Loads `load(signal)` when `deps` change, again on `reload()` and every `refreshMs` if given;
 * aborts what is in flight when the page leaves. Keeps the last data while it reloads.
 * @template T
 * @param {(signal: AbortSignal) => Promise<T>} load
 * @param {unknown[]} deps
 * @param {{refreshMs?: number}} [options]
 * @returns {{data: T | undefined, error: Error | undefined, loading: boolean, reload: () => void}}
 */
export function useLoad(load, deps, options = {}) {
  const [state, setState] = useState({ data: undefined, error: undefined, loading: true });
  const [round, setRound] = useState(0);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  useEffect(() => {
    const controller = new AbortController();
    let timer;
    setState((s) => ({ ...s, loading: true }));
    load(controller.signal)
      .then(
        (data) =>
          !controller.signal.aborted && setState({ data, error: undefined, loading: false }),
        (error) =>
          !controller.signal.aborted && setState((s) => ({ data: s.data, error, loading: false })),
      )
      .finally(() => {
        // The next refresh is timed from the end of this load, never on top of it.
        if (options.refreshMs && !controller.signal.aborted)
          timer = setTimeout(reload, options.refreshMs);
      });
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [...deps, round]);
  return { ...state, reload };
}

/** The time, re-rendered every `everyMs` (for relative times and running durations). */
export function useNow(everyMs = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

/** Focuses the page's heading when the page (its `key`) changes, for keyboard and screen readers. */
export function useFocusHeading(key) {
  const ref = useRef(null);
  useEffect(() => {
    ref.current?.focus();
  }, [key]);
  return ref;
}

export function Loading({ what }) {
  return html`<p class="state loading" role="status">
    <span class="spinner" aria-hidden="true"></span>Loading ${what}…
  </p>`;
}

export function Empty({ children }) {
  return html`<p class="state empty">${children}</p>`;
}

/** An error of the API as its problem details: title, then detail. */
export function ProblemMessage({ error, onRetry }) {
  if (!error) return null;
  const title = error.title ?? 'Something went wrong';
  const detail = error.title ? error.detail : String(error.message ?? error);
  return html`<div class="problem" role="alert">
    <p class="problem-title">
      ${title}${error.status ? html` <span class="problem-status">(${error.status})</span>` : ''}
    </p>
    ${detail ? html`<p class="problem-detail">${detail}</p>` : ''}
    ${onRetry ? html`<button type="button" class="secondary" onClick=${onRetry}>Try again</button>` : ''}
  </div>`;
}

const STATUS_LABELS = {
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  unknown: 'Unknown',
};

/** An execution's status, in words and colour (the words carry it; colour only helps). */
export function StatusBadge({ status }) {
  return html`<span class=${`badge status-${status}`}>${STATUS_LABELS[status] ?? status}</span>`;
}

/** A time as `in 5 minutes`, the absolute time in `timeZone` beside it on wide screens. */
export function TimeText({ iso, now, timeZone, absolute = true }) {
  if (!iso) return html`<span class="muted">—</span>`;
  const exact = absoluteTime(iso, timeZone);
  return html`<time datetime=${iso} title=${exact}><span class="relative">${relativeTime(iso, now)}</span>${absolute ? html`${' '}<span class="absolute">${exact}</span>` : ''}</time>`;
}

/** How long an execution ran (or runs so far). */
export function Duration({ execution, now }) {
  const ms = executionDurationMs(execution, now);
  return ms === undefined ? html`<span class="muted">—</span>` : formatDuration(ms);
}

/**
 * The last runs of a CronJob as a strip of small marks, oldest on the left; each links to the
 * run's logs and says its status and start in words.
 */
export function RunStrip({ executions, hrefOf, now }) {
  if (executions.length === 0) return html`<span class="muted">No runs yet</span>`;
  const runs = [...executions].reverse();
  return html`<ol
    class="run-strip"
    aria-label=${`Last ${runs.length} run${runs.length === 1 ? '' : 's'}, oldest first`}
  >
    ${runs.map((e) => {
      const label = `${STATUS_LABELS[e.status] ?? e.status}, started ${relativeTime(e.startedAt, now)}`;
      return html`<li key=${e.id}><a class=${`run status-${e.status}`} href=${hrefOf(e)} title=${label}><span class="visually-hidden">${label}</span></a></li>`;
    })}
  </ol>`;
}

/** Where the user is: links up the path, the last item the current page. */
export function Breadcrumbs({ items }) {
  return html`<nav aria-label="Breadcrumb" class="breadcrumbs">
    <ol>
      ${items.map(
        (item, i) =>
          html`<li key=${item.label}>
            ${i === items.length - 1 ? html`<span aria-current="page">${item.label}</span>` : html`<a href=${item.href}>${item.label}</a>`}
          </li>`,
      )}
    </ol>
  </nav>`;
}
