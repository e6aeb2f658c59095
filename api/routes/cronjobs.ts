import { createHash, randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { z } from 'zod';
import { CronJobDefinition, Schedule, checkTimeZone } from '../../constructs';
import type { V1CronJob, V1Job } from '@kubernetes/client-node';
import { Applications } from '../applications';
import { heldJobFields } from '../job-finalizer';
import { Kube } from '../kube';
import { Problem } from '../problem';
import { ExecutionStatus, RecentRun } from '../store/store';
import { parseRequest, queryFlag } from '../validate-request';
import {
  DEFAULT_EXECUTION_PAGE,
  ExecutionQuery,
  executionsQuery,
  withCursorChecked,
} from './execution-query';
import { executionPage, executionView, toExecutionPage, toExecutionView } from './execution-views';
import { projectExecutionRoutes } from './project-executions';
import { definitionRef, isoTime, itemsOf } from './response-schemas';
import { Route } from './route';

export type { ExecutionQuery, ProjectExecutionQuery } from './execution-query';
export type { ExecutionView } from './execution-views';

const scheduleBody = z
  .strictObject({
    schedule: z.string().optional(),
    timeZone: z.string().nullable().optional(),
  })
  .superRefine((body, ctx) => {
    if (body.schedule === undefined && body.timeZone === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'given neither schedule nor timeZone, expected at least one of them',
        input: body,
      });
    }
    const scheduleProblem = body.schedule === undefined ? undefined : Schedule.check(body.schedule);
    if (scheduleProblem)
      ctx.addIssue({
        code: 'custom',
        path: ['schedule'],
        message: scheduleProblem,
        input: body.schedule,
      });
    const zoneProblem =
      typeof body.timeZone === 'string' ? checkTimeZone(body.timeZone) : undefined;
    if (zoneProblem)
      ctx.addIssue({
        code: 'custom',
        path: ['timeZone'],
        message: zoneProblem,
        input: body.timeZone,
      });
  });

/** Runs per CronJob in the list's `recentRuns`: when `runs` is not given, and at most. */
export const DEFAULT_LIST_RUNS = 10;
export const MAX_LIST_RUNS = 50;

const listQuery = z.strictObject({
  runs: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_LIST_RUNS)
    .optional()
    .meta({
      description: `Runs per CronJob in recentRuns, newest first (default ${DEFAULT_LIST_RUNS})`,
    }),
});
const logsQuery = z.strictObject({ follow: queryFlag });

/** New schedule and/or time zone of a CronJob (at least one). */
export interface ScheduleChange {
  /** 5 fields or a macro such as `@daily`. @default - unchanged */
  readonly schedule?: string;
  /** IANA zone; `null` removes it. @default - unchanged */
  readonly timeZone?: string | null;
}

/** The query of the CronJob list. */
export interface CronJobListQuery {
  /** Runs per CronJob in `recentRuns`, 0 to 50. @default 10 */
  readonly runs?: number;
}

/** A run of a CronJob in the list: enough for a status badge, a duration and a link. */
export interface RunSummary {
  /** The Job's UID: the execution id. */
  readonly id: string;
  readonly trigger: 'scheduled' | 'manual';
  readonly status: ExecutionStatus;
  readonly startedAt: string;
  readonly completedAt?: string;
  /** From start to completion. @default - none: running, or its end is unknown */
  readonly durationMs?: number;
}

/** A CronJob in a project's list. */
export interface CronJobSummary {
  readonly name: string;
  readonly schedule: string;
  /** IANA zone the schedule is read in (`UTC` when the definition names none). */
  readonly timeZone: string;
  readonly suspended: boolean;
  /** The StatelessApplication it copies its container from, when it has one. */
  readonly template?: string;
  readonly version: number;
  readonly updatedAt: string;
  /** The next run time by the schedule in its zone (ISO 8601). @default - none while suspended */
  readonly nextRun?: string;
  /** Its newest run. @default - none: it has not run (or its history was removed) */
  readonly lastRun?: RunSummary;
  /** Its newest runs, newest first, as many as the query's `runs`. */
  readonly recentRuns: RunSummary[];
}

