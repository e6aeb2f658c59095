import { z } from 'zod';
import {
  DEFAULT_HANDLERS,
  MAX_FUNCTION_TIMEOUT_SECONDS,
  SourceRuntimeName,
} from '../../constructs';
import { AgentAudit } from '../agent-audit';
import { callerOf } from '../auth';
import { executionFilesSchema, omittedFileSchema, outputFilesSchema } from '../execution-files';
import { DEFAULT_TTL_SECONDS, DeployedFunction, ExecutionResult, Operations } from '../operations';
import { parseRequest } from '../validate-request';
import { wantsEventStream } from '../sse';
import { ExecuteCall, executeStreamEvent, streamExecution } from './execute-stream';
import { Route } from './route';

const SOURCE_RUNTIMES = Object.keys(DEFAULT_HANDLERS) as [
  SourceRuntimeName,
  ...SourceRuntimeName[],
];

const sourceShape = {
  project: z
    .string()
    .optional()
    .meta({ description: 'Project to run in. Default: the token’s only project' }),
  runtime: z.enum(SOURCE_RUNTIMES),
  handler: z.string().optional().meta({
    description:
      'module.function (python) or file.export (node). Default main.handler / index.handler',
  }),
  env: z.record(z.string(), z.string()).optional(),
  visibility: z.literal('cluster-local').optional().meta({
    description:
      'Always cluster-local: temporary functions are never reachable through the public gateway ("public" is refused)',
  }),
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(MAX_FUNCTION_TIMEOUT_SECONDS)
    .optional()
    .meta({ description: 'Time limit of the invocation. Default 30' }),
};

/** The body of POST execute (also the MCP execute tool's arguments). */
export const executeBody = z.strictObject({
  ...sourceShape,
  code: z.string().min(1).meta({ description: 'Source of the handler module' }),
  input: z.unknown().optional().meta({ description: 'The event passed to the handler' }),
  inputFiles: executionFilesSchema.optional().meta({
    description:
      'Small files by relative path, {text} or {base64}, placed in the working directory of the invocation under input/ (also HKS_INPUT_DIR); at most HKS_EXECUTE_FILES_MAX_COUNT files, HKS_EXECUTE_FILE_LIMIT_BYTES each, HKS_EXECUTE_FILES_LIMIT_BYTES in all',
  }),
});

/** The body of POST deploy-function (also the MCP deploy_function tool's arguments). */
export const deployBody = z
  .strictObject({
    ...sourceShape,
    code: z.string().min(1).optional(),
    files: z
      .record(z.string(), z.string())
      .optional()
      .meta({ description: 'Source files by relative path' }),
    ttlSeconds: z
      .number()
      .int()
      .min(60)
      .max(86_400)
      .optional()
      .meta({
        description: `Seconds until the function is removed. Default ${DEFAULT_TTL_SECONDS}`,
      }),
  })
  .superRefine((body, ctx) => {
    if ((body.code === undefined) === (body.files === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['code'],
        input: undefined,
        message: `given ${body.code === undefined ? 'neither code nor files' : 'both code and files'}, expected exactly one of them`,
      });
    }
  })
  .meta({
    description: 'Exactly one of code and files',
    oneOf: [{ required: ['code'] }, { required: ['files'] }],
  });

const millis = z.number().min(0);

/** Milliseconds of each phase of an operation that ran. */
const phaseTimings = z
  .object({
    check: millis.optional(),
    deploy: millis.optional(),
    ready: millis.optional(),
    invoke: millis.optional(),
    logs: millis.optional(),
  })
  .meta({ description: 'Milliseconds of each phase that ran' });
