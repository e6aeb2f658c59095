import { z } from 'zod';
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { deployBody, executeBody } from '../api/routes/operations';
import { openSessionBody, sessionExecuteBody } from '../api/routes/sessions';
import { MAX_IDLE_LIMIT_SECONDS } from '../api/session-config';
import { logsQuery } from '../api/routes/functions';
import { executionsQuery } from '../api/routes/execution-query';
import { Http, LONG_REQUEST_TIMEOUT_MS, segment } from '../sdk/typescript/http';
import {
  executionIdArgument,
  functionIdArgument,
  sessionIdArgument,
  nameArgument,
  ParsedArguments,
  projectArgument,
  ToolArguments,
  toolArguments,
} from './tool-arguments';
import { executeWithProgress, ProgressReport } from './execute-progress';
import type { ExecuteRequest } from '../sdk/typescript';

/** What a tool answers: JSON from the API, or a text (logs). */
export type ToolOutput = { readonly json: unknown } | { readonly text: string };

/** One MCP tool: its description, its arguments, and the one API route it calls. */
export interface HksTool {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly annotations: ToolAnnotations;
  readonly arguments: ToolArguments;
  /** `report`: set when the client asked for progress notifications. */
  readonly call: (
    args: ParsedArguments,
    api: Http,
    signal: AbortSignal,
    report?: ProgressReport,
  ) => Promise<ToolOutput>;
}

/** Every tool calls `/internal/v1`, the routes of internal tokens. */
const INTERNAL = '/internal/v1';
const OPERATIONS = `${INTERNAL}/operations`;

function projectPath(path: ParsedArguments['path']): string {
  return `${INTERNAL}/projects/${segment(path.project)}`;
}

/** Query values as the API reads them: strings (numbers as given, in decimal). */
function queryOf(rest: ParsedArguments['rest']): Record<string, string> {
  return Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, String(value)]));
}

const READ: ToolAnnotations = { readOnlyHint: true, openWorldHint: false };

const invokeArguments = z.strictObject({
  input: z
    .unknown()
    .optional()
    .meta({ description: 'The event passed to the handler, any JSON (default null)' }),
});

/**
 * The tools, in the order they are listed. Execute-once and temporary functions first, then
 * functions' logs and revisions, then CronJobs and their executions.
 */