/** A CronJob: definition, live status and the next run times. */
export interface CronJobView {
  readonly name: string;
  readonly definition: CronJobDefinition;
  readonly status: {
    /** Whether the CronJob object exists in the cluster. */
    readonly exists: boolean;
    readonly suspended: boolean;
    readonly lastScheduleTime?: string;
    readonly lastSuccessfulTime?: string;
    /** Names of the Jobs running now. */
    readonly activeJobs: string[];
  };
  /** IANA zone the schedule is read in (`UTC` when the definition names none). */
  readonly timeZone: string;
  /** The next 5 run times, ISO 8601. */
  readonly nextRuns: string[];
}

/** The result of changing a CronJob's schedule, or suspending / resuming it. */
export interface CronJobChange {
  readonly name: string;
  readonly version: number;
  readonly definition: CronJobDefinition;
}

/** The Job a manual trigger created. */
export interface TriggerResult {
  /** The Job's name. */
  readonly job: string;
  /** The Job's UID: the execution id. */
  readonly id: string;
}

/** How long an Idempotency-Key of a trigger is kept. */
export const TRIGGER_KEY_TTL_MS = 24 * 60 * 60 * 1000;

/** The header that makes a trigger idempotent. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

const cronJobDefinition = definitionRef as z.ZodType<CronJobDefinition>;

const runSummary: z.ZodType<RunSummary> = z.object({
  id: z.string(),
  trigger: z.enum(['scheduled', 'manual']),
  status: z.enum(['running', 'succeeded', 'failed', 'unknown']),
  startedAt: isoTime,
  completedAt: isoTime.optional(),
  durationMs: z.number().int().min(0).optional().meta({
    description: 'From start to completion; absent while running or when its end is unknown',
  }),
});

const cronJobSummary: z.ZodType<CronJobSummary> = z.object({
  name: z.string(),
  schedule: z.string(),
  timeZone: z.string(),
  suspended: z.boolean(),
  template: z.string().optional(),
  version: z.number().int().min(1),
  updatedAt: isoTime,
  nextRun: isoTime.optional().meta({
    description: 'The next run time by the schedule in its time zone; absent while suspended',
  }),
  lastRun: runSummary.optional().meta({ description: 'The newest run; absent when none is kept' }),
  recentRuns: z.array(runSummary).meta({ description: 'The newest runs (?runs=), newest first' }),
});

const cronJobView: z.ZodType<CronJobView> = z.object({
  name: z.string(),
  definition: cronJobDefinition,
  status: z.object({
    exists: z.boolean(),
    suspended: z.boolean(),
    lastScheduleTime: isoTime.optional(),
    lastSuccessfulTime: isoTime.optional(),
    activeJobs: z.array(z.string()),
  }),
  timeZone: z.string(),
  nextRuns: z.array(isoTime),
});

const cronJobChange: z.ZodType<CronJobChange> = z.object({
  name: z.string(),
  version: z.number().int().min(1),
  definition: cronJobDefinition,
});

const triggerResult: z.ZodType<TriggerResult> = z.object({ job: z.string(), id: z.string() });

/** client-node reads the times of a CronJob's status as Dates; the JSON has ISO strings. */
function isoOf(time: Date | string | undefined): string | undefined {
  return time === undefined ? undefined : new Date(time).toISOString();
}

function toRunSummary(run: RecentRun): RunSummary {
  const durationMs =
    run.completedAt === undefined
      ? undefined
      : Math.max(0, Date.parse(run.completedAt) - Date.parse(run.startedAt));
  return {
    id: run.jobUid,
    trigger: run.trigger,
    status: run.status,
    startedAt: run.startedAt,
    completedAt: run.completedAt,
    durationMs,
  };
}

