import { z } from 'zod';
import { checkAppName } from '../../constructs';
import type { Functions } from '../functions';
import { Problem } from '../problem';
import {
  FunctionInvocation,
  INVOCATION_STATUSES,
  INVOCATION_TRIGGERS,
  InvocationFilter,
  InvocationPage,
  InvocationStatus,
  InvocationStore,
  InvocationTrigger,
} from '../store/invocation-store';
import { parseRequest } from '../validate-request';
import {
  checkTimeRange,
  DEFAULT_EXECUTION_PAGE,
  instant,
  MAX_EXECUTION_PAGE,
  withCursorChecked,
} from './execution-query';
import { isoTime } from './response-schemas';
import { Route } from './route';

const INSTANT_EXAMPLE = '2026-01-31T02:30:00Z';

const invocationFilters = {
  limit: z.coerce.number().int().min(1).max(MAX_EXECUTION_PAGE).optional(),
  cursor: z.string().optional().meta({
    description: 'nextCursor of the previous page (base64url, unpadded)',
    pattern: '^[A-Za-z0-9_-]+$',
  }),
  status: z.enum(INVOCATION_STATUSES).optional(),
  trigger: z.enum(INVOCATION_TRIGGERS).optional(),
  since: instant.meta({
    description: `Invocations that started at or after this instant (ISO 8601 with Z or an offset, e.g. ${INSTANT_EXAMPLE})`,
  }),
  until: instant.meta({
    description: 'Invocations that started before this instant (ISO 8601, as since)',
  }),
};

/** The query of a function's invocations. */
export const invocationsQuery = z.strictObject(invocationFilters).superRefine(checkTimeRange);

