// The log of one execution: the whole stored log, or followed while the Job runs (stopped
// when the page leaves); search, download, and the API's truncation marker shown as such.

import { html } from 'htm/preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { getJson, projectPath, request, streamText } from '../api.js';
import { logFileName, logLines, matchesLabel, splitMatches } from '../format.js';
import { hrefs } from '../links.js';
import {
  Breadcrumbs,
  Duration,
  Loading,
  ProblemMessage,
  StatusBadge,
  TimeText,
  useFocusHeading,
  useLoad,
  useNow,
} from '../components/ui.js';

/** Whether the stored log is final (the recorder captured it, or it is lost for good). */
const settled = (execution) => ['captured', 'lost'].includes(execution.logCapture);

export function LogsPage({ project, cronjob, id }) {
  const heading = useFocusHeading(id);
  const now = useNow(1000);
  const base = projectPath(project, 'cronjobs', cronjob, 'executions', id);
  const [round, setRound] = useState(0);
  const execution = useLoad((signal) => getJson(base, { signal }), [base, round]);
  const e = execution.data;
  const live = e !== undefined && e.status === 'running';
  const [follow, setFollow] = useState(true);
  const log = useLog(base, e, live && follow, () => setRound((n) => n + 1));
  const [search, setSearch] = useState('');
  const [downloadError, setDownloadError] = useState(undefined);
  document.title = `Logs of ${e?.jobName ?? id} · HKS console`;

  return html`<${Breadcrumbs}
      items=${[
        { label: project, href: hrefs.cronJobs(project) },
        { label: 'CronJobs', href: hrefs.cronJobs(project) },
        { label: cronjob, href: hrefs.executions(project, cronjob) },
        { label: 'Logs' },
      ]}
    />
    <h1 tabindex="-1" ref=${heading}>
      Logs of ${e ? html`<code>${e.jobName}</code>` : 'an execution'}
    </h1>
    <${ProblemMessage} error=${execution.error} onRetry=${execution.reload} />
    ${
      e === undefined
        ? execution.loading && html`<${Loading} what="the execution" />`
        : html`<dl class="facts">
            <div>
              <dt>Status</dt>
              <dd><${StatusBadge} status=${e.status} /></dd>
            </div>
            <div>
              <dt>Trigger</dt>
              <dd>${e.trigger === 'manual' ? 'Manual' : 'Scheduled'}</dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd><${TimeText} iso=${e.startedAt} now=${now} /></dd>
            </div>
            <div>
              <dt>Duration</dt>
              <dd><${Duration} execution=${e} now=${now} /></dd>
            </div>
            <div>
              <dt>Exit code</dt>
              <dd>${e.exitCode ?? '—'}</dd>
            </div>
            ${
              (e.reason || e.terminationReason) &&
              html`<div>
                <dt>Ended because</dt>
                <dd>${[e.reason, e.terminationReason].filter(Boolean).join(', ')}</dd>
              </div>`
            }
            <div>
              <dt>Log</dt>
              <dd>${e.logCapture}${e.logCaptureError ? `: ${e.logCaptureError}` : ''}</dd>
            </div>
          </dl>`
    }
    ${
      e &&
      html`<${LogToolbar}
        e=${e}
        live=${live}
        follow=${follow}
        onFollow=${setFollow}
        search=${search}
        onSearch=${setSearch}
        count=${log.text === undefined ? 0 : countMatches(log.text, search)}
        download=${() => {
          setDownloadError(undefined);
          download(base, e).catch(setDownloadError);
        }}
      />`
    }
    <${ProblemMessage} error=${downloadError} />
    ${
      e?.logsTruncated &&
      html`<p class="truncated-note" role="note">
        The beginning of this log was not kept: the API keeps the last bytes of each execution's log
        (HKS_LOG_LIMIT_BYTES). The marker line below says how much was cut.
      </p>`
    }
    <${ProblemMessage} error=${log.error} />
    ${e && (log.text === undefined ? html`<${Loading} what="the log" />` : html`<${LogText} text=${log.text} search=${search} following=${log.following} />`)}`;
}

/**
 * The log's text: GET .../logs once the execution is known, or, while it runs and `follow`
 * is on, GET .../logs?follow=true read as it streams, aborted when the page leaves or follow
 * is turned off. When a follow ends, `onEnded` reloads the execution (its final state).
 */
