// Sign in: paste a token; it is checked by the API before it is kept (sessionStorage only).

import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { projectPath, request } from '../api.js';
import { ProblemMessage, useFocusHeading } from '../components/ui.js';
import { allProjects, keepToken, tokenClaims } from '../session.js';

export function SignInPage({ refused, onSignedIn }) {
  const heading = useFocusHeading('sign-in');
  const [error, setError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  document.title = 'Sign in · HKS console';
  const submit = async (event) => {
    event.preventDefault();
    const field = event.currentTarget.elements.token;
    const token = field.value.trim();
    setError(undefined);
    let claims;
    try {
      claims = tokenClaims(token);
    } catch (problem) {
      setError({ title: 'Not a usable token', detail: problem.message });
      field.focus();
      return;
    }
    // A project the token grants, asked once so that a token the API refuses is never kept.
    const project = allProjects(claims) ? undefined : claims.projects[0];
    setBusy(true);
    try {
      if (project) await request(projectPath(project, 'cronjobs'), { token });
      keepToken(token);
      field.value = '';
      onSignedIn({ token, claims });
    } catch (problem) {
      setError(problem);
      field.focus();
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="sign-in">
    <h1 tabindex="-1" ref=${heading}>Sign in</h1>
    ${
      refused &&
      html`<${ProblemMessage}
        error=${{ title: 'Signed out', detail: `The API refused the token: ${refused.detail ?? refused.title}` }}
      />`
    }
    <form onSubmit=${submit} class="stack">
      <label for="token">Token</label>

      <input
        id="token"
        name="token"
        type="password"
        autocomplete="off"
        spellcheck="false"
        required
        aria-describedby="token-help"
      />
      <p id="token-help" class="help">
        Paste the JWT you were given. It is kept in this tab only (sessionStorage) and sent to the
        API as the Authorization header, nowhere else.
      </p>
      <div><button type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button></div>
    </form>
    <${ProblemMessage} error=${error} />
  </section>`;
}
