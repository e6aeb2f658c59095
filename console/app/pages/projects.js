// Home: the projects the token grants (one project goes straight to its CronJobs).

import { html } from 'htm/preact';
import { useEffect } from 'preact/hooks';
import { hrefs } from '../links.js';
import { allProjects } from '../session.js';
import { useFocusHeading } from '../components/ui.js';

export function ProjectsPage({ session }) {
  const heading = useFocusHeading('projects');
  const { projects } = session.claims;
  const admin = allProjects(session.claims);
  document.title = 'Projects · HKS console';
  useEffect(() => {
    if (!admin && projects.length === 1) location.replace(hrefs.cronJobs(projects[0]));
  }, []);
  return html`<h1 tabindex="-1" ref=${heading}>Projects</h1>
    ${
      admin
        ? html`<p>
            Your token grants every project: type a project's name under
            <strong>Project</strong> above.
          </p>`
        : html`<ul class="projects">
            ${projects.map((p) => html`<li key=${p}><a href=${hrefs.cronJobs(p)}>${p}</a></li>`)}
          </ul>`
    }`;
}
