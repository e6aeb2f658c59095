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

export function FunctionLogs({ project, name }) {
  const [follow, setFollow] = useState(true);
  const [round, setRound] = useState(0);
  const log = useFunctionLog(projectPath(project, 'functions', name, 'logs'), follow, round);
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
        (!follow || !log.following) &&
        html`<button type="button" class="secondary" onClick=${() => setRound((n) => n + 1)}>
          ${follow ? 'Follow again' : 'Reload'}
        </button>`
      }
    </div>
    <${ProblemMessage} error=${log.error} />
    ${log.text === undefined ? html`<${Loading} what="the logs" />` : html`<${FunctionLogText} text=${log.text} following=${log.following} followed=${follow} />`}
  </div>`;
}

function useFunctionLog(base, follow, round) {
  const [state, setState] = useState({ text: undefined, error: undefined, following: false });
  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    const fail = (error) => {
      if (!signal.aborted) setState((s) => ({ ...s, text: s.text ?? '', error, following: false }));
    };
    if (follow) {
      let text = '';
      setState({ text: '', error: undefined, following: true });
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
  }, [base, follow, round]);
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
      ${following ? html`<span class="spinner" aria-hidden="true"></span>Following the function's logs…` : followed ? 'The follow ended: the pods stopped, or none runs.' : ''}
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