/** What running code once (or invoking a temporary function) answers. */
export const executionResult: z.ZodType<ExecutionResult> = z.object({
  id: z.string().meta({ description: 'The temporary function that ran the code' }),
  status: z.enum(['succeeded', 'failed', 'timeout', 'killed']).meta({
    description:
      'succeeded: result holds the return value; failed: the handler raised, or the function did not start; timeout: stopped at timeoutSeconds; killed: its process ended before it answered (out of memory, a signal, an exit call)',
  }),
  result: z.unknown().optional().meta({ description: "The handler's return value (succeeded)" }),
  error: z
    .object({ type: z.string(), message: z.string(), stack: z.string().optional() })
    .optional()
    .meta({ description: 'Why it did not succeed (failed, timeout, killed)' }),
  stdout: z.string().meta({ description: 'What the code wrote to stdout' }),
  stderr: z.string().meta({ description: 'What the code wrote to stderr' }),
  output: z.string().meta({ description: 'stdout and stderr together, in the order written' }),
  logs: z.string().meta({ description: 'The same as output, kept for older clients' }),
  truncated: z
    .object({
      stdout: z.boolean(),
      stderr: z.boolean(),
      output: z.boolean(),
      limitBytes: z.number().int().min(1),
    })
    .optional()
    .meta({
      description:
        'Present when output was cut at the cap (HKS_EXECUTE_OUTPUT_LIMIT_BYTES): which of the three, and the cap in bytes',
    }),
  stopped: z.boolean().optional().meta({
    description:
      'timeout only: true when the function was deleted and its pods gone before this answer (waited for at most 15 s); false: its deletion goes on',
  }),
  outputFiles: outputFilesSchema.optional(),
  omittedFiles: z
    .array(omittedFileSchema)
    .optional()
    .meta({ description: 'Output files left out of outputFiles, and why; absent when none' }),
  pool: z.literal(true).optional().meta({
    description:
      'A warm pool instance ran the code (HKS_WARM_POOL_PROJECTS): nothing was deployed during the call; the instance is deleted after it',
  }),
  durationMs: millis,
  timings: phaseTimings,
});

/** What deploy-function answers: the temporary function and when it expires. */
const deployedFunction: z.ZodType<DeployedFunction> = z.object({
  id: z.string().meta({ description: 'The id to invoke and delete it by' }),
  project: z.string(),
  name: z.string(),
  url: z.string().optional().meta({ description: 'Its cluster-local URL, once Knative gave one' }),
  ready: z.boolean(),
  reason: z.string().optional().meta({ description: "Why it is not ready (Knative's reason)" }),
  message: z.string().optional().meta({ description: "Knative's message when it is not ready" }),
  expiresAt: z.string().meta({ description: 'When the janitor removes it (ttlSeconds)' }),
  timings: phaseTimings,
});

/**
 * Routes of `/internal/v1/operations`: for agents holding internal tokens. Execute-once calls
 * are recorded by `audit`.
 */
export function operationRoutes(operations: Operations, audit: AgentAudit): Route[] {
  return [
    {
      method: 'post',
      path: '/operations/execute',
      summary:
        'Run code once: deploy a temporary function, wait until Ready, invoke it with input, delete it; returns status (succeeded, failed, timeout, killed), result or error {type, message, stack}, stdout, stderr, output (logs: the same), truncated when cut at the output cap, stopped at a timeout, outputFiles (what the code wrote under output/) and omittedFiles, durationMs and timings; inputFiles are placed under input/',
      body: executeBody,
      responses: { 200: executionResult },
      streams: {
        media: 'text/event-stream',
        schema: executeStreamEvent(executionResult),
        description:
          'With Accept: text/event-stream: phase events, the output as it is written, then the result (docs/execute-streaming.md); a refused request is still a problem response',
      },
      requestHeaders: {
        'X-Request-Id':
          "The client's id of the call, kept in the audit trail (at most 200 characters)",
        Accept: 'text/event-stream for a streamed execution (Server-Sent Events)',
      },
      handle: (req, res) => {
        const call: ExecuteCall = async (respond, progress) => {
          const body = parseRequest(executeBody, req.body, 'body');
          await operations.execute(callerOf(res), body, respond, progress);
        };
        return wantsEventStream(req.header('accept'))
          ? streamExecution(req, res, audit, call)
          : audit.execute(req, res, (respond) => call(respond));
      },
    },
    {
      method: 'post',
      path: '/operations/deploy-function',
      summary:
        'Deploy a temporary function for repeated calls; it is removed after ttlSeconds (or by DELETE)',
      body: deployBody,
      status: 201,
      responses: { 201: deployedFunction },
      handle: async (req, res) => {
        const body = parseRequest(deployBody, req.body, 'body');
        res.status(201).json(await operations.deployFunction(callerOf(res), body));
      },
    },
    {
      method: 'post',
      path: '/operations/functions/:id/invoke',
      summary: 'Invoke a temporary function with the JSON body as its input; answers as execute',
      responses: { 200: executionResult },
      handle: async (req, res) => {
        res.json(await operations.invokeFunction(callerOf(res), String(req.params.id), req.body));
      },
    },
    {
      method: 'delete',
      path: '/operations/functions/:id',
      summary: 'Delete a temporary function',
      status: 204,
      handle: async (req, res) => {
        await operations.deleteFunction(callerOf(res), String(req.params.id));
        res.status(204).end();
      },
    },
  ];
}