export const HKS_TOOLS: readonly HksTool[] = [
  {
    name: 'execute',
    title: 'Run code once',
    description:
      'Run python3.12 or nodejs20 code once: deploy it as a temporary function, invoke its handler with input, delete it. Answers status (succeeded, failed, timeout), result or error {type, message, stack}, the invocation’s logs and timings. An error of the code is data, not a tool error.',
    annotations: { openWorldHint: false },
    arguments: toolArguments({}, executeBody),
    // With a progress token: streamed, each phase and piece of output a notification.
    call: ({ rest }, api, signal, report) =>
      report
        ? executeWithProgress(api, rest as unknown as ExecuteRequest, signal, report)
        : json(api, 'POST', `${OPERATIONS}/execute`, { json: rest, signal, long: true }),
  },
  {
    name: 'deploy_function',
    title: 'Deploy a temporary function',
    description:
      'Deploy code (code, or files by path) as a temporary cluster-local function for repeated calls; it is removed after ttlSeconds (default 3600) or by delete_function. Answers its id, project, readiness and expiry.',
    annotations: { openWorldHint: false },
    arguments: toolArguments({}, deployBody),
    call: ({ rest }, api, signal) =>
      json(api, 'POST', `${OPERATIONS}/deploy-function`, { json: rest, signal, long: true }),
  },
  {
    name: 'invoke_function',
    title: 'Invoke a temporary function',
    description:
      'Invoke a temporary function from deploy_function with an input. Answers as execute does: status, result or error, logs, timings.',
    annotations: { openWorldHint: false },
    arguments: toolArguments({ id: functionIdArgument }, invokeArguments),
    call: ({ path, rest }, api, signal) =>
      json(api, 'POST', `${OPERATIONS}/functions/${segment(path.id)}/invoke`, {
        json: rest.input ?? null,
        signal,
        long: true,
      }),
  },
  {
    name: 'delete_function',
    title: 'Delete a temporary function',
    description: 'Delete a temporary function from deploy_function now, before it expires.',
    annotations: { destructiveHint: true, idempotentHint: false, openWorldHint: false },
    arguments: toolArguments({ id: functionIdArgument }),
    call: async ({ path }, api, signal) => {
      await api.send({
        method: 'DELETE',
        path: `${OPERATIONS}/functions/${segment(path.id)}`,
        signal,
      });
      return { json: { deleted: path.id } };
    },
  },
  {
    name: 'open_session',
    title: 'Open an agent session',
    description:
      'Open a session: a warm temporary function that execute_in_session runs new code in, without deploying anew each time. Files the code leaves in its working directory (the session folder) stay for the next execution; module globals do not. It ends after idleTimeoutSeconds without an execution (default 300, at most what the API allows), on close_session, or when an execution times out. Answers its id and when it expires.',
    annotations: { openWorldHint: false },
    // The API's own limit of idleTimeoutSeconds (HKS_SESSION_MAX_IDLE_SECONDS) is checked there.
    arguments: toolArguments({}, openSessionBody(MAX_IDLE_LIMIT_SECONDS)),
    call: ({ rest }, api, signal) =>
      json(api, 'POST', `${OPERATIONS}/sessions`, { json: rest, signal, long: true }),
  },
  {
    name: 'execute_in_session',
    title: 'Run code in a session',
    description:
      'Run code in a session from open_session, with input. Answers as execute: status, result or error, stdout, stderr, outputFiles, timings; sessionEnded when a timeout ended the session. An error of the code is data, not a tool error.',
    annotations: { openWorldHint: false },
    arguments: toolArguments({ sessionId: sessionIdArgument }, sessionExecuteBody),
    call: ({ path, rest }, api, signal) =>
      json(api, 'POST', `${OPERATIONS}/sessions/${segment(path.sessionId)}/execute`, {
        json: rest,
        signal,
        long: true,
      }),
  },
  {
    name: 'close_session',
    title: 'Close a session',
    description: 'Close a session from open_session now: its function is deleted.',
    annotations: { destructiveHint: true, idempotentHint: false, openWorldHint: false },
    arguments: toolArguments({ sessionId: sessionIdArgument }),
    call: async ({ path }, api, signal) => {
      await api.send({
        method: 'DELETE',
        path: `${OPERATIONS}/sessions/${segment(path.sessionId)}`,
        signal,
      });
      return { json: { closed: path.sessionId } };
    },
  },
  {
    name: 'function_logs',
    title: 'Function logs',
    description:
      "The logs of a function's pods (a temporary function's id is its name), optionally since a duration (30s, 5m, 2h) and the last tail lines.",
    annotations: READ,
    arguments: toolArguments(
      { project: projectArgument, name: nameArgument('function') },
      logsQuery.omit({ follow: true }),
    ),
    call: async ({ path, rest }, api, signal) => ({
      text: await api.text({
        method: 'GET',
        path: `${projectPath(path)}/functions/${segment(path.name)}/logs`,
        query: queryOf(rest),
        signal,
      }),
    }),
  },
  {
    name: 'function_history',
    title: 'Function revisions',
    description:
      "A function's history: its revisions, oldest first, with readiness, creation time, traffic share and tags.",
    annotations: READ,
    arguments: toolArguments({ project: projectArgument, name: nameArgument('function') }),
    call: ({ path }, api, signal) =>
      json(api, 'GET', `${projectPath(path)}/functions/${segment(path.name)}/revisions`, {
        signal,
      }),
  },
  {
    name: 'list_cronjobs',
    title: 'List CronJobs',
    description:
      'The CronJobs of a project: schedule, time zone, suspension, next run, last run and the newest runs.',
    annotations: READ,
    arguments: toolArguments({ project: projectArgument }),
    call: ({ path }, api, signal) => json(api, 'GET', `${projectPath(path)}/cronjobs`, { signal }),
  },
  {
    name: 'trigger_cronjob',
    title: 'Run a CronJob now',
    description:
      'Run a CronJob now: a Job from its job template, recorded as a manual execution. Answers the Job name and the execution id. With idempotencyKey, calling again with the same key answers the same run instead of starting another.',
    annotations: { openWorldHint: false },
    arguments: toolArguments(
      { project: projectArgument, name: nameArgument('CronJob') },
      z.strictObject({
        idempotencyKey: z.string().optional().meta({
          description:
            'Sent as Idempotency-Key: 1 to 255 visible ASCII characters, kept 24 h per CronJob',
        }),
      }),
    ),
    call: ({ path, rest }, api, signal) =>
      json(api, 'POST', `${projectPath(path)}/cronjobs/${segment(path.name)}/trigger`, {
        signal,
        headers:
          typeof rest.idempotencyKey === 'string'
            ? { 'idempotency-key': rest.idempotencyKey }
            : undefined,
      }),
  },
  {
    name: 'list_executions',
    title: 'CronJob executions',
    description:
      "A CronJob's executions, newest first: trigger, status, times, exit code and why it ended; filter by status and start time (since inclusive, until exclusive), page with limit and nextCursor.",
    annotations: READ,
    arguments: toolArguments(
      { project: projectArgument, name: nameArgument('CronJob') },
      executionsQuery,
    ),
    call: ({ path, rest }, api, signal) =>
      json(api, 'GET', `${projectPath(path)}/cronjobs/${segment(path.name)}/executions`, {
        query: queryOf(rest),
        signal,
      }),
  },
  {
    name: 'get_execution',
    title: 'One execution',
    description:
      'One execution of a CronJob by id (from trigger_cronjob): status, times, exit code and why it ended.',
    annotations: READ,
    arguments: toolArguments({
      project: projectArgument,
      name: nameArgument('CronJob'),
      id: executionIdArgument,
    }),
    call: ({ path }, api, signal) =>
      json(
        api,
        'GET',
        `${projectPath(path)}/cronjobs/${segment(path.name)}/executions/${segment(path.id)}`,
        { signal },
      ),
  },
  {
    name: 'execution_logs',
    title: 'Execution logs',
    description:
      'The logs of one execution of a CronJob: as recorded once it finished, or what its pod has written so far.',
    annotations: READ,
    arguments: toolArguments({
      project: projectArgument,
      name: nameArgument('CronJob'),
      id: executionIdArgument,
    }),
    call: async ({ path }, api, signal) => ({
      text: await api.text({
        method: 'GET',
        path: `${projectPath(path)}/cronjobs/${segment(path.name)}/executions/${segment(path.id)}/logs`,
        signal,
      }),
    }),
  },
];

/** One JSON request; requests that run user code get the long time limit. */
async function json(
  api: Http,
  method: 'GET' | 'POST',
  path: string,
  options: {
    readonly json?: unknown;
    readonly query?: Record<string, string>;
    readonly headers?: Record<string, string>;
    readonly signal: AbortSignal;
    readonly long?: boolean;
  },
): Promise<ToolOutput> {
  return {
    json: await api.json({
      method,
      path,
      json: options.json,
      query: options.query,
      headers: options.headers,
      signal: options.signal,
      timeoutMs: options.long ? LONG_REQUEST_TIMEOUT_MS : undefined,
    }),
  };
}
