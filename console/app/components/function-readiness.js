// A function's readiness as a badge: the words carry it (Ready, Failed, Not ready), colour
// only helps; the reason Knative gives follows when it is not ready.

import { html } from 'htm/preact';
import { readinessOf } from './function-format.js';

export function FunctionReadiness({ fn, detail = false }) {
  const { label, kind } = readinessOf(fn);
  return html`<span class="function-readiness">
    <span class=${`badge function-${kind}`}>${label}</span>
    ${!fn.ready && fn.reason && html` <span class="muted small">${fn.reason}</span>`}
    ${detail && !fn.ready && fn.message && html`<span class="function-reason small">${fn.message}</span>`}
  </span>`;
}
