// The console's addresses: hash routes, so the API serves one page. Project and names are
// path segments; a token never is. Pages that create something live under /create/, a name
// no Kubernetes object can have there.

const seg = encodeURIComponent;

/** Where each page is. */
export const hrefs = {
  home: () => '#/',
  cronJobs: (project) => `#/projects/${seg(project)}/cronjobs`,
  cronJob: (project, cronjob) => `#/projects/${seg(project)}/cronjobs/${seg(cronjob)}`,
  cronJobEdit: (project, cronjob) => `#/projects/${seg(project)}/cronjobs/${seg(cronjob)}/edit`,
  cronJobCreate: (project) => `#/projects/${seg(project)}/create/cronjob`,
  /** Every CronJob's executions in the project. */
  projectExecutions: (project) => `#/projects/${seg(project)}/executions`,
  functions: (project) => `#/projects/${seg(project)}/functions`,
  function: (project, name) => `#/projects/${seg(project)}/functions/${seg(name)}`,
  functionCreate: (project) => `#/projects/${seg(project)}/create/function`,
  /** @param {string} [status] filter */
  executions: (project, cronjob, status) =>
    `#/projects/${seg(project)}/cronjobs/${seg(cronjob)}/executions${status ? `?status=${seg(status)}` : ''}`,
  logs: (project, cronjob, id) =>
    `#/projects/${seg(project)}/cronjobs/${seg(cronjob)}/executions/${seg(id)}/logs`,
};

/**
 * The route of a hash: the page's name, its parameters and query; `notFound` for others.
 * @param {string} hash e.g. `#/projects/shop/cronjobs`
 */
export function routeOf(hash) {
  const [path, search = ''] = (hash.replace(/^#/, '') || '/').split('?');
  const query = Object.fromEntries(new URLSearchParams(search));
  for (const [page, pattern, names] of ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(match[i + 1])]));
    return { page, params, query };
  }
  return { page: 'notFound', params: { path }, query };
}

const ROUTES = [
  ['home', /^\/$/, []],
  ['cronJobs', /^\/projects\/([^/]+)\/cronjobs$/, ['project']],
  ['cronJobCreate', /^\/projects\/([^/]+)\/create\/cronjob$/, ['project']],
  ['cronJob', /^\/projects\/([^/]+)\/cronjobs\/([^/]+)$/, ['project', 'cronjob']],
  ['cronJobEdit', /^\/projects\/([^/]+)\/cronjobs\/([^/]+)\/edit$/, ['project', 'cronjob']],
  ['projectExecutions', /^\/projects\/([^/]+)\/executions$/, ['project']],
  ['functions', /^\/projects\/([^/]+)\/functions$/, ['project']],
  ['functionCreate', /^\/projects\/([^/]+)\/create\/function$/, ['project']],
  ['function', /^\/projects\/([^/]+)\/functions\/([^/]+)$/, ['project', 'name']],
  ['executions', /^\/projects\/([^/]+)\/cronjobs\/([^/]+)\/executions$/, ['project', 'cronjob']],
  [
    'logs',
    /^\/projects\/([^/]+)\/cronjobs\/([^/]+)\/executions\/([^/]+)\/logs$/,
    ['project', 'cronjob', 'id'],
  ],
];