/** The query of a project's invocations: the same, and a function's name. */
export const projectInvocationsQuery = z
  .strictObject({
    ...invocationFilters,
    function: z
      .string()
      .superRefine((value, ctx) => {
        const problem = checkAppName(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
      })
      .optional()
      .meta({ description: "Only this function's invocations" }),
  })
  .superRefine(checkTimeRange);

/** Paging and filters of an invocation history (the SDK takes it). */
export interface InvocationQuery {
  /** Items per page, 1 to 100. @default 20 */
  readonly limit?: number;
  /** `nextCursor` of the previous page. @default - the first page */
  readonly cursor?: string;
  /** Only invocations that ended so. @default - all */
  readonly status?: InvocationStatus;
  /** Only invocations of this trigger. @default - all */
  readonly trigger?: InvocationTrigger;
  /** Only invocations that started at or after this instant (ISO 8601). @default - no bound */
  readonly since?: string;
  /** Only invocations that started before this instant (ISO 8601). @default - no bound */
  readonly until?: string;
}

/** An invocation as the routes show it (a page's items have no logs). */
export type InvocationView = FunctionInvocation;

const invocationError = z.object({
  type: z.string().meta({
    description:
      "The exception's type the function raised (ValueError, TypeError, Timeout...), or why the platform got no answer: Timeout, ResponseTooLarge, Unreachable, ClientGone",
  }),
  message: z.string(),
  stack: z.string().optional(),
});

export const invocationView: z.ZodType<InvocationView> = z.object({
  id: z.string().meta({
    description: 'The id the API gave the invocation, sent to the function as X-Request-Id',
  }),
  project: z.string(),
  function: z.string(),
  revision: z.string().optional().meta({
    description:
      "The revision that answered, as the platform's runtime says it (K_REVISION), or the one revision the traffic sent it to; absent when neither tells",
  }),
  tag: z.string().optional(),
  trigger: z.enum(INVOCATION_TRIGGERS).meta({
    description:
      "What made the call (OpenTelemetry's faas.trigger): http the invoke route, execute execute-once; timer, async and event for triggers to come",
  }),
  clientRequestId: z.string().optional().meta({
    description:
      "The client's X-Request-Id, kept to correlate (at most 200 characters); not unique",
  }),
  cron: z.string().optional().meta({ description: 'faas.cron of a timer invocation' }),
  scheduledTime: isoTime.optional().meta({ description: 'faas.time of a timer invocation' }),
  startedAt: isoTime,
  durationMs: z.number().min(0),
  status: z.enum(INVOCATION_STATUSES),
  httpStatus: z.number().int().optional().meta({
    description: 'The status the function answered; absent when no answer came',
  }),
  requestBytes: z.number().int().min(0),
  responseBytes: z.number().int().min(0).optional(),
  error: invocationError.optional(),
  logs: z.string().optional().meta({
    description:
      "What the code wrote during the invocation, as its runtime returned it (only when one is read, not in a page); absent when the runtime returned none (output over 8 KiB, or an image without the platform's runtime)",
  }),
  cpuMillis: z.number().min(0).optional().meta({
    description:
      "CPU the function's containers requested at the call, millicores: with durationMs, the invocation's vCPU-seconds (docs/usage-and-cost.md); absent when not known",
  }),
  memoryBytes: z.number().min(0).optional().meta({
    description:
      "Memory the function's containers requested at the call, bytes: with durationMs, its GiB-seconds; absent when not known",
  }),
  initMs: z.number().min(0).optional().meta({
    description:
      "A cold start: the handler's load time on the new instance that answered (X-Hks-Init-Ms), apart from durationMs and not billed; absent when the instance was warm",
  }),
});

export const invocationPage: z.ZodType<InvocationPage> = z.object({
  items: z.array(invocationView),
  nextCursor: z.string().optional(),
});

/** A page of the history as the routes answer it. */
async function pageOf(
  store: InvocationStore,
  filter: InvocationFilter,
  query: { limit?: number; cursor?: string },
): Promise<InvocationPage> {
  return withCursorChecked(() =>
    store.list(filter, { limit: query.limit ?? DEFAULT_EXECUTION_PAGE, cursor: query.cursor }),
  );
}

/**
 * Routes of the invocation history: a function's invocations and one of them, a project's
 * invocations. A deleted function keeps its history; a function never known is 404.
 */
export function functionInvocationRoutes(functions: Functions, store: InvocationStore): Route[] {
  /** @throws Problem 404 for a function that neither exists nor has history */
  const checkKnown = async (project: string, name: string) => {
    await functions.find(project, name).catch(async (error: unknown) => {
      const page = await store.list({ project, function: name }, { limit: 1 });
      if (page.items.length === 0) throw error;
    });
  };
  return [
    {
      method: 'get',
      path: '/projects/:project/functions/:name/invocations',
      summary:
        'Invocation history of a function, newest first, with cursor paging (?limit=&cursor=&status=&trigger=&since=&until=); since and until bound the start time; a deleted function keeps its history',
      query: invocationsQuery,
      responses: { 200: invocationPage },
      handle: async (req, res) => {
        const query = parseRequest(invocationsQuery, req.query, 'query');
        const project = String(req.params.project);
        const name = String(req.params.name);
        await checkKnown(project, name);
        const { limit, cursor, ...filters } = query;
        res.json(await pageOf(store, { ...filters, project, function: name }, { limit, cursor }));
      },
    },
    {
      method: 'get',
      path: '/projects/:project/functions/:name/invocations/:id',
      summary:
        'One invocation: trigger, revision, times, status, sizes, error and the logs its runtime returned',
      responses: { 200: invocationView },
      handle: async (req, res) => {
        const project = String(req.params.project);
        const name = String(req.params.name);
        const found = await store.get(project, name, String(req.params.id));
        if (!found)
          throw Problem.notFound(
            `No invocation ${JSON.stringify(String(req.params.id))} of function ${JSON.stringify(name)} in project ${JSON.stringify(project)}`,
          );
        res.json(found);
      },
    },
    {
      method: 'get',
      path: '/projects/:project/invocations',
      summary:
        'The invocations of every function of the project, newest first, with cursor paging (?limit=&cursor=&status=&trigger=&since=&until=&function=)',
      query: projectInvocationsQuery,
      responses: { 200: invocationPage },
      handle: async (req, res) => {
        const query = parseRequest(projectInvocationsQuery, req.query, 'query');
        const { limit, cursor, ...filters } = query;
        res.json(
          await pageOf(
            store,
            { ...filters, project: String(req.params.project) },
            { limit, cursor },
          ),
        );
      },
    },
  ];
}