function useLog(base, execution, follow, onEnded) {
  const [state, setState] = useState({ text: undefined, error: undefined, following: false });
  useEffect(() => {
    if (execution === undefined) return undefined;
    const controller = new AbortController();
    const { signal } = controller;
    let timer;
    const fail = (error) => {
      if (signal.aborted) return;
      setState((s) => ({ ...s, error, following: false }));
      // A container that has not started yet cannot be followed: try again while it runs.
      if (follow) timer = setTimeout(onEnded, 2000);
    };
    if (follow) {
      let text = '';
      setState({ text: '', error: undefined, following: true });
      streamText(
        `${base}/logs?follow=true`,
        (chunk) => {
          text += chunk;
          setState({ text, error: undefined, following: true });
        },
        signal,
      ).then(() => {
        if (signal.aborted) return;
        setState((s) => ({ ...s, following: false }));
        // The pod's log ended; the recorder stores the end of the Job a moment later.
        timer = setTimeout(onEnded, 1000);
      }, fail);
    } else {
      request(`${base}/logs`, { signal, headers: { accept: 'text/plain' } })
        .then((res) => res.text())
        .then(
          (text) => !signal.aborted && setState({ text, error: undefined, following: false }),
          fail,
        );
    }
    // Not final yet (ended, logs still being captured): look again in a moment.
    if (!follow && !settled(execution)) timer = setTimeout(onEnded, 3000);
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [base, execution, follow]);
  return state;
}

function countMatches(text, search) {
  if (search === '') return 0;
  const needle = search.toLowerCase();
  const hay = text.toLowerCase();
  let n = 0;
  for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, i + needle.length)) n++;
  return n;
}

function LogToolbar({ e, live, follow, onFollow, search, onSearch, count, download }) {
  const jump = (step) => {
    const marks = [...document.querySelectorAll('.log mark')];
    if (marks.length === 0) return;
    const current = marks.findIndex((m) => m.classList.contains('current'));
    marks[current]?.classList.remove('current');
    const next = marks[(current + step + marks.length) % marks.length];
    next.classList.add('current');
    next.scrollIntoView({ block: 'center' });
  };
  return html`<div class="toolbar log-toolbar">
    <form
      role="search"
      class="search"
      onSubmit=${(ev) => {
        ev.preventDefault();
        jump(1);
      }}
    >
      <label for="log-search">Search the log</label>
      <input
        id="log-search"
        type="search"
        value=${search}
        onInput=${(ev) => onSearch(ev.currentTarget.value)}
        autocomplete="off"
      />
      <button type="button" class="secondary" onClick=${() => jump(-1)} disabled=${count === 0}>
        Previous
      </button>
      <button type="submit" class="secondary" disabled=${count === 0}>Next</button>
      <span class="match-count" role="status" aria-live="polite"
        >${search ? matchesLabel(count) : ''}</span
      >
    </form>
    ${
      live &&
      html`<label class="follow">
        <input
          type="checkbox"
          checked=${follow}
          onChange=${(ev) => onFollow(ev.currentTarget.checked)}
        />
        Follow while ${e.jobName} runs
      </label>`
    }
    <button type="button" class="secondary" onClick=${download}>Download</button>
  </div>`;
}

/** The log, one element per line; the truncation marker and attempt headers stand out. */
function LogText({ text, search, following }) {
  const lines = useMemo(() => logLines(text), [text]);
  const ref = useRef(null);
  // While following, stay at the end unless the reader scrolled up.
  const atEnd = useRef(true);
  useLayoutEffect(() => {
    if (following && atEnd.current && ref.current) ref.current.scrollTop = ref.current.scrollHeight;
  }, [text, following]);
  const onScroll = (ev) => {
    const el = ev.currentTarget;
    atEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  };
  return html`<div class="log-frame">
    ${following && html`<p class="following" role="status"><span class="spinner" aria-hidden="true"></span>Following the log while the Job runs…</p>`}
    ${
      lines.length === 0
        ? html`<p class="state empty">
            ${following ? 'Nothing printed yet.' : 'The log is empty.'}
          </p>`
        : html`<pre class="log" tabindex="0" aria-label="Log" ref=${ref} onScroll=${onScroll}>
${lines.map(
  (line) =>
    html`<span key=${line.number} class=${`line ${line.kind}`}
                  >${
                    line.kind === 'truncated'
                      ? html`<strong>${line.text}</strong>`
                      : splitMatches(line.text, search).map((part, i) =>
                          part.match ? html`<mark key=${i}>${part.text}</mark>` : part.text,
                        )
                  }${'\n'}</span
                >`,
)}</pre>`
    }
  </div>`;
}

/** Saves the stored log (fetched again: the whole text, not what a follow showed) as a file. */
async function download(base, e) {
  const res = await request(`${base}/logs`, { headers: { accept: 'text/plain' } });
  const url = URL.createObjectURL(new Blob([await res.text()], { type: 'text/plain' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = logFileName(e.jobName);
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
