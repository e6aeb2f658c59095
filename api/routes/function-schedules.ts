import { hostname } from 'node:os';
import { z } from 'zod';
import type { FunctionSchedules, ScheduleView } from '../function-schedules/function-schedules';
import { SCHEDULE_RUN_STATUSES, ScheduleRun } from '../function-schedules/schedule-runs';
import { parseRequest } from '../validate-request';
import { isoTime } from './response-schemas';
import { Route } from './route';

const scheduleRun: z.ZodType<ScheduleRun> = z.object({
  project: z.string(),
  function: z.string(),
  schedule: z.string(),
  scheduledTime: isoTime.meta({
    description: 'When it was due (faas.time); for a manual run, when it was asked for',
  }),
  trigger: z.enum(['timer', 'manual']),
  status: z.enum(SCHEDULE_RUN_STATUSES),
  cron: z.string().meta({ description: 'faas.cron: the schedule at the time of the run' }),
  timeZone: z.string(),
  invocationId: z.string().optional().meta({
    description:
      "Its invocation in the function's history (/invocations/{id}); absent when the function was not called",
  }),
  claimedBy: z.string().optional(),
  claimedAt: isoTime,
  deadlineAt: isoTime.optional(),
  endedAt: isoTime.optional(),
  httpStatus: z.number().int().optional(),
  reason: z.string().optional(),
  output: z.string().optional().meta({
    description: "The function's answer as UTF-8 text, at most 64 KiB",
  }),
  outputTruncated: z.boolean().optional(),
});

const scheduleView: z.ZodType<ScheduleView> = z.object({
  name: z.string(),
  cron: z.string(),
  timeZone: z.string(),
  input: z.unknown(),
  concurrencyPolicy: z.enum(['Allow', 'Forbid']),
  suspend: z.boolean(),
  startingDeadlineSeconds: z.number().int(),
  nextRuns: z.array(isoTime),
  lastRun: scheduleRun.optional(),
});

const runsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).optional(),
});

const suspendBody = z.strictObject({
  suspend: z.boolean().meta({ description: 'true: no new runs; false: runs again from now on' }),
});

/**
 * Routes of functions' schedules: each schedule with its next and last runs, a manual run, and
 * suspend/resume, which applies the definition with the schedule's `suspend` set.
 */
export function functionScheduleRoutes(schedules: FunctionSchedules): Route[] {
  const base = '/projects/:project/functions/:name/schedules';
  const params = (req: { params: Record<string, unknown> }) =>
    [String(req.params.project), String(req.params.name)] as const;
  return [
    {
      method: 'get',
      path: base,
      summary:
        "A function's schedules: cron, zone, input, concurrency policy, suspend, deadline, the next runs and the last run",
      responses: { 200: z.object({ items: z.array(scheduleView) }) },
      handle: async (req, res) => {
        res.json({ items: await schedules.list(...params(req)) });
      },
    },
    {
      method: 'get',
      path: `${base}/:schedule/runs`,
      summary:
        "A schedule's runs, newest first (?limit=, 1 to 100, default 20): timer and manual, with status (running, succeeded, failed, skipped, missed, lost), invocation id and output",
      query: runsQuery,
      responses: { 200: z.object({ items: z.array(scheduleRun) }) },
      handle: async (req, res) => {
        const { limit } = parseRequest(runsQuery, req.query, 'query');
        res.json({
          items: await schedules.runsOf(...params(req), String(req.params.schedule), limit ?? 20),
        });
      },
    },
    {
      method: 'post',
      path: `${base}/:schedule/trigger`,
      summary:
        "Runs a schedule now with its input (recorded as a manual run, and in the invocation history with trigger timer); answers when the function has; 409 while a Forbid schedule's run still runs",
      status: 201,
      responses: { 201: scheduleRun },
      errors: [409],
      handle: async (req, res) => {
        const run = await schedules.trigger(
          ...params(req),
          String(req.params.schedule),
          `${hostname()} (manual)`,
        );
        res.status(201).json(run);
      },
    },
    {
      method: 'patch',
      path: `${base}/:schedule`,
      summary:
        'Suspends ({"suspend": true}) or resumes ({"suspend": false}) a schedule by applying the definition with it set; times missed while suspended are not run',
      body: suspendBody,
      responses: { 200: scheduleView },
      errors: [409, 412],
      handle: async (req, res) => {
        const { suspend } = parseRequest(suspendBody, req.body, 'body');
        res.json(
          await schedules.setSuspended(...params(req), String(req.params.schedule), suspend),
        );
      },
    },
  ];
}
