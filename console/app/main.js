// The console's shell: session, hash router, header (project picker, navigation, sign out).

import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { whenUnauthorized } from './api.js';
import { hrefs, routeOf } from './links.js';
import { allProjects, currentSession, forgetToken } from './session.js';
import { ProblemMessage, useFocusHeading } from './components/ui.js';
import { SignInPage } from './pages/sign-in.js';
import { ProjectsPage } from './pages/projects.js';
import { CronJobsPage } from './pages/cronjobs.js';
import { ExecutionsPage } from './pages/executions.js';
import { LogsPage } from './pages/logs.js';
import { CronJobFormPage } from './pages/cronjob-form.js';
import { CronJobPage } from './pages/cronjob-detail.js';
import { ProjectExecutionsPage } from './pages/project-executions.js';
import { FunctionsPage } from './pages/functions.js';
import { FunctionPage } from './pages/function-detail.js';
import { FunctionDeployPage } from './pages/function-deploy.js';

/** The page of each route (links.js). */
const PAGES = {
  home: ProjectsPage,
  cronJobs: CronJobsPage,
  cronJob: CronJobPage,
  cronJobCreate: CronJobFormPage,
  cronJobEdit: CronJobFormPage,
  projectExecutions: ProjectExecutionsPage,
  functions: FunctionsPage,
  function: FunctionPage,
  functionCreate: FunctionDeployPage,
  executions: ExecutionsPage,
  logs: LogsPage,
  notFound: NotFoundPage,
};

function useHashRoute() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return routeOf(hash);
}

function App() {
  const [session, setSession] = useState(currentSession);
  const [refused, setRefused] = useState(undefined);
  const route = useHashRoute();
  useEffect(() => {
    whenUnauthorized((problem) => {
      forgetToken();
      setRefused(problem);
      setSession(null);
    });
  }, []);
  const signOut = () => {
    forgetToken();
    setRefused(undefined);
    setSession(null);
  };
  if (!session) {
    return html`<${Shell}>
      <${SignInPage}
        refused=${refused}
        onSignedIn=${(next) => {
          setRefused(undefined);
          setSession(next);
        }}
      />
    </${Shell}>`;
  }
  const Page = PAGES[route.page];
  const project = route.params.project;
  return html`<${Shell} session=${session} project=${project} onSignOut=${signOut}>
    <${Page} key=${route.page} session=${session} ...${route.params} query=${route.query} />
  </${Shell}>`;
}

function Shell({ session, project, onSignOut, children }) {
  return html`<a class="skip-link" href="#main" onClick=${skipToMain}>Skip to content</a>
    <header class="top">
      <a class="brand" href=${hrefs.home()}>HKS console</a>
      ${session && html`<${ProjectPicker} session=${session} project=${project} />`}
      ${
        session &&
        html`<nav aria-label="Sections" class="sections">
          ${
            project &&
            html`<a href=${hrefs.cronJobs(project)}>CronJobs</a>
              <a href=${hrefs.projectExecutions(project)}>Executions</a>
              <a href=${hrefs.functions(project)}>Functions</a>`
          }
        </nav>`
      }
      ${
        session &&
        html`<div class="who">
          <span class="subject">${session.claims.sub ?? 'signed in'}</span>
          <button type="button" class="secondary" onClick=${onSignOut}>Sign out</button>
        </div>`
      }
    </header>
    <main id="main" tabindex="-1">${children}</main>`;
}

/** The hash holds routes: move focus to the content instead of navigating to `#main`. */
function skipToMain(event) {
  event.preventDefault();
  document.getElementById('main')?.focus();
}

/** Switches project: the token's `projects`, or any name for a `*` token. */
function ProjectPicker({ session, project }) {
  const go = (name) => {
    if (name) location.hash = hrefs.cronJobs(name);
  };
  if (allProjects(session.claims)) {
    return html`<form
      class="project-picker"
      onSubmit=${(e) => {
        e.preventDefault();
        go(new FormData(e.currentTarget).get('project')?.toString().trim());
      }}
    >
      <label for="project-name">Project</label>
      <input
        id="project-name"
        name="project"
        value=${project ?? ''}
        required
        autocomplete="off"
        spellcheck="false"
      />
      <button type="submit" class="secondary">Open</button>
    </form>`;
  }
  const projects = session.claims.projects;
  return html`<div class="project-picker">
    <label for="project-select">Project</label>
    <select id="project-select" value=${project ?? ''} onChange=${(e) => go(e.currentTarget.value)}>
      ${project === undefined && html`<option value="" disabled>Choose…</option>`}
      ${projects.map((p) => html`<option key=${p} value=${p}>${p}</option>`)}
    </select>
  </div>`;
}

function NotFoundPage({ path }) {
  const heading = useFocusHeading(path);
  document.title = 'Not found · HKS console';
  return html`<h1 tabindex="-1" ref=${heading}>Not found</h1>
    <${ProblemMessage}
      error=${{ title: 'No such page', detail: `The console has no page ${path}` }}
    />
    <p><a href=${hrefs.home()}>Go to your projects</a></p>`;
}

document.getElementById('app').replaceChildren();
render(html`<${App} />`, document.getElementById('app'));
