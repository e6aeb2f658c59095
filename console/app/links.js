// The console's addresses: hash routes, so the API serves one page. Project and names are
// path segments; a token never is. Later slices add their routes here (functions, forms).

const seg = encodeURIComponent;

/** Where each page is. */
export const hrefs = {
  home: () => '#/',
  cronJobs: (project) => `#/projects/${seg(project)}/cronjobs`,
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
  ['executions', /^\/projects\/([^/]+)\/cronjobs\/([^/]+)\/executions$/, ['project', 'cronjob']],
  [
    'logs',
    /^\/projects\/([^/]+)\/cronjobs\/([^/]+)\/executions\/([^/]+)\/logs$/,
    ['project', 'cronjob', 'id'],
  ],
];
