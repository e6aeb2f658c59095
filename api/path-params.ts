import type { RequestHandler } from 'express';
import {
  checkAppName,
  checkProjectName,
  describeValue,
  MAX_APP_NAME_LENGTH,
  MAX_PROJECT_NAME_LENGTH,
} from '../constructs/field-rules';
import { checkScheduleName, MAX_SCHEDULE_NAME_LENGTH } from '../constructs/function-schedule-rules';
import { Problem } from './problem';

/** A rule for one path parameter: undefined when fine, else what was given and what is expected. */
type ParamRule = (value: string) => string | undefined;

/** Longest execution id: the uid of its Job, a 36-character UUID. */
export const MAX_EXECUTION_ID_LENGTH = 36;

const EXECUTION_ID = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** An execution id: the uid Kubernetes gave its Job (a lower-case UUID). */
function checkExecutionId(value: string): string | undefined {
  if (value.length <= MAX_EXECUTION_ID_LENGTH && EXECUTION_ID.test(value)) return undefined;
  return `given ${describeValue(value)}${value.length > MAX_EXECUTION_ID_LENGTH ? ` (${value.length} characters)` : ''}, expected an execution id: the uid of its Job, lower-case letters, digits and '-', at most ${MAX_EXECUTION_ID_LENGTH} characters`;
}

const INVOCATION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An invocation id: the UUID the API gave it. */
function checkInvocationId(value: string): string | undefined {
  if (INVOCATION_ID.test(value)) return undefined;
  const length = value.length > 36 ? ` (${value.length} characters)` : '';
  return `given ${describeValue(value)}${length}, expected an invocation id: a lower-case UUID such as 0b6f1c2e-5d4a-4e3b-9f21-7c8d9e0a1b2c`;
}

/** A path parameter's JSON Schema, for the OpenAPI document. */
export type ParamSchema = Readonly<Record<string, unknown>>;

const DNS_LABEL = '^[a-z]([-a-z0-9]*[a-z0-9])?$';

const projectSchema: ParamSchema = {
  type: 'string',
  pattern: DNS_LABEL,
  maxLength: MAX_PROJECT_NAME_LENGTH,
  description: 'A project: a DNS label, none of the reserved namespaces',
};

const nameSchema: ParamSchema = {
  type: 'string',
  pattern: DNS_LABEL,
  maxLength: MAX_APP_NAME_LENGTH,
  description: 'A name: a DNS label not starting with hks-',
};

const scheduleNameSchema: ParamSchema = {
  type: 'string',
  pattern: DNS_LABEL,
  maxLength: MAX_SCHEDULE_NAME_LENGTH,
  description: "A schedule of the function: a DNS label, as its definition's schedules[].name",
};

const idSchema: ParamSchema = {
  type: 'string',
  pattern: EXECUTION_ID.source,
  maxLength: MAX_EXECUTION_ID_LENGTH,
  description: 'The uid of the Job',
};

const invocationIdSchema: ParamSchema = {
  type: 'string',
  pattern: INVOCATION_ID.source,
  description: 'The id the API gave the invocation (X-Request-Id)',
};

/**
 * The rule of each path parameter, by the segment before it: names follow the definition
 * schema's rules, temporary functions (`fn-…`, `exec-…`) are functions and so named like one.
 * The schema says the same in JSON Schema, less what a pattern cannot (reserved names).
 */
const RULES: Readonly<Record<string, { check: ParamRule; schema: ParamSchema }>> = {
  'projects/:project': { check: checkProjectName, schema: projectSchema },
  'applications/:name': { check: checkAppName, schema: nameSchema },
  'cronjobs/:name': { check: checkAppName, schema: nameSchema },
  'functions/:name': { check: checkAppName, schema: nameSchema },
  'executions/:id': { check: checkExecutionId, schema: idSchema },
  'functions/:id': { check: checkAppName, schema: nameSchema },
  'invocations/:id': { check: checkInvocationId, schema: invocationIdSchema },
  'schedules/:schedule': { check: checkScheduleName, schema: scheduleNameSchema },
  'sessions/:id': { check: checkAppName, schema: nameSchema },
  'async-invocations/:id': { check: checkInvocationId, schema: invocationIdSchema },
};

/** The path parameters of a route, in order, with their rules. */
function paramsOf(path: string): { name: string; check: ParamRule; schema: ParamSchema }[] {
  const segments = path.split('/');
  return segments.flatMap((segment, i) => {
    if (!segment.startsWith(':')) return [];
    const key = `${segments[i - 1]}/${segment}`;
    const rule = RULES[key];
    if (!rule)
      throw new Error(
        `Route ${path}: no rule for path parameter ${segment} after "${segments[i - 1]}"; add one to api/path-params.ts`,
      );
    return [{ name: segment.slice(1), ...rule }];
  });
}

/** Each path parameter of a route with its JSON Schema, for the OpenAPI document. */
export function pathParamSchemas(path: string): { name: string; schema: ParamSchema }[] {
  return paramsOf(path).map(({ name, schema }) => ({ name, schema }));
}

/**
 * Validates the path parameters of one route before its handlers run, so that no malformed
 * value (`a%2Fb` decodes to `a/b`, `..`, upper case, over-long) reaches Kubernetes or the store.
 * @param path the route's express path, e.g. `/projects/:project/cronjobs/:name`
 * @throws Error when the path has a parameter without a rule (a programming error, at start)
 */
export function validatePathParams(path: string): RequestHandler {
  const params = paramsOf(path);
  return (req, _res, next) => {
    const errors = params.flatMap(({ name, check }) => {
      const message = check(String(req.params[name]));
      return message === undefined ? [] : [{ path: name, message }];
    });
    if (errors.length === 0) {
      next();
      return;
    }
    next(
      new Problem(
        400,
        'Invalid request path',
        errors.map((e) => `path parameter ${e.path}: ${e.message}`).join('; '),
        errors,
      ),
    );
  };
}
