import { z } from 'zod';
import type { ApplicationDefinition } from '../../constructs';
import { Applications, DeleteResult, WriteConditions } from '../applications';
import { entityTag } from '../entity-tag';
import { ApiMetrics } from '../metrics';
import { Problem } from '../problem';
import { parseRequest, queryFlag } from '../validate-request';
import { StoredApplication } from '../store/store';
import { definitionRef, isoTime, itemsOf } from './response-schemas';
import { Route } from './route';

const IF_MATCH =
  'Optional: apply only if the current version has this ETag (one of a list, or * for any); else 412 and nothing changes';

const dryRunQuery = z.strictObject({ dryRun: queryFlag });
const deleteQuery = z.strictObject({ purgeHistory: queryFlag });

/** A stored application: its definition and version. */
export interface ApplicationView {
  readonly name: string;
  readonly kind: ApplicationDefinition['kind'];
  /** Starts at 1; every replace adds one. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly definition: ApplicationDefinition;
}

/** What creating or replacing an application did. */
export interface ApplyResponse extends ApplicationView {
  /** Objects applied, as `Kind/name`. */
  readonly objects: string[];
  /** Objects of the previous version no longer produced, deleted, as `Kind/name`. */
  readonly pruned: string[];
  /** CronJobs re-applied because they use this application as their template. */
  readonly dependents: string[];
}

const applicationView: z.ZodType<ApplicationView> = z.object({
  name: z.string(),
  kind: z.enum(['StatelessApplication', 'CronJob', 'Function']),
  version: z.number().int().min(1),
  createdAt: isoTime,
  updatedAt: isoTime,
  definition: definitionRef,
});

const objectNames = z.array(z.string()).meta({ description: 'Objects as Kind/name' });

const applyResponse: z.ZodType<ApplyResponse> = z.object({
  name: z.string(),
  kind: z.enum(['StatelessApplication', 'CronJob', 'Function']),
  version: z.number().int().min(1),
  createdAt: isoTime,
  updatedAt: isoTime,
  definition: definitionRef,
  objects: objectNames,
  pruned: objectNames,
  dependents: z.array(z.string()),
});

/** `?dryRun=true`: the manifests the definition makes, not applied. */
const dryRunResponse = z.object({
  dryRun: z.literal(true),
  manifests: z.array(z.record(z.string(), z.unknown())),
});

const deleteResponse: z.ZodType<DeleteResult> = z.object({ deleted: objectNames });

function view(a: StoredApplication): ApplicationView {
  return {
    name: a.name,
    // The stored kind column is the definition's kind.
    kind: a.definition.kind,
    version: a.version,
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
    definition: a.definition,
  };
}

/** Routes of `/projects/{project}/applications` and `/projects/{project}/manifests`. */
export function applicationRoutes(applications: Applications, metrics: ApiMetrics): Route[] {
  const applyBody = async (
    project: string,
    body: unknown,
    dryRun: boolean,
    conditions: WriteConditions,
    name?: string,
  ) => {
    const definition = await applications.validate(project, body, name);
    if (dryRun) {
      return {
        status: 200,
        body: { dryRun: true, manifests: await applications.manifestsFor(definition) },
        etag: undefined,
      };
    }
    const done = metrics.timeApply(definition.kind);
    try {
      const result = await applications.apply(definition, conditions);
      done('ok');
      const body: ApplyResponse = {
        ...view(result.application),
        objects: result.objects.map((o) => `${o.kind}/${o.metadata.name}`),
        pruned: result.pruned,
        dependents: result.dependents,
      };
      return { status: 200, body, etag: entityTag(result.application) };
    } catch (error) {
      done('error');
      throw error;
    }
  };

  return [
    {
      method: 'post',
      path: '/projects/:project/applications',
      summary:
        'Create an application from a definition (any kind); ?dryRun=true returns its manifests without applying',
      query: dryRunQuery,
      body: 'definition',
      status: 201,
      responses: { 201: applyResponse, 200: dryRunResponse },
      errors: [409, 422, 429, 503],
      etag: true,
      handle: async (req, res) => {
        const { dryRun } = parseRequest(dryRunQuery, req.query, 'query');
        const project = String(req.params.project);
        const name = (req.body as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
        // Early and cheap; the apply checks again under the application's claim.
        if (typeof name === 'string' && (await applications.store.getApplication(project, name))) {
          throw new Problem(
            409,
            'Already exists',
            `Application ${JSON.stringify(name)} exists in project ${JSON.stringify(project)}; PUT /applications/${name} replaces it`,
          );
        }
        const result = await applyBody(project, req.body, dryRun, { create: true });
        if (result.etag) res.set('etag', result.etag);
        res.status(dryRun ? 200 : 201).json(result.body);
      },
    },
    {
      method: 'get',
      path: '/projects/:project/applications',
      summary: 'List the applications of a project',
      responses: { 200: itemsOf(applicationView) },
      handle: async (req, res) => {
        const items = await applications.store.listApplications(String(req.params.project));
        res.json({ items: items.map(view) });
      },
    },
    {
      method: 'get',
      path: '/projects/:project/applications/:name',
      summary: 'An application: its stored definition and version (ETag: the version)',
      responses: { 200: applicationView },
      etag: true,
      handle: async (req, res) => {
        const project = String(req.params.project);
        const name = String(req.params.name);
        const found = await applications.store.getApplication(project, name);
        if (!found) {
          const interrupted = await applications.store.getInterruptedApply(project, name);
          throw Problem.notFound(
            `No application ${JSON.stringify(name)} in project ${JSON.stringify(project)}${interrupted ? ` (its first apply, started ${interrupted.since}, is running or did not finish: PUT retries it, DELETE removes what it applied)` : ''}`,
          );
        }
        res.set('etag', entityTag(found)).json(view(found));
      },
    },
    {
      method: 'put',
      path: '/projects/:project/applications/:name',
      summary:
        'Create or replace an application; objects the new version no longer produces are pruned; If-Match makes it conditional on the current version',
      query: dryRunQuery,
      body: 'definition',
      responses: { 200: z.union([applyResponse, dryRunResponse]) },
      errors: [409, 412, 422, 429, 503],
      etag: true,
      requestHeaders: { 'If-Match': IF_MATCH },
      handle: async (req, res) => {
        const { dryRun } = parseRequest(dryRunQuery, req.query, 'query');
        const result = await applyBody(
          String(req.params.project),
          req.body,
          dryRun,
          { ifMatch: req.get('if-match') },
          String(req.params.name),
        );
        if (result.etag) res.set('etag', result.etag);
        res.status(result.status).json(result.body);
      },
    },
    {
      method: 'delete',
      path: '/projects/:project/applications/:name',
      summary:
        'Delete an application and its objects (jobs and pods cascade); ?purgeHistory=true also deletes its execution history',
      query: deleteQuery,
      responses: { 200: deleteResponse },
      errors: [409, 412, 422],
      requestHeaders: { 'If-Match': IF_MATCH },
      handle: async (req, res) => {
        const { purgeHistory } = parseRequest(deleteQuery, req.query, 'query');
        res.json(
          await applications.remove(
            String(req.params.project),
            String(req.params.name),
            purgeHistory,
            {
              ifMatch: req.get('if-match'),
            },
          ),
        );
      },
    },
    {
      method: 'get',
      path: '/projects/:project/manifests',
      summary: 'The whole project as multi-document YAML, exactly what synth writes',
      produces: 'application/yaml',
      handle: async (req, res) => {
        res
          .type('application/yaml')
          .send(await applications.projectManifests(String(req.params.project)));
      },
    },
  ];
}
