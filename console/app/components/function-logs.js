// The logs of a function's pods: the last lines, or followed as they are written (GET
// .../logs?follow=true read as it streams, aborted when the page leaves or follow is turned
// off), shown with the log viewer's line styles (styles.css `.log`).

import { html } from 'htm/preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { projectPath, request, streamText } from '../api.js';
import { logLines } from '../format.js';
import { Loading, ProblemMessage } from './ui.js';

/** Lines asked for: the API reads each pod's last lines. */
const TAIL_LINES = 500;

/** A follow that ended (no pod, or its pods stopped) starts again after this long. */
const FOLLOW_AGAIN_MS = 5000;

/**
 * @param {object} props
 * @param {string} props.project
 * @param {string} props.name
 * @param {string} [props.revision] the latest ready revision: a new one has new pods to follow
 */
export function FunctionLogs({ project, name, revision }) {
  const [follow, setFollow] = useState(true);
  const [round, setRound] = useState(0);
  const log = useFunctionLog(projectPath(project, 'functions', name, 'logs'), follow, [
    round,
    revision,
  ]);
  // The pods a follow reads are those running when it starts: look again for new ones.
  useEffect(() => {
    if (!follow || log.following || log.text === undefined) return undefined;
    const timer = setTimeout(() => setRound((n) => n + 1), FOLLOW_AGAIN_MS);
    return () => clearTimeout(timer);
  }, [follow, log.following, log.text === undefined]);
  return html`<div class="function-logs">
    <div class="toolbar">
      <label class="follow">
        <input
          type="checkbox"
          checked=${follow}
          onChange=${(e) => setFollow(e.currentTarget.checked)}
        />
        Follow new lines
      </label>
      ${
        !follow &&
        html`<button type="button" class="secondary" onClick=${() => setRound((n) => n + 1)}>
          Reload
        </button>`
      }
    </div>
    <${ProblemMessage} error=${log.error} />
    ${log.text === undefined ? html`<${Loading} what="the logs" />` : html`<${FunctionLogText} text=${log.text} following=${log.following} followed=${follow} />`}
  </div>`;
}

/** The log text, read again when `base`, `follow` or one of `again` changes. */
function useFunctionLog(base, follow, again) {
  const [state, setState] = useState({ text: undefined, error: undefined, following: false });
  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    const fail = (error) => {
      if (!signal.aborted) setState((s) => ({ ...s, text: s.text ?? '', error, following: false }));
    };
    if (follow) {
      let text = '';
      // What was shown stays until the new follow's first lines replace it.
      setState((s) => ({ text: s.text ?? '', error: undefined, following: true }));
      streamText(
        `${base}?follow=true&tail=${TAIL_LINES}`,
        (chunk) => {
          text += chunk;
          setState({ text, error: undefined, following: true });
        },
        signal,
      ).then(() => !signal.aborted && setState((s) => ({ ...s, following: false })), fail);
    } else {
      request(`${base}?tail=${TAIL_LINES}`, { signal, headers: { accept: 'text/plain' } })
        .then((res) => res.text())
        .then(
          (text) => !signal.aborted && setState({ text, error: undefined, following: false }),
          fail,
        );
    }
    return () => controller.abort();
  }, [base, follow, ...again]);
  return state;
}

function FunctionLogText({ text, following, followed }) {
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
    <p class="following" role="status">
      ${following ? html`<span class="spinner" aria-hidden="true"></span>Following the function's logs…` : followed ? 'No pod to follow right now: looking again in a few seconds.' : ''}
    </p>
    ${
      lines.length === 0
        ? html`<p class="state empty">
            ${following ? 'Nothing printed yet.' : 'No logs: the function has no running pod, or it printed nothing.'}
          </p>`
        : html`<pre class="log" tabindex="0" aria-label="Function logs" ref=${ref} onScroll=${onScroll}>
${lines.map((line) => html`<span key=${line.number} class=${`line ${line.kind}`}>${line.text}${'\n'}</span>`)}</pre>`
    }
  </div>`;
}