/** Routes of `/projects/{project}/cronjobs/{name}`. */
export function cronJobRoutes(applications: Applications, kube: Kube): Route[] {
  const store = applications.store;

  const definitionOf = async (project: string, name: string): Promise<CronJobDefinition> => {
    const found = await store.getApplication(project, name);
    if (!found || found.definition.kind !== 'CronJob') {
      throw Problem.notFound(
        `No CronJob ${JSON.stringify(name)} in project ${JSON.stringify(project)}`,
      );
    }
    return found.definition;
  };

  const reapply = async (definition: CronJobDefinition): Promise<CronJobChange> => {
    const result = await applications.apply(definition);
    // The definition as applied, which is what was stored.
    return { name: result.application.name, version: result.application.version, definition };
  };

  const execution = async (project: string, name: string, id: string) => {
    const found = await store.getExecution(project, name, id);
    if (!found)
      throw Problem.notFound(
        `No execution ${JSON.stringify(id)} of CronJob ${JSON.stringify(name)}`,
      );
    return found;
  };

  return [
    {
      method: 'get',
      path: '/projects/:project/cronjobs',
      summary:
        'List the CronJobs of a project with their schedule, time zone, suspension, next run, last run and the newest runs (?runs=, default 10, at most 50)',
      query: listQuery,
      responses: { 200: itemsOf(cronJobSummary) },
      handle: async (req, res) => {
        const { runs = DEFAULT_LIST_RUNS }: CronJobListQuery = parseRequest(
          listQuery,
          req.query,
          'query',
        );
        const project = String(req.params.project);
        const cronJobs = (await store.listApplications(project)).filter(
          (a) => a.definition.kind === 'CronJob',
        );
        // One read for every CronJob's runs; at least one for lastRun.
        const runsOf = await store.recentRuns(
          project,
          cronJobs.map((a) => a.name),
          Math.max(runs, 1),
        );
        const items = cronJobs.map((a): CronJobSummary => {
          const definition = a.definition as CronJobDefinition;
          const timeZone = definition.spec.timeZone ?? 'UTC';
          const suspended = definition.spec.suspend ?? false;
          const recent = (runsOf.get(a.name) ?? []).map(toRunSummary);
          return {
            name: a.name,
            schedule: definition.spec.schedule,
            timeZone,
            suspended,
            template: definition.spec.template,
            version: a.version,
            updatedAt: a.updatedAt,
            nextRun: suspended
              ? undefined
              : Schedule.cron(definition.spec.schedule).nextRuns(1, { timeZone })[0]?.toISOString(),
            lastRun: recent[0],
            recentRuns: recent.slice(0, runs),
          };
        });
        res.json({ items });
      },
    },
    {
      method: 'get',
      path: '/projects/:project/cronjobs/:name',
      summary: 'A CronJob: definition, live status and the next 5 run times in its time zone',
      responses: { 200: cronJobView },
      handle: async (req, res) => {
        const project = String(req.params.project);
        const definition = await definitionOf(project, String(req.params.name));
        const live = await kube.getCronJob(
          applications.namespaceOf(project),
          definition.metadata.name,
        );
        const timeZone = definition.spec.timeZone ?? 'UTC';
        const view: CronJobView = {
          name: definition.metadata.name,
          definition,
          status: {
            exists: live !== undefined,
            suspended: live?.spec?.suspend ?? definition.spec.suspend ?? false,
            lastScheduleTime: isoOf(live?.status?.lastScheduleTime),
            lastSuccessfulTime: isoOf(live?.status?.lastSuccessfulTime),
            activeJobs: (live?.status?.active ?? []).flatMap((ref) => (ref.name ? [ref.name] : [])),
          },
          timeZone,
          nextRuns: Schedule.cron(definition.spec.schedule)
            .nextRuns(5, { timeZone })
            .map((d) => d.toISOString()),
        };
        res.json(view);
      },
    },
    {
      method: 'patch',
      path: '/projects/:project/cronjobs/:name/schedule',
      summary: 'Change the schedule and/or time zone (null removes the time zone)',
      body: scheduleBody,
      responses: { 200: cronJobChange },
      // 429, 503: the definition workers.
      errors: [409, 422, 429, 503],
      handle: async (req, res) => {
        const body: ScheduleChange = parseRequest(scheduleBody, req.body, 'body');
        const definition = await definitionOf(String(req.params.project), String(req.params.name));
        const spec = { ...definition.spec };
        if (body.schedule !== undefined) spec.schedule = body.schedule.trim();
        if (body.timeZone === null) delete spec.timeZone;
        else if (body.timeZone !== undefined) spec.timeZone = body.timeZone;
        res.json(await reapply({ ...definition, spec }));
      },
    },
    ...(['suspend', 'resume'] as const).map((action): Route => ({
      method: 'post',
      path: `/projects/:project/cronjobs/:name/${action}`,
      summary: action === 'suspend' ? 'Stop scheduling new runs' : 'Resume scheduling',
      responses: { 200: cronJobChange },
      errors: [409, 422, 429, 503],
      handle: async (req, res) => {
        const definition = await definitionOf(String(req.params.project), String(req.params.name));
        res.json(
          await reapply({
            ...definition,
            spec: { ...definition.spec, suspend: action === 'suspend' },
          }),
        );
      },
    })),
    {
      method: 'post',
      path: '/projects/:project/cronjobs/:name/trigger',
      summary:
        "Run now: a Job from the CronJob's job template, owned by it, annotated as a manual run",
      status: 201,
      responses: { 201: triggerResult, 200: triggerResult },
      requestHeaders: {
        [IDEMPOTENCY_KEY_HEADER]:
          'Optional, 1 to 255 visible ASCII characters: the same key (per project and CronJob, kept 24 h) answers 200 with the Job it created instead of creating another',
      },
      errors: [409, 422],
      handle: async (req, res) => {
        const project = String(req.params.project);
        const definition = await definitionOf(project, String(req.params.name));
        const cronjob = definition.metadata.name;
        const key = idempotencyKeyOf(req.get(IDEMPOTENCY_KEY_HEADER));
        const keyHash = key === undefined ? undefined : hashKey(project, cronjob, key);
        if (keyHash) {
          const since = new Date(Date.now() - TRIGGER_KEY_TTL_MS).toISOString();
          const stored = await store.getTriggerKey(project, cronjob, keyHash, since);
          if (stored) {
            res
              .status(200)
              .json({ job: stored.jobName, id: stored.jobUid } satisfies TriggerResult);
            return;
          }
        }
        const namespace = applications.namespaceOf(project);
        const cronJob = await kube.getCronJob(namespace, cronjob);
        if (!cronJob?.spec)
          throw new Problem(
            409,
            'Not applied',
            `CronJob ${cronjob} does not exist in namespace ${namespace}; apply its definition first`,
          );
        // Like kubectl create job --from: <cronjob>-manual-<suffix>, within 63 characters. With
        // a key the suffix comes from it, so Kubernetes' name uniqueness stops a second Job.
        const suffix = keyHash ? keyHash.slice(0, 10) : randomBytes(3).toString('hex');
        const jobName = `${cronjob.slice(0, 48)}-manual-${suffix}`;
        if (keyHash) {
          // The key's Job may have been created, recorded and removed by the history limits
          // while its key was never stored (the API died in between): its execution answers.
          const since = new Date(Date.now() - TRIGGER_KEY_TTL_MS).toISOString();
          const recorded = await store.findExecutionByJobName(project, cronjob, jobName, since);
          if (recorded) {
            await store.saveTriggerKey(project, cronjob, keyHash, {
              jobName,
              jobUid: recorded.jobUid,
            });
            res.status(200).json({ job: jobName, id: recorded.jobUid } satisfies TriggerResult);
            return;
          }
        }
        const { job, created } = await createOrFindJob(
          kube,
          namespace,
          manualJob(cronJob, jobName, keyHash),
          keyHash,
        );
        const uid = job.metadata?.uid;
        // The API server gives every object it creates a uid.
        if (!uid) throw new Error(`Job ${namespace}/${jobName} was created without a uid`);
        const result: TriggerResult = { job: job.metadata?.name ?? jobName, id: uid };
        if (keyHash)
          await store.saveTriggerKey(project, cronjob, keyHash, { jobName, jobUid: uid });
        res.status(created ? 201 : 200).json(result);
      },
    },
    {
      method: 'get',
      path: '/projects/:project/cronjobs/:name/executions',
      summary:
        'Execution history, newest first, with cursor paging (?limit=&cursor=&status=&since=&until=); since and until bound the start time',
      query: executionsQuery,
      responses: { 200: executionPage },
      handle: async (req, res) => {
        const query: ExecutionQuery = parseRequest(executionsQuery, req.query, 'query');
        const project = String(req.params.project);
        const name = String(req.params.name);
        await definitionOf(project, name).catch(async (error: unknown) => {
          // A deleted CronJob keeps its history; only an unknown one with no history is 404.
          const page = await store.listExecutions(project, name, { limit: 1 });
          if (page.items.length === 0) throw error;
        });
        const page = await withCursorChecked(() =>
          store.listExecutions(project, name, {
            limit: query.limit ?? DEFAULT_EXECUTION_PAGE,
            cursor: query.cursor,
            status: query.status,
            since: query.since,
            until: query.until,
          }),
        );
        res.json(toExecutionPage(page));
      },
    },
    {
      method: 'get',
      path: '/projects/:project/cronjobs/:name/executions/:id',
      summary: 'One execution: trigger, times, status, exit code and the reasons it ended',
      responses: { 200: executionView },
      handle: async (req, res) => {
        res.json(
          toExecutionView(
            await execution(
              String(req.params.project),
              String(req.params.name),
              String(req.params.id),
            ),
          ),
        );
      },
    },
    {
      method: 'get',
      path: '/projects/:project/cronjobs/:name/executions/:id/logs',
      summary: 'The logs of an execution (?follow=true streams while the job runs)',
      query: logsQuery,
      produces: 'text/plain',
      handle: async (req, res) => {
        const { follow } = parseRequest(logsQuery, req.query, 'query');
        const found = await execution(
          String(req.params.project),
          String(req.params.name),
          String(req.params.id),
        );
        if (found.logsCaptured) {
          res.type('text/plain').send(found.logs ?? '');
          return;
        }
        // Not finished yet: read (or follow) the newest pod of the Job.
        const pods = await kube.listPods(
          found.namespace,
          `batch.kubernetes.io/controller-uid=${found.jobUid}`,
        );
        const pod = pods.sort(
          (a, b) =>
            new Date(b.metadata?.creationTimestamp ?? 0).getTime() -
            new Date(a.metadata?.creationTimestamp ?? 0).getTime(),
        )[0];
        res.type('text/plain');
        if (!pod?.metadata?.name) {
          res.send('');
          return;
        }
        if (!follow) {
          res.send(await kube.podLog(found.namespace, pod.metadata.name, 1024 * 1024));
          return;
        }
        const stream = new PassThrough();
        stream.pipe(res);
        // A client that goes away ends the follow of the pod's log on the API server too.
        const clientGone = new AbortController();
        res.once('close', () => clientGone.abort());
        await kube.followLog(
          found.namespace,
          pod.metadata.name,
          pod.spec?.containers[0]?.name ?? 'main',
          stream,
          {},
          clientGone.signal,
        );
        stream.end();
      },
    },
    ...projectExecutionRoutes(store),
  ];
}

