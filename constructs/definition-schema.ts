import { z } from 'zod';
import {
  checkAppName,
  checkDataKey,
  checkEnvName,
  checkImage,
  checkLabelKey,
  checkLabelValue,
  checkObjectName,
  checkProjectName,
  MAX_APP_NAME_LENGTH,
} from './field-rules';
import {
  checkFunctionEnvName,
  checkHandler,
  checkHandlerFile,
  checkSourcePath,
  checkSourceSize,
  DEFAULT_HANDLERS,
  FUNCTION_RUNTIMES,
  isSourceRuntime,
  MAX_FUNCTION_TIMEOUT_SECONDS,
} from './function-rules';
import {
  checkFunctionConcurrencyPolicy,
  checkScheduleInput,
  checkScheduleName,
  type JsonValue,
  MAX_FUNCTION_SCHEDULES,
} from './function-schedule-rules';
import {
  checkNatsName,
  checkPublishSubject,
  checkSubjectFilter,
  MAX_BACKOFF_ENTRIES,
  MAX_BACKOFF_SECONDS,
  MAX_DELIVER_LIMIT,
  MAX_FUNCTION_TRIGGERS,
  subjectMatches,
} from './function-trigger-rules';
import { isProblem, parseCpu, parseMemory } from './quantity';
import { Schedule } from './schedule';
import { checkTimeZone } from './time-zone';

/**
 * The one schema of application definitions. The TypeScript types, the runtime validation,
 * the JSON Schema for editors (`schema/definition.schema.json`) and later the API's OpenAPI
 * document all come from here.
 */

/** The `apiVersion` of every application definition. */
export const API_VERSION = 'hks.hexabase.io/v1';

