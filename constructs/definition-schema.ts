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
  MAX_FUNCTION_SOURCE_BYTES,
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
import { fieldDefaultsSummary, namedObject, optionalField, requiredField } from './schema-field';
import { checkTimeZone } from './time-zone';

/**
 * The one schema of application definitions. The TypeScript types, the runtime validation,
 * the JSON Schema for editors (`schema/definition.schema.json`), the API's OpenAPI document and
 * the construct props come from here. Each field is declared once, with its documentation and
 * its default (`requiredField`, `optionalField`); `npm run schema` writes the props interfaces,
 * the `*_DEFAULTS` objects (`constructs/generated/`) and the defaults table of
 * docs/definitions.md from those declarations.
 */

/** The `apiVersion` of every application definition. */
export const API_VERSION = 'hks.hexabase.io/v1';

/** A string checked by one of the shared field rules. */
function ruledString(check: (value: string) => string | undefined, description?: string) {
  const schema = z.string().superRefine((value, ctx) => {
    const problem = check(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
  });
  return description === undefined ? schema : schema.meta({ description });
}

const cpuQuantity = z.union([z.string(), z.number()]).superRefine((value, ctx) => {
  const parsed = parseCpu(value);
  if (isProblem(parsed)) ctx.addIssue({ code: 'custom', message: parsed, input: value });
});

const memoryQuantity = z.union([z.string(), z.number()]).superRefine((value, ctx) => {
  const parsed = parseMemory(value);
  if (isProblem(parsed)) ctx.addIssue({ code: 'custom', message: parsed, input: value });
});

const count = (min: number, max: number) => z.number().int().min(min).max(max);

const envName = ruledString(checkEnvName, 'Environment variable name');
const objectName = () => ruledString(checkObjectName);
const NONE = { defaultText: 'none' } as const;

const labelsField = optionalField(
  z.record(ruledString(checkLabelKey, 'Label key'), ruledString(checkLabelValue, 'Label value')),
  { doc: 'Labels copied to every object and pod.', defaultText: "the platform's labels only" },
);

const metadataSchema = z.strictObject({
  name: requiredField(
    ruledString(checkAppName),
    `DNS-1123 label, at most ${MAX_APP_NAME_LENGTH} characters, starting with a letter.`,
  ),
  project: requiredField(ruledString(checkProjectName), 'The tenant; becomes the namespace.'),
  labels: labelsField,
});

/** The props every construct takes besides its spec: the definition's labels. */
export const applicationLabelsSchema = namedObject(
  z.strictObject({ labels: labelsField }),
  'ApplicationLabelsProps',
  "The definition's labels, as every construct takes them.",
);

const resourcesSchema = namedObject(
  z
    .strictObject({
      cpu: optionalField(cpuQuantity, {
        doc: 'CPU request, e.g. `250m`, `0.5` or `2`.',
        default: '100m',
        why: "small, so that a project's quota fits many applications (cdk8s-plus: 1000m)",
      }),
      memory: optionalField(memoryQuantity, {
        doc: 'Memory request, a whole number of mebibytes, e.g. `128Mi` or `1Gi`.',
        default: '128Mi',
        why: 'cdk8s-plus: 512Mi',
      }),
      cpuLimit: optionalField(cpuQuantity, {
        doc: 'CPU limit.',
        defaultText: 'none (no throttling)',
        why: 'cdk8s-plus: 1500m; throttling hurts latency more than it protects neighbours, who have their requests',
      }),
      memoryLimit: optionalField(memoryQuantity, {
        doc: 'Memory limit.',
        defaultText: 'the memory request',
        why: 'cdk8s-plus: 2048Mi; memory limited to the request never overcommits the node',
      }),
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
    }),
  'ResourceRequirements',
  'CPU and memory requests and limits in Kubernetes notation (`250m`, `256Mi`).',
);

const envFromSchema = namedObject(
  z
    .strictObject({
      configMap: optionalField(objectName(), {
        doc: 'ConfigMap whose keys become variables.',
        ...NONE,
      }),
      secret: optionalField(objectName(), { doc: 'Secret whose keys become variables.', ...NONE }),
      prefix: optionalField(z.string(), {
        doc: 'Prefix added to every variable name.',
        defaultText: 'no prefix',
      }),
    })
    .superRefine((source, ctx) => {
      if ((source.configMap === undefined) === (source.secret === undefined)) {
        ctx.addIssue({
          code: 'custom',
          input: source,
          message: `given ${source.configMap === undefined ? 'neither' : 'both'} configMap and secret, expected exactly one of them`,
        });
      }
    }),
  'EnvFromSource',
  'A whole ConfigMap or Secret turned into environment variables (exactly one of the two).',
);

const secretKeySchema = namedObject(
  z.strictObject({
    secret: requiredField(objectName(), "Name of the Secret in the project's namespace."),
    key: requiredField(ruledString(checkDataKey), 'Key inside the Secret.'),
  }),
  'SecretKeyReference',
  'A key of a Secret.',
);

const envField = optionalField(z.record(envName, z.union([z.string(), z.number(), z.boolean()])), {
  doc: 'Plain environment variables; numbers and booleans are written as strings.',
  ...NONE,
});
const secretEnvField = optionalField(z.record(envName, secretKeySchema), {
  doc: 'Environment variables read from Secret keys.',
  ...NONE,
});
const resourcesField = optionalField(resourcesSchema, {
  doc: 'Requests and limits.',
  defaultText: fieldDefaultsSummary(resourcesSchema),
});
const imageString = () => ruledString(checkImage);

/** Fields of the container that a CronJob can copy from its template. */
const containerShape = {
  image: requiredField(imageString(), 'Container image reference, e.g. `ghcr.io/acme/api:1.4.2`.'),
  command: optionalField(z.array(z.string()), {
    doc: "Replaces the image's ENTRYPOINT.",
    defaultText: "the image's ENTRYPOINT",
  }),
  args: optionalField(z.array(z.string()), {
    doc: "Replaces the image's CMD.",
    defaultText: "the image's CMD",
  }),
  env: envField,
  secretEnv: secretEnvField,
  envFrom: optionalField(z.array(envFromSchema), {
    doc: 'Whole ConfigMaps or Secrets as environment variables.',
    ...NONE,
  }),
  resources: resourcesField,
  serviceAccount: optionalField(objectName(), {
    doc: 'ServiceAccount the pods run as; it must exist in the namespace.',
    default: 'hks-workload',
    why: 'Kubernetes: `default`; `hks-workload` is created in every project and mounts no token',
  }),
};

/** The container settings every workload kind shares (props only: each kind has them in its spec). */
export const workloadContainerSchema = namedObject(
  z.strictObject(containerShape),
  'WorkloadContainerProps',
  'The container settings every workload kind shares.',
);

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

const statelessSpecSchema = namedObject(
  z
    .strictObject({
      ...containerShape,
      port: optionalField(count(1, 65535), {
        doc: 'Port the container listens on. When set, a ClusterIP Service of the same name forwards this port (named `http`) to the pods, and a TCP readiness probe checks it.',
        defaultText: 'no port and no Service',
      }),
      replicas: optionalField(count(0, 1000), {
        doc: 'Number of pods.',
        default: 1,
        why: 'cdk8s-plus: 2',
      }),
    })
    .superRefine(noEnvClash),
  'StatelessApplicationSpecProps',
  'The spec of a StatelessApplication, as its construct takes it.',
);

const cronJobSpecSchema = namedObject(
  z
    .strictObject({
      ...containerShape,
      image: optionalField(imageString(), {
        doc: 'Container image reference. Exactly one of `template` and `image` is required.',
        defaultText: "the template's image",
      }),
      template: optionalField(ruledString(checkAppName), {
        doc: "A StatelessApplication of the same project whose image, env, secretEnv, envFrom, resources and serviceAccount are copied. `env` and `secretEnv` given here are merged over the template's; the other fields given here replace the template's. Exactly one of `template` and `image` is required.",
        defaultText: 'none: `image` must be given',
      }),
      schedule: requiredField(
        ruledString((value) => Schedule.check(value)),
        'When the job runs: 5 cron fields, or @hourly/@daily/@weekly/@monthly/@yearly.',
      ),
      timeZone: optionalField(ruledString(checkTimeZone), {
        doc: 'IANA time zone the schedule is read in.',
        defaultText: "the controller's zone (UTC on nearly every cluster)",
      }),
      concurrencyPolicy: optionalField(z.enum(['Allow', 'Forbid', 'Replace']), {
        doc: 'What to do when a run is due while the previous one is still running: `Allow`, `Forbid` or `Replace`.',
        default: 'Forbid',
        why: 'Kubernetes: Allow; overlapping runs of a report or batch job are rarely wanted',
      }),
      suspend: optionalField(z.boolean(), { doc: 'Pauses scheduling.', default: false }),
      startingDeadlineSeconds: optionalField(count(10, 31_536_000), {
        doc: 'A run missed by more than this many seconds (controller down, suspended) is skipped; at least 10.',
        default: 300,
        why: 'cdk8s-plus: 10 s, which skips runs whenever the controller is briefly late',
      }),
      activeDeadlineSeconds: optionalField(count(1, 31_536_000), {
        doc: 'Longest a run may take, in seconds, before it is stopped.',
        defaultText: 'no deadline',
      }),
      backoffLimit: optionalField(count(0, 100), {
        doc: 'Retries of a failed run.',
        default: 6,
        why: "Kubernetes' default",
      }),
      restartPolicy: optionalField(z.enum(['Never', 'OnFailure']), {
        doc: 'Whether a failed container is restarted in place (`OnFailure`) or a new pod is created (`Never`).',
        default: 'Never',
      }),
      ttlSecondsAfterFinished: optionalField(count(0, 31_536_000), {
        doc: 'Deletes finished Jobs after this many seconds.',
        defaultText: 'finished Jobs are kept until the history limits remove them',
      }),
      successfulJobsHistoryLimit: optionalField(count(0, 100), {
        doc: 'Successful Jobs kept.',
        default: 3,
        why: 'Kubernetes: 3',
      }),
      failedJobsHistoryLimit: optionalField(count(0, 100), {
        doc: 'Failed Jobs kept; more than one helps diagnosing flaky jobs.',
        default: 3,
        why: 'Kubernetes: 1',
      }),
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
    }),
  'CronJobSpecProps',
  'The spec of a CronJob, as its construct takes it.',
);

const scalingSchema = namedObject(
  z
    .strictObject({
      minScale: optionalField(count(0, 1000), {
        doc: 'Fewest pods; 0 scales to zero when idle.',
        default: 0,
      }),
      maxScale: optionalField(count(0, 1000), {
        doc: 'Most pods; 0 means no limit.',
        default: 10,
        why: 'Knative: no limit; a cap keeps a project within its quota',
      }),
      target: optionalField(count(1, 10000), {
        doc: 'Concurrent requests per pod the autoscaler aims at.',
        default: 100,
      }),
      containerConcurrency: optionalField(count(0, 1000), {
        doc: 'Hard limit of concurrent requests per pod; 0 means no limit.',
        default: 0,
      }),
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
    }),
  'FunctionScaling',
  'How a Function scales (Knative Pod Autoscaler).',
);

/**
 * A run of a function on a cron schedule: validated by the rules of a CronJob's schedule (the
 * same words in errors), the input a JSON value sent as the body of every run.
 */
const functionScheduleSchema = namedObject(
  z
    .strictObject({
      name: requiredField(
        ruledString(checkScheduleName),
        'Name of the schedule, unique in the function (a DNS label).',
      ),
      cron: requiredField(
        ruledString((value) => Schedule.check(value)),
        "5 cron fields, or @hourly/@daily/@weekly/@monthly/@yearly, as a CronJob's `schedule`.",
      ),
      timeZone: optionalField(ruledString(checkTimeZone), {
        doc: 'IANA time zone the cron fields are read in.',
        default: 'UTC',
      }),
      input: optionalField(
        z.custom<JsonValue>().superRefine((value, ctx) => {
          const problem = checkScheduleInput(value);
          if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
        }),
        {
          doc: 'JSON value sent as the request body of every run.',
          default: {},
          tsType: { name: 'JsonValue', from: '../function-schedule-rules' },
        },
      ),
      concurrencyPolicy: optionalField(
        z.enum(['Allow', 'Forbid', 'Replace']).superRefine((value, ctx) => {
          const problem = checkFunctionConcurrencyPolicy(value);
          if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
        }),
        {
          doc: '`Allow` (runs may overlap) or `Forbid` (a run due while the previous one still runs is skipped and recorded so). `Replace` is refused with an error: a call in flight cannot be stopped (the word is accepted by the type so that the error says why, as for YAML).',
          default: 'Forbid',
          why: 'as a CronJob of the platform: overlapping runs of a job are seldom wanted',
        },
      ),
      suspend: optionalField(z.boolean(), { doc: 'No new runs while true.', default: false }),
      startingDeadlineSeconds: optionalField(count(10, 31_536_000), {
        doc: 'How late a run missed while no API replica led may still start, in seconds; a later one, and every earlier missed one, is recorded as missed.',
        default: 300,
        why: "as a CronJob's",
      }),
    })
    .meta({ description: 'A run of the function on a cron schedule' }),
  'FunctionSchedule',
  'A run of a Function on a cron schedule, made by the API (docs/function-schedules.md): each run POSTs `input` to the function and is recorded in its invocation history (trigger timer).',
);

/**
 * A NATS JetStream trigger (docs/event-triggers.md): every message of `subject` in `stream`
 * invokes the function as a CloudEvent, through the durable pull consumer `durable`.
 */
const natsTriggerSchema = namedObject(
  z
    .strictObject({
      subject: requiredField(
        ruledString(checkSubjectFilter),
        'Subject the consumer filters on; `*` and (last) `>` are wildcards.',
      ),
      stream: requiredField(ruledString(checkNatsName), 'JetStream stream holding the messages.'),
      durable: requiredField(
        ruledString(checkNatsName),
        'Durable pull consumer every API replica pulls from; a re-apply resumes it.',
      ),
      maxDeliver: optionalField(count(1, MAX_DELIVER_LIMIT), {
        doc: `Attempts per message before it is dead-lettered (1 to ${MAX_DELIVER_LIMIT}).`,
        default: 5,
      }),
      backoffSeconds: optionalField(
        z.array(count(1, MAX_BACKOFF_SECONDS)).min(1).max(MAX_BACKOFF_ENTRIES),
        {
          doc: `Seconds before the 1st, 2nd, … redelivery (each at most ${MAX_BACKOFF_SECONDS}); the last repeats.`,
          default: [1, 10, 60],
        },
      ),
      deadLetterSubject: optionalField(ruledString(checkPublishSubject), {
        doc: "Where a message goes after its last failed attempt; a subject outside the trigger's.",
        defaultText: '`hks.dead-letter.<stream>.<durable>`',
      }),
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
    .meta({ description: 'A NATS JetStream subscription' }),
  'NatsTrigger',
  'A NATS JetStream subscription of a Function (docs/event-triggers.md): each message invokes the function as a CloudEvent. Run by the API for the definitions it applies; not part of the manifests.',
);

const functionTriggerSchema = namedObject(
  z
    .strictObject({ nats: requiredField(natsTriggerSchema, 'A NATS JetStream subscription.') })
    .meta({ description: 'A message broker subscription that invokes the function' }),
  'FunctionTrigger',
  'A message broker subscription that invokes a Function.',
);

const functionSpecSchema = namedObject(
  z
    .strictObject({
      runtime: requiredField(
        z.enum(FUNCTION_RUNTIMES),
        "`python3.12` or `nodejs20` (source run by the platform's bootstrap), or `image` (prebuilt).",
      ),
      handler: optionalField(z.string(), {
        doc: '`module.function` (python) or `file.export` (node). Source runtimes only.',
        defaultText: Object.entries(DEFAULT_HANDLERS)
          .map(([runtime, handler]) => `\`${handler}\` (${runtime})`)
          .join(', '),
      }),
      source: optionalField(z.string().min(1), {
        doc: 'A file or folder of source code, relative to the definition file; read into `files` when the file is loaded.',
        ...NONE,
      }),
      code: optionalField(z.string().min(1), {
        doc: "Inline source, written to the handler's module (`main.py`, `index.js`). Exactly one of `source`, `code` and `files` for source runtimes.",
        ...NONE,
      }),
      files: optionalField(
        z.record(ruledString(checkSourcePath, 'Relative file path'), z.string()),
        {
          doc: `Source files by relative path (\`lib/util.py\`), UTF-8 text, at most ${MAX_FUNCTION_SOURCE_BYTES} bytes in all.`,
          ...NONE,
        },
      ),
      image: optionalField(imageString(), {
        doc: 'Image of an HTTP server listening on `$PORT` (runtime `image` only). It must run as a non-root user.',
        ...NONE,
      }),
      env: envField,
      secretEnv: secretEnvField,
      timeoutSeconds: optionalField(count(1, MAX_FUNCTION_TIMEOUT_SECONDS), {
        doc: `Time limit of one request, in seconds (at most ${MAX_FUNCTION_TIMEOUT_SECONDS}).`,
        default: 30,
        why: 'Knative: 300',
      }),
      scaling: optionalField(scalingSchema, {
        doc: 'Autoscaling.',
        defaultText: fieldDefaultsSummary(scalingSchema),
      }),
      resources: resourcesField,
      visibility: optionalField(z.enum(['public', 'cluster-local']), {
        doc: '`public` (through the ingress) or `cluster-local`.',
        default: 'public',
      }),
      schedules: optionalField(z.array(functionScheduleSchema).max(MAX_FUNCTION_SCHEDULES), {
        doc: "Runs of the function on cron schedules, made by the API's scheduler.",
        ...NONE,
      }),
      triggers: optionalField(z.array(functionTriggerSchema).max(MAX_FUNCTION_TRIGGERS), {
        doc: 'Message broker subscriptions that invoke the function, run by the API that applies the definition (validated here, not synthesized).',
        ...NONE,
      }),
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
    }),
  'FunctionSpecProps',
  'The spec of a Function, as its construct takes it.',
);

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
