// Run now: starts a Job from a CronJob's template (POST .../trigger).

import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { projectPath, request } from '../api.js';
import { ProblemMessage } from './ui.js';

/**
 * Run now: POST .../trigger with an Idempotency-Key made when the button is pressed and kept
 * until the API answers, so pressing again after a failure cannot start a second Job.
 */
export function RunNow({ project, cronjob, onStarted }) {
  const [state, setState] = useState({ busy: false, key: undefined, error: undefined });
  const run = async () => {
    const key = state.key ?? crypto.randomUUID();
    setState({ busy: true, key, error: undefined });
    try {
      const res = await request(projectPath(project, 'cronjobs', cronjob, 'trigger'), {
        method: 'POST',
        headers: { 'idempotency-key': key },
      });
      setState({ busy: false, key: undefined, error: undefined });
      onStarted(await res.json());
    } catch (error) {
      // Refused by the API: a new key next time; not reached: the same key again.
      setState({ busy: false, key: error.status ? undefined : key, error });
    }
  };
  return html`<div class="run-now">
    <button type="button" onClick=${run} disabled=${state.busy} aria-label=${`Run now: ${cronjob}`}>
      ${state.busy ? 'Starting…' : 'Run now'}
    </button>
    <${ProblemMessage} error=${state.error} />
  </div>`;
}