/** A string checked by one of the shared field rules. */
function ruledString(check: (value: string) => string | undefined, description: string) {
  return z
    .string()
    .superRefine((value, ctx) => {
      const problem = check(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
    })
    .meta({ description });
}

const cpuQuantity = z
  .union([z.string(), z.number()])
  .superRefine((value, ctx) => {
    const parsed = parseCpu(value);
    if (isProblem(parsed)) ctx.addIssue({ code: 'custom', message: parsed, input: value });
  })
  .meta({ description: 'CPU, e.g. 250m, 0.5 or 2' });

const memoryQuantity = z
  .union([z.string(), z.number()])
  .superRefine((value, ctx) => {
    const parsed = parseMemory(value);
    if (isProblem(parsed)) ctx.addIssue({ code: 'custom', message: parsed, input: value });
  })
  .meta({ description: 'Memory, a whole number of mebibytes, e.g. 128Mi or 1Gi' });

const count = (min: number, max: number, description: string) =>
  z.number().int().min(min).max(max).meta({ description });

const envName = ruledString(checkEnvName, 'Environment variable name');
const objectName = (what: string) => ruledString(checkObjectName, what);

const metadataSchema = z.strictObject({
  name: ruledString(
    checkAppName,
    `DNS-1123 label, at most ${MAX_APP_NAME_LENGTH} characters, starting with a letter`,
  ),
  project: ruledString(checkProjectName, 'The tenant; becomes the namespace'),
  labels: z
    .record(ruledString(checkLabelKey, 'Label key'), ruledString(checkLabelValue, 'Label value'))
    .optional()
    .meta({ description: 'Copied to every object of the application' }),
});

const resourcesSchema = z
  .strictObject({
    cpu: cpuQuantity.optional().meta({ description: 'CPU request. Default 100m' }),
    memory: memoryQuantity.optional().meta({ description: 'Memory request. Default 128Mi' }),
    cpuLimit: cpuQuantity.optional().meta({ description: 'CPU limit. Default: none' }),
    memoryLimit: memoryQuantity
      .optional()
      .meta({ description: 'Memory limit. Default: the memory request' }),
  })
  .superRefine((resources, ctx) => {
    const pairs = [
      ['cpu', 'cpuLimit', parseCpu, 'millicores'],
      ['memory', 'memoryLimit', parseMemory, 'mebibytes'],
    ] as const;
    for (const [requestKey, limitKey, parse, unit] of pairs) {
      const request = resources[requestKey];
      const limit = resources[limitKey];
      if (request === undefined || limit === undefined) continue;
      const requestAmount = parse(request);
      const limitAmount = parse(limit);
      if (isProblem(requestAmount) || isProblem(limitAmount)) continue;
      const amount = (q: object) => (q as Record<string, number>)[unit];
      if (amount(limitAmount) < amount(requestAmount)) {
        ctx.addIssue({
          code: 'custom',
          path: [limitKey],
          input: limit,
          message: `given ${JSON.stringify(limit)}, expected at least the ${requestKey} request ${JSON.stringify(request)}`,
        });
      }
    }
  });

const envFromSchema = z
  .strictObject({
    configMap: objectName('ConfigMap whose keys become variables').optional(),
    secret: objectName('Secret whose keys become variables').optional(),
    prefix: z.string().optional().meta({ description: 'Prefix for every variable name' }),
  })
  .superRefine((source, ctx) => {
    if ((source.configMap === undefined) === (source.secret === undefined)) {
      ctx.addIssue({
        code: 'custom',
        input: source,
        message: `given ${source.configMap === undefined ? 'neither' : 'both'} configMap and secret, expected exactly one of them`,
      });
    }
  });

/** Fields of the container that a CronJob can copy from its template. */
const containerShape = {
  image: ruledString(checkImage, 'Container image reference').optional(),
  command: z.array(z.string()).optional().meta({ description: "Replaces the image's ENTRYPOINT" }),
  args: z.array(z.string()).optional().meta({ description: "Replaces the image's CMD" }),
  env: z
    .record(envName, z.union([z.string(), z.number(), z.boolean()]))
    .optional()
    .meta({ description: 'Plain environment variables' }),
  secretEnv: z
    .record(
      envName,
      z.strictObject({
        secret: objectName('Secret name'),
        key: ruledString(checkDataKey, 'Key in the Secret'),
      }),
    )
    .optional()
    .meta({ description: 'Environment variables read from Secret keys' }),
  envFrom: z.array(envFromSchema).optional(),
  resources: resourcesSchema.optional(),
  serviceAccount: objectName('ServiceAccount the pods run as. Default: hks-workload').optional(),
};

function noEnvClash(
  spec: { env?: Record<string, unknown>; secretEnv?: Record<string, unknown> },
  ctx: z.RefinementCtx,
) {
  for (const name of Object.keys(spec.secretEnv ?? {})) {
    if (spec.env && name in spec.env) {
      ctx.addIssue({
        code: 'custom',
        path: ['secretEnv', name],
        input: name,
        message: `given ${JSON.stringify(name)} in both env and secretEnv, expected each variable once`,
      });
    }
  }
}

const statelessSpecSchema = z
  .strictObject({
    ...containerShape,
    image: containerShape.image.unwrap(),
    port: count(
      1,
      65535,
      'Port the container listens on; a Service is created when set',
    ).optional(),
    replicas: count(0, 1000, 'Number of pods. Default 1').optional(),
  })
  .superRefine(noEnvClash);

const cronJobSpecSchema = z
  .strictObject({
    ...containerShape,
    template: ruledString(
      checkAppName,
      'A StatelessApplication of the same project whose container settings are copied',
    ).optional(),
    schedule: ruledString(
      (value) => Schedule.check(value),
      '5 cron fields, or @hourly/@daily/@weekly/@monthly/@yearly',
    ),
    timeZone: ruledString(checkTimeZone, 'IANA time zone. Default: UTC').optional(),
    concurrencyPolicy: z.enum(['Allow', 'Forbid', 'Replace']).optional(),
    suspend: z.boolean().optional(),
    startingDeadlineSeconds: count(10, 31_536_000, 'Default 300').optional(),
    activeDeadlineSeconds: count(1, 31_536_000, 'Default: no deadline').optional(),
    backoffLimit: count(0, 100, 'Default 6').optional(),
    restartPolicy: z.enum(['Never', 'OnFailure']).optional(),
    ttlSecondsAfterFinished: count(
      0,
      31_536_000,
      'Default: kept until the history limits',
    ).optional(),
    successfulJobsHistoryLimit: count(0, 100, 'Default 3').optional(),
    failedJobsHistoryLimit: count(0, 100, 'Default 3').optional(),
  })
  .superRefine((spec, ctx) => {
    if ((spec.template === undefined) === (spec.image === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [spec.template === undefined ? 'image' : 'template'],
        input: spec.template ?? spec.image,
        message:
          spec.template === undefined
            ? 'given neither template nor image, expected exactly one of them'
            : 'given both template and image, expected exactly one of them',
      });
    }
    noEnvClash(spec, ctx);
  });

