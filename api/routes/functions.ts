import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { AsyncInvocations, asyncSubmissionView, prefersAsync } from '../async-invocations';
import { forwardableHeaders } from '../function-proxy';
import { FUNCTION_RUNTIMES } from '../../constructs';
import { Functions, FunctionView, RevisionView } from '../functions';
import { parseRequest, queryFlag } from '../validate-request';
import { isoTime, itemsOf } from './response-schemas';
import { Route } from './route';

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

const invokeQuery = z.strictObject({
  tag: z
    .string()
    .regex(DNS_LABEL, 'expected a traffic tag (lower-case DNS label)')
    .optional()
    .meta({ description: 'Send the request to the revision with this traffic tag' }),
  async: queryFlag.meta({
    description: 'true: queue the invocation and answer 202 at once, as Prefer: respond-async',
  }),
});

/** `30s`, `5m`, `2h` → seconds. */
const since = z
  .string()
  .regex(/^\d{1,6}[smh]$/, 'expected a duration such as 30s, 5m or 2h')
  .transform((v) => Number(v.slice(0, -1)) * { s: 1, m: 60, h: 3600 }[v.slice(-1) as 's']);

/** The query of a function's logs (the MCP function_logs tool takes it without follow). */
export const logsQuery = z.strictObject({
  since: since.optional(),
  tail: z.coerce.number().int().min(1).max(100_000).optional(),
  follow: queryFlag,
});

const trafficBody = z.strictObject({
  traffic: z
    .array(
      z
        .strictObject({
          revision: z
            .string()
            .min(1)
            .optional()
            .meta({ description: 'A revision name, e.g. greet-00002' }),
          latestRevision: z
            .boolean()
            .optional()
            .meta({ description: 'true: whichever revision is latest ready' }),
          tag: z
            .string()
            .regex(DNS_LABEL, 'expected a lower-case DNS label such as canary')
            .optional(),
          percent: z.number().int().min(0).max(100),
        })
        .meta({
          description: 'Exactly one of revision and latestRevision: true',
          oneOf: [
            {
              required: ['revision'],
              not: {
                properties: { latestRevision: { const: true } },
                required: ['latestRevision'],
              },
            },
            {
              required: ['latestRevision'],
              properties: { latestRevision: { const: true } },
              not: { required: ['revision'] },
            },
          ],
        }),
    )
    .min(1)
    .max(20)
    .meta({
      description:
        'The percentages sum to 100; each revision is a revision of the function and each tag appears once',
    }),
});

const functionView: z.ZodType<FunctionView> = z.object({
  name: z.string(),
  project: z.string(),
  runtime: z.enum(FUNCTION_RUNTIMES),
  ready: z.boolean(),
  failed: z.boolean(),
  reason: z.string().optional(),
  message: z.string().optional(),
  url: z.string().optional(),
  address: z.string().optional(),
  latestCreatedRevision: z.string().optional(),
  latestReadyRevision: z.string().optional(),
  traffic: z.array(
    z.object({
      revision: z.string().optional(),
      latestRevision: z.boolean(),
      tag: z.string().optional(),
      percent: z.number(),
      url: z.string().optional(),
    }),
  ),
  timeoutSeconds: z.number(),
  ephemeral: z.boolean(),
  expiresAt: isoTime.optional(),
  createdAt: isoTime.optional(),
});

const revisionView: z.ZodType<RevisionView> = z.object({
  name: z.string(),
  generation: z.number().int().optional(),
  ready: z.boolean(),
  reason: z.string().optional(),
  message: z.string().optional(),
  createdAt: isoTime.optional(),
  percent: z.number(),
  tags: z.array(z.string()),
});

/** How long PUT traffic waits for the controller to take the new split over. */
const TRAFFIC_WAIT_MS = 10_000;