/** An Idempotency-Key header's value, checked: 1 to 255 visible ASCII characters. */
function idempotencyKeyOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (/^[\x21-\x7e]{1,255}$/.test(value)) return value;
  const message = `given ${JSON.stringify(value.slice(0, 300))}, expected 1 to 255 visible ASCII characters`;
  throw new Problem(400, 'Invalid request header', `header ${IDEMPOTENCY_KEY_HEADER}: ${message}`, [
    { path: IDEMPOTENCY_KEY_HEADER, message },
  ]);
}

/** The stored (and Job-naming) form of a key: per project and CronJob. */
function hashKey(project: string, cronjob: string, key: string): string {
  return createHash('sha256').update(`${project}\n${cronjob}\n${key}`).digest('hex');
}

/** Annotation naming the key a manual Job was created for (its hash). */
const KEY_ANNOTATION = 'hks.hexabase.io/idempotency-key-sha256';

/**
 * A manual run of a CronJob: its job template, owned by it, annotated as manual, and held for
 * the recorder from the start (finalizer, TTL parked) so no TTL or history limit loses it.
 */
function manualJob(cronJob: V1CronJob, name: string, keyHash: string | undefined): V1Job {
  const template = cronJob.spec?.jobTemplate;
  const held = heldJobFields(template?.spec ?? { template: {} });
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: cronJob.metadata?.namespace,
      labels: { ...template?.metadata?.labels },
      annotations: {
        ...template?.metadata?.annotations,
        ...held.annotations,
        'cronjob.kubernetes.io/instantiate': 'manual',
        ...(keyHash ? { [KEY_ANNOTATION]: keyHash } : {}),
      },
      finalizers: held.finalizers,
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          name: cronJob.metadata?.name ?? '',
          uid: cronJob.metadata?.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: held.spec,
  };
}

/** Creates the Job; with a key, an existing Job of the same name and key is the answer. */
async function createOrFindJob(
  kube: Kube,
  namespace: string,
  job: V1Job,
  keyHash: string | undefined,
): Promise<{ job: V1Job; created: boolean }> {
  try {
    return { job: await kube.createJob(namespace, job), created: true };
  } catch (error) {
    if (!keyHash || !(error instanceof Problem) || error.status !== 409) throw error;
    const existing = await kube.getJob(namespace, job.metadata?.name ?? '');
    if (existing?.metadata?.annotations?.[KEY_ANNOTATION] !== keyHash) throw error;
    return { job: existing, created: false };
  }
}