const scalingSchema = z
  .strictObject({
    minScale: count(0, 1000, 'Fewest pods, 0 = scale to zero. Default 0').optional(),
    maxScale: count(0, 1000, 'Most pods, 0 = no limit. Default 10').optional(),
    target: count(
      1,
      10000,
      'Concurrent requests per pod the autoscaler aims at. Default 100',
    ).optional(),
    containerConcurrency: count(
      0,
      1000,
      'Hard limit of concurrent requests per pod, 0 = no limit. Default 0',
    ).optional(),
  })
  .superRefine((scaling, ctx) => {
    const { minScale, maxScale, target, containerConcurrency } = scaling;
    if (minScale !== undefined && maxScale !== undefined && maxScale > 0 && minScale > maxScale) {
      ctx.addIssue({
        code: 'custom',
        path: ['minScale'],
        input: minScale,
        message: `given ${minScale}, expected at most maxScale ${maxScale}`,
      });
    }
    if (target !== undefined && containerConcurrency && target > containerConcurrency) {
      ctx.addIssue({
        code: 'custom',
        path: ['target'],
        input: target,
        message: `given ${target}, expected at most containerConcurrency ${containerConcurrency}`,
      });
    }
  });

/**
 * A run of a function on a cron schedule: validated by the rules of a CronJob's schedule (the
 * same words in errors), the input a JSON value sent as the body of every run.
 */