/** Routes of `/projects/{project}/functions`. */
export function functionRoutes(functions: Functions, async?: AsyncInvocations): Route[] {
  return [
    {
      method: 'get',
      path: '/projects/:project/functions',
      summary: 'List the functions of a project with URL, readiness, revisions and traffic',
      responses: { 200: itemsOf(functionView) },
      handle: async (req, res) => {
        res.json({ items: await functions.list(String(req.params.project)) });
      },
    },
    {
      method: 'get',
      path: '/projects/:project/functions/:name',
      summary:
        'A function: URL, readiness and its reason, latest and ready revisions, traffic (from its Knative Service)',
      responses: { 200: functionView },
      handle: async (req, res) => {
        res.json(await functions.get(String(req.params.project), String(req.params.name)));
      },
    },
    {
      method: 'post',
      path: '/projects/:project/functions/:name/invoke',
      summary:
        "Invoke a function: the body and headers go to the function, its status, headers and body come back (?tag= picks a tagged revision); 504 past the function's timeout, 502 for a response over HKS_FUNCTION_RESPONSE_LIMIT_BYTES; with Prefer: respond-async or ?async=true it is queued instead: 202 with its id and a Location to poll",
      query: invokeQuery,
      rawBody: true,
      passThrough: true,
      // 200 with the queued invocation when an Idempotency-Key replays one: under `default`
      // with the function's own answers, which may be 200 JSON too.
      responses: { 202: asyncSubmissionView },
      errors: [413, 422, 429, 503, 504],
      requestHeaders: {
        Prefer: 'respond-async: queue the invocation and answer 202 with its id and Location',
        'Idempotency-Key':
          'With respond-async: the same key (and body) returns the same invocation (200)',
        'X-Callback-Url': 'With respond-async: an http(s) URL the signed result is POSTed to',
      },
      handle: async (req, res) => {
        const query = parseRequest(invokeQuery, req.query, 'query');
        const { tag } = query;
        if (async && (query.async || prefersAsync(req.headers))) {
          const queued = await async.submit(
            req,
            String(req.params.project),
            String(req.params.name),
            tag,
          );
          res.status(queued.status);
          res.setHeader('location', queued.location);
          res.setHeader('preference-applied', 'respond-async');
          if (queued.status === 200) res.setHeader('idempotent-replayed', 'true');
          res.json(queued.view);
          return;
        }
        const body = Buffer.isBuffer(req.body) ? req.body : undefined;
        const { requestId, response, ended } = await functions.invokeStreaming(
          String(req.params.project),
          String(req.params.name),
          { headers: forwardableHeaders(req.headers), body, tag },
        );
        res.status(response.status);
        for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
        res.setHeader('x-request-id', requestId);
        if (response.status === 204 || response.status === 304) {
          // No body, whatever the function sent with it.
          response.body.resume();
          res.end();
          ended({ responseBytes: 0 });
          return;
        }
        res.setHeader('content-length', String(response.length));
        // A function that stops half way (or times out while streaming) cuts the response short:
        // the connection closes before content-length bytes, so the client sees the failure.
        let failure: unknown;
        let functionFailed = false;
        response.body.once('error', (error) => {
          functionFailed = true;
          failure = error;
        });
        await pipeline(response.body, res).catch((error: unknown) => {
          failure ??= error;
          res.destroy();
        });
        ended(
          failure === undefined
            ? { responseBytes: response.length }
            : { responseBytes: response.length, error: failure, clientGone: !functionFailed },
        );
      },
    },
    {
      method: 'get',
      path: '/projects/:project/functions/:name/logs',
      summary:
        "Logs of the function's pods (?since=5m&tail=100; ?follow=true streams until the pods end or the client leaves)",
      query: logsQuery,
      produces: 'text/plain',
      handle: async (req, res) => {
        const query = parseRequest(logsQuery, req.query, 'query');
        const project = String(req.params.project);
        const name = String(req.params.name);
        const limits = { sinceSeconds: query.since, tailLines: query.tail };
        if (!query.follow) {
          res.type('text/plain').send(await functions.logs(project, name, limits));
          return;
        }
        const abort = new AbortController();
        res.on('close', () => abort.abort());
        const out = new PassThrough();
        res.type('text/plain');
        res.flushHeaders();
        out.pipe(res);
        await functions.followLogs(project, name, limits, out, abort.signal);
        out.end();
      },
    },
    {
      method: 'get',
      path: '/projects/:project/functions/:name/revisions',
      summary: 'Revisions of a function, oldest first, with readiness, traffic share and tags',
      responses: { 200: itemsOf(revisionView) },
      handle: async (req, res) => {
        res.json({
          items: await functions.revisions(String(req.params.project), String(req.params.name)),
        });
      },
    },
    {
      method: 'put',
      path: '/projects/:project/functions/:name/traffic',
      summary:
        'Split traffic between revisions by percent (summing to 100), optionally tagged: blue-green and canary rollouts',
      body: trafficBody,
      responses: { 200: functionView },
      errors: [409, 422, 504],
      handle: async (req, res) => {
        const { traffic } = parseRequest(trafficBody, req.body, 'body');
        res.json(
          await functions.setTraffic(
            String(req.params.project),
            String(req.params.name),
            traffic,
            TRAFFIC_WAIT_MS,
          ),
        );
      },
    },
  ];
}
