import { z } from 'zod';
import { Schedule, SchedulePreview, checkTimeZone } from '../../constructs';
import { parseRequest } from '../validate-request';
import { isoTime } from './response-schemas';
import { Route } from './route';

/** Runs a preview answers when `count` is not given, and at most. */
export const DEFAULT_PREVIEW_RUNS = 5;
export const MAX_PREVIEW_RUNS = 50;

/** An instant with its zone designator: a time without one would be read in the API's zone. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const nextQuery = z
  .strictObject({
    schedule: z.string().meta({
      description:
        '5 fields "minute hour day-of-month month day-of-week" or a macro such as @daily',
    }),
    timeZone: z
      .string()
      .optional()
      .meta({ description: 'IANA zone the schedule is read in (default UTC)' }),
    count: z
      .string()
      .optional()
      .meta({
        description: `How many runs, 1 to ${MAX_PREVIEW_RUNS} (default ${DEFAULT_PREVIEW_RUNS})`,
        pattern: '^[0-9]+$',
      }),
    from: z.string().optional().meta({
      description:
        'ISO 8601 instant with Z or an offset to count from, exclusive (default now), e.g. 2026-03-08T00:00:00Z',
    }),
  })
  .superRefine((query, ctx) => {
    const problems = {
      schedule: Schedule.check(query.schedule),
      timeZone: query.timeZone === undefined ? undefined : checkTimeZone(query.timeZone),
      count: query.count === undefined ? undefined : countProblem(query.count),
      from: query.from === undefined ? undefined : fromProblem(query.from),
    };
    for (const [field, message] of Object.entries(problems)) {
      if (message) {
        const input = query[field as keyof typeof problems];
        ctx.addIssue({ code: 'custom', path: [field], message, input });
      }
    }
  });

function countProblem(count: string): string | undefined {
  const value = Number(count);
  return /^\d+$/.test(count) && value >= 1 && value <= MAX_PREVIEW_RUNS
    ? undefined
    : `given ${JSON.stringify(count)}, expected a whole number from 1 to ${MAX_PREVIEW_RUNS}`;
}

function fromProblem(from: string): string | undefined {
  if (!ISO_INSTANT.test(from) || Number.isNaN(Date.parse(from))) {
    return `given ${JSON.stringify(from)}, expected an ISO 8601 instant with Z or an offset, e.g. 2026-03-08T00:00:00Z`;
  }
  return Schedule.checkFrom(new Date(from));
}

/** The query of a schedule preview. */
export interface ScheduleNextQuery {
  /** 5 fields or a macro such as `@daily`. */
  readonly schedule: string;
  /** IANA zone. @default "UTC" */
  readonly timeZone?: string;
  /** How many runs, 1 to 50. @default 5 */
  readonly count?: string;
  /** ISO 8601 instant with a zone designator, exclusive. @default now */
  readonly from?: string;
}

/** The next runs of a schedule as the CronJob controller will start them. */
export interface ScheduleNextView {
  /** The schedule as given. */
  readonly schedule: string;
  /** Its five fields (a macro expanded). */
  readonly expression: string;
  readonly timeZone: string;
  readonly runs: { readonly at: string; readonly local: string; readonly repeatedHour: boolean }[];
  readonly skipped: SchedulePreview['skipped'];
}

const scheduleNextView: z.ZodType<ScheduleNextView> = z.object({
  schedule: z.string(),
  expression: z.string().meta({ description: 'The five fields (a macro expanded)' }),
  timeZone: z.string(),
  runs: z.array(
    z.object({
      at: isoTime,
      local: z.string().meta({
        description:
          'The wall time in timeZone with its offset (Z for zero), e.g. 2026-11-01T01:30:00-04:00',
      }),
      repeatedHour: z.boolean().meta({
        description:
          'The clock reads this wall time twice that day (it falls back); the controller runs at both',
      }),
    }),
  ),
  skipped: z
    .array(
      z.object({
        local: z.string().meta({ description: 'The wall time, YYYY-MM-DDTHH:MM' }),
        reason: z.enum(['dst-gap', 'stepped-over']).meta({
          description:
            'dst-gap: the clock springs forward over it; stepped-over: it exists, but on this day of a clock change the controller steps past it',
        }),
      }),
    )
    .meta({
      description:
        'Wall times the schedule names after from and up to the last run on which no Job starts',
    }),
});

/** Routes of `/schedules`: what a schedule means, for any caller with a token. */
export function scheduleRoutes(): Route[] {
  return [
    {
      method: 'get',
      path: '/schedules/next',
      summary:
        'The next runs of a schedule in a time zone as the CronJob controller will start them, with their wall times, repeated hours and the wall times skipped by clock changes',
      query: nextQuery,
      responses: { 200: scheduleNextView },
      handle: async (req, res) => {
        const query: ScheduleNextQuery = parseRequest(nextQuery, req.query, 'query');
        const timeZone = query.timeZone ?? 'UTC';
        const schedule = Schedule.cron(query.schedule);
        const preview = schedule.preview(Number(query.count ?? DEFAULT_PREVIEW_RUNS), {
          timeZone,
          from: query.from === undefined ? undefined : new Date(query.from),
        });
        const view: ScheduleNextView = {
          schedule: query.schedule,
          expression: schedule.expression,
          timeZone,
          runs: preview.runs.map((run) => ({ ...run, at: run.at.toISOString() })),
          skipped: preview.skipped,
        };
        res.json(view);
      },
    },
  ];
}