const functionScheduleSchema = z
  .strictObject({
    name: ruledString(checkScheduleName, 'Name of the schedule, unique in the function'),
    cron: ruledString(
      (value) => Schedule.check(value),
      '5 cron fields, or @hourly/@daily/@weekly/@monthly/@yearly',
    ),
    timeZone: ruledString(checkTimeZone, 'IANA time zone. Default: UTC').optional(),
    input: z
      .custom<JsonValue>()
      .superRefine((value, ctx) => {
        const problem = checkScheduleInput(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
      })
      .optional()
      .meta({ description: 'JSON value sent as the body of every run. Default: {}' }),
    concurrencyPolicy: z
      .enum(['Allow', 'Forbid', 'Replace'])
      .superRefine((value, ctx) => {
        const problem = checkFunctionConcurrencyPolicy(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
      })
      .optional()
      .meta({
        description:
          'Allow (runs may overlap) or Forbid (a run due while the previous one runs is skipped). Default Forbid',
      }),
    suspend: z.boolean().optional().meta({ description: 'No new runs while true. Default false' }),
    startingDeadlineSeconds: count(
      10,
      31_536_000,
      'How late a missed run may still start. Default 300',
    ).optional(),
  })
  .meta({ description: 'A run of the function on a cron schedule' });

/**
 * A NATS JetStream trigger (docs/event-triggers.md): every message of `subject` in `stream`
 * invokes the function as a CloudEvent, through the durable pull consumer `durable`.
 */
const natsTriggerSchema = z
  .strictObject({
    subject: ruledString(
      checkSubjectFilter,
      "Subject the consumer filters on; '*' and (last) '>' as wildcards",
    ),
    stream: ruledString(checkNatsName, 'JetStream stream holding the messages'),
    durable: ruledString(
      checkNatsName,
      'Durable consumer name; every API replica pulls from it, and a re-apply resumes it',
    ),
    maxDeliver: count(
      1,
      MAX_DELIVER_LIMIT,
      'Attempts per message before it is dead-lettered. Default 5',
    ).optional(),
    backoffSeconds: z
      .array(count(1, MAX_BACKOFF_SECONDS, 'Seconds before a redelivery'))
      .min(1)
      .max(MAX_BACKOFF_ENTRIES)
      .optional()
      .meta({
        description:
          'Waits before the 1st, 2nd, ... redelivery; the last repeats. Default [1, 10, 60]',
      }),
    deadLetterSubject: ruledString(
      checkPublishSubject,
      'Where a message goes after maxDeliver failed attempts. Default hks.dead-letter.<stream>.<durable>',
    ).optional(),
  })
  .superRefine((nats, ctx) => {
    if (
      nats.deadLetterSubject !== undefined &&
      subjectMatches(nats.subject, nats.deadLetterSubject)
    )
      ctx.addIssue({
        code: 'custom',
        path: ['deadLetterSubject'],
        input: nats.deadLetterSubject,
        message: `given ${JSON.stringify(nats.deadLetterSubject)}, which the trigger's subject ${JSON.stringify(nats.subject)} matches, expected a subject outside it (a dead letter would come back to the function)`,
      });
  })
  .meta({ description: 'A NATS JetStream subscription' });

const functionTriggerSchema = z
  .strictObject({ nats: natsTriggerSchema })
  .meta({ description: 'A message broker subscription that invokes the function' });

const functionSpecSchema = z
  .strictObject({
    runtime: z.enum(FUNCTION_RUNTIMES).meta({
      description: 'python3.12 or nodejs20 (source run by the platform), or image (prebuilt)',
    }),
    handler: z.string().optional().meta({
      description:
        'module.function (python, default main.handler) or file.export (node, default index.handler)',
    }),
    source: z.string().min(1).optional().meta({
      description: 'A file or folder of source code, relative to the definition file',
    }),
    code: z.string().min(1).optional().meta({
      description: "Inline source code, written to the handler's module (e.g. main.py)",
    }),
    files: z
      .record(ruledString(checkSourcePath, 'Relative file path'), z.string())
      .optional()
      .meta({ description: 'Source files by relative path (what source is read into)' }),
    image: ruledString(
      checkImage,
      'Image of an HTTP server listening on $PORT (runtime: image)',
    ).optional(),
    env: containerShape.env,
    secretEnv: containerShape.secretEnv,
    timeoutSeconds: count(
      1,
      MAX_FUNCTION_TIMEOUT_SECONDS,
      'Time limit of one request. Default 30',
    ).optional(),
    scaling: scalingSchema.optional(),
    resources: resourcesSchema.optional(),
    visibility: z
      .enum(['public', 'cluster-local'])
      .optional()
      .meta({ description: 'public (through the ingress) or cluster-local. Default public' }),
    schedules: z
      .array(functionScheduleSchema)
      .max(MAX_FUNCTION_SCHEDULES)
      .optional()
      .meta({ description: 'Runs of the function on cron schedules, by the API' }),
    triggers: z
      .array(functionTriggerSchema)
      .max(MAX_FUNCTION_TRIGGERS)
      .optional()
      .meta({ description: 'Message broker subscriptions that invoke the function, by the API' }),
  })
  .superRefine((spec, ctx) => {
    const issue = (path: PropertyKey[], input: unknown, message: string) =>
      ctx.addIssue({ code: 'custom', path, input, message });
    const scheduleNames = new Set<string>();
    (spec.schedules ?? []).forEach((schedule, i) => {
      if (scheduleNames.has(schedule.name))
        issue(
          ['schedules', i, 'name'],
          schedule.name,
          `given ${JSON.stringify(schedule.name)} twice, expected each schedule name once`,
        );
      scheduleNames.add(schedule.name);
    });
    const consumers = new Set<string>();
    (spec.triggers ?? []).forEach(({ nats }, i) => {
      const consumer = `${nats.stream} ${nats.durable}`;
      if (consumers.has(consumer))
        issue(
          ['triggers', i, 'nats', 'durable'],
          nats.durable,
          `given durable ${JSON.stringify(nats.durable)} of stream ${JSON.stringify(nats.stream)} twice, expected each consumer once`,
        );
      consumers.add(consumer);
    });
    const given = (['source', 'code', 'files'] as const).filter((key) => spec[key] !== undefined);
    if (!isSourceRuntime(spec.runtime)) {
      if (spec.image === undefined)
        issue(['image'], undefined, 'missing, expected an image reference for runtime: image');
      for (const key of [...given, ...(spec.handler === undefined ? [] : ['handler' as const])])
        issue([key], spec[key], `given ${key} with runtime: image, expected no ${key}`);
    } else {
      const handler = spec.handler ?? DEFAULT_HANDLERS[spec.runtime];
      const handlerProblem = checkHandler(spec.runtime, handler);
      if (handlerProblem) issue(['handler'], handler, handlerProblem);
      if (spec.image !== undefined)
        issue(
          ['image'],
          spec.image,
          `given an image with runtime: ${spec.runtime}, expected no image (or runtime: image)`,
        );
      if (given.length !== 1)
        issue(
          [given[1] ?? 'source'],
          undefined,
          `given ${given.length === 0 ? 'none' : given.join(' and ')} of source, code and files, expected exactly one of them`,
        );
      const files =
        spec.files ?? (spec.code === undefined ? undefined : { 'inline code': spec.code });
      const key = spec.files ? 'files' : 'code';
      const sizeProblem = files && checkSourceSize(files);
      if (sizeProblem) issue([key], undefined, sizeProblem);
      const fileProblem =
        spec.files && !handlerProblem && checkHandlerFile(spec.runtime, handler, spec.files);
      if (fileProblem) issue(['files'], undefined, fileProblem);
    }
    for (const name of [...Object.keys(spec.env ?? {}), ...Object.keys(spec.secretEnv ?? {})]) {
      const problem = checkFunctionEnvName(name);
      if (problem) issue([name in (spec.env ?? {}) ? 'env' : 'secretEnv', name], name, problem);
    }
    noEnvClash(spec, ctx);
  });

function definitionSchema<K extends string, S extends z.ZodType>(kind: K, spec: S) {
  return z.strictObject({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(kind),
    metadata: metadataSchema,
    spec,
  });
}

/** A long-running, stateless container: a Deployment, plus a Service when it has a port. */
export const statelessApplicationSchema = definitionSchema(
  'StatelessApplication',
  statelessSpecSchema,
);

/** A scheduled job, with its own image or cloned from a StatelessApplication. */
export const cronJobSchema = definitionSchema('CronJob', cronJobSpecSchema);

/**
 * Source code (python, node) or a prebuilt image served by Knative Serving, scaled to zero
 * when idle.
 */
export const functionSchema = definitionSchema('Function', functionSpecSchema);

/** Every kind, by name: the single registry a new kind is added to. */
export const DEFINITION_SCHEMAS = {
  StatelessApplication: statelessApplicationSchema,
  CronJob: cronJobSchema,
  Function: functionSchema,
} as const;

/** The kinds of application definition. */
export type DefinitionKind = keyof typeof DEFINITION_SCHEMAS;

/** Any application definition. */
export const applicationDefinitionSchema = z.discriminatedUnion('kind', [
  statelessApplicationSchema,
  cronJobSchema,
  functionSchema,
]);

/** A StatelessApplication definition. */
export type StatelessApplicationDefinition = z.infer<typeof statelessApplicationSchema>;
/** A CronJob definition. */
export type CronJobDefinition = z.infer<typeof cronJobSchema>;
/** A Function definition. */
export type FunctionDefinition = z.infer<typeof functionSchema>;
/** One of a Function's schedules. */
export type FunctionScheduleSpec = z.infer<typeof functionScheduleSchema>;
/** One of a Function's event triggers. */
export type FunctionTriggerSpec = z.infer<typeof functionTriggerSchema>;
/** Autoscaling settings of a Function. */
export type FunctionScalingSpec = z.infer<typeof scalingSchema>;
/** Any application definition. */
export type ApplicationDefinition = z.infer<typeof applicationDefinitionSchema>;
/** Definition metadata: name, project and labels. */
export type DefinitionMetadata = z.infer<typeof metadataSchema>;
/** Container settings shared by the workload kinds. */
export type ContainerSpec = StatelessApplicationDefinition['spec'];
/** CPU and memory requests and limits. */
export type ResourcesSpec = z.infer<typeof resourcesSchema>;
/** A source of environment variables: a whole ConfigMap or Secret. */
export type EnvFromSpec = z.infer<typeof envFromSchema>;

/** The JSON Schema of an application definition document, for editors and the API. */
export function definitionJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(applicationDefinitionSchema, { unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
}
