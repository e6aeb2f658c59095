import type { Knex } from 'knex';
import { z } from 'zod';
import { checkAppName } from '../../constructs';
import { Problem } from '../problem';
import type { PriceTable } from '../usage/price-table';
import { UsageFigures, usageFigures } from '../usage/usage-cost';
import { USAGE_GROUPS, UsageFilter, UsageQueries } from '../usage/usage-queries';
import { parseRequest } from '../validate-request';
import { instant } from './execution-query';
import { isoTime } from './response-schemas';
import { Route } from './route';

/** Longest `from`…`to` span: a year (and a leap day). */
export const MAX_USAGE_SPAN_DAYS = 366;
/** Span when `from` is not given. */
export const DEFAULT_USAGE_SPAN_DAYS = 30;
/** Groups per page at most, and when `limit` is not given. */
export const MAX_USAGE_GROUPS = 500;
export const DEFAULT_USAGE_GROUPS = 100;

const DAY_MS = 86_400_000;
/** The form `instant` gives a valid bound (toISOString). */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const INSTANT_EXAMPLE = '2026-12-01T00:00:00Z';

const appName = (what: string) =>
  z
    .string()
    .superRefine((value, ctx) => {
      const problem = checkAppName(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
    })
    .optional()
    .meta({ description: what });

/** The query of a project's usage. */
export const usageQuery = z
  .strictObject({
    from: instant.meta({
      description: `Calls and runs that started at or after this instant (ISO 8601 with Z or an offset, e.g. ${INSTANT_EXAMPLE}). Default: ${DEFAULT_USAGE_SPAN_DAYS} days before to`,
    }),
    to: instant.meta({
      description:
        'Calls and runs that started before this instant (ISO 8601, as from). Default: now',
    }),
    groupBy: z.enum(USAGE_GROUPS).optional().meta({
      description: 'One group per function, per CronJob or per UTC day. Default: function',
    }),
    function: appName("Only this function's invocations (no CronJob runs)"),
    cronjob: appName("Only this CronJob's runs (no function invocations)"),
    limit: z.coerce.number().int().min(1).max(MAX_USAGE_GROUPS).optional(),
    cursor: z.string().optional().meta({
      description: 'nextCursor of the previous page (base64url, unpadded)',
      pattern: '^[A-Za-z0-9_-]+$',
    }),
  })
  .superRefine((query, ctx) => {
    const issue = (path: string, input: unknown, message: string) =>
      ctx.addIssue({ code: 'custom', path: [path], input, message });
    // A bound that failed its own check is not compared (its error is enough).
    const normalized = (value: string | undefined) => value === undefined || ISO_UTC.test(value);
    if (!normalized(query.from) || !normalized(query.to)) return;
    const to = query.to ?? new Date().toISOString();
    if (query.from !== undefined && query.from >= to)
      issue(
        'from',
        query.from,
        `given from ${query.from} at or after to ${to}, expected from before to`,
      );
    else if (
      query.from !== undefined &&
      Date.parse(to) - Date.parse(query.from) > MAX_USAGE_SPAN_DAYS * DAY_MS
    )
      issue(
        'from',
        query.from,
        `given from ${query.from} and to ${to}, expected at most ${MAX_USAGE_SPAN_DAYS} days between them`,
      );
    if (query.function !== undefined && query.cronjob !== undefined)
      issue(
        'cronjob',
        query.cronjob,
        `given both function ${JSON.stringify(query.function)} and cronjob ${JSON.stringify(query.cronjob)}, expected at most one of them`,
      );
    const groupBy = query.groupBy ?? 'function';
    if (query.cronjob !== undefined && groupBy === 'function')
      issue(
        'cronjob',
        query.cronjob,
        `given cronjob ${JSON.stringify(query.cronjob)} with groupBy=function, expected groupBy=cronjob or day`,
      );
    if (query.function !== undefined && groupBy === 'cronjob')
      issue(
        'function',
        query.function,
        `given function ${JSON.stringify(query.function)} with groupBy=cronjob, expected groupBy=function or day`,
      );
  });

const cost = z.object({
  compute: z.number().meta({ description: 'vcpuSeconds × prices.vcpuSecond' }),
  memory: z.number().meta({ description: 'gibSeconds × prices.gibSecond' }),
  requests: z.number().meta({ description: '(invocations + executions) × prices.invocation' }),
  total: z.number(),
});

const figures = {
  invocations: z.number().int().meta({ description: 'Function invocations' }),
  executions: z.number().int().meta({ description: 'Ended CronJob runs' }),
  durationSeconds: z.number().meta({ description: 'Run time: Σ durations' }),
  initSeconds: z
    .number()
    .meta({ description: 'Cold-start time of the runtimes (apart from the run time)' }),
  coldStarts: z.number().int().meta({ description: 'Invocations served by a cold instance' }),
  vcpuSeconds: z.number().meta({ description: 'Σ requested vCPU × run time in seconds' }),
  gibSeconds: z.number().meta({ description: 'Σ requested GiB of memory × run time in seconds' }),
  cost,
};

/** The answer of `GET /projects/{project}/usage`. */
export const usageReport = z.object({
  project: z.string(),
  from: isoTime,
  to: isoTime,
  groupBy: z.enum(USAGE_GROUPS),
  prices: z.object({
    vcpuSecond: z.number(),
    gibSecond: z.number(),
    invocation: z.number(),
    currency: z.string(),
  }),
  items: z.array(
    z.object({
      key: z.string().meta({ description: "The function's or CronJob's name, or the UTC day" }),
      ...figures,
    }),
  ),
  total: z.object(figures).meta({ description: 'Everything from…to selects, every page' }),
  nextCursor: z.string().optional(),
});
export type UsageReport = z.infer<typeof usageReport>;

/** `GET /projects/{project}/usage`: what the project's functions and CronJobs used and cost. */
export function usageRoutes(db: Knex, prices: PriceTable): Route[] {
  const queries = new UsageQueries(db);
  return [
    {
      method: 'get',
      path: '/projects/:project/usage',
      summary:
        'Usage and cost of the functions and CronJobs (?from=&to=&groupBy=function|cronjob|day&function=&cronjob=&limit=&cursor=): invocations, runs, run and cold-start time, requested vCPU-seconds and GiB-seconds, and their cost from the price table (HKS_PRICE_TABLE); groups in key order, keyset paging',
      query: usageQuery,
      responses: { 200: usageReport },
      handle: async (req, res) => {
        const query = parseRequest(usageQuery, req.query, 'query');
        const to = query.to ?? new Date().toISOString();
        const from =
          query.from ?? new Date(Date.parse(to) - DEFAULT_USAGE_SPAN_DAYS * DAY_MS).toISOString();
        const groupBy = query.groupBy ?? 'function';
        const filter: UsageFilter = {
          project: String(req.params.project),
          from,
          to,
          function: query.function,
          cronjob: query.cronjob,
        };
        const limit = query.limit ?? DEFAULT_USAGE_GROUPS;
        const [page, total] = await Promise.all([
          queries.groups(filter, groupBy, { limit, after: afterOf(query.cursor) }),
          queries.total(filter),
        ]);
        const last = page.groups.at(-1);
        const report: UsageReport = {
          project: filter.project,
          from,
          to,
          groupBy,
          prices,
          items: page.groups.map((g) => ({ key: g.key, ...usageFigures(g.sums, prices) })),
          total: usageFigures(total, prices) satisfies UsageFigures,
          ...(page.more && last ? { nextCursor: Buffer.from(last.key).toString('base64url') } : {}),
        };
        res.json(report);
      },
    },
  ];
}

/** The last key of the previous page. @throws Problem 400 for a cursor no page gave */
function afterOf(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (/^[a-z0-9-]{1,63}$/.test(key) && Buffer.from(key).toString('base64url') === cursor)
    return key;
  const message = `given ${JSON.stringify(cursor)}, expected a cursor returned as nextCursor by a previous page`;
  throw new Problem(400, 'Invalid request query', `query.cursor: ${message}`, [
    { path: 'cursor', message },
  ]);
}
