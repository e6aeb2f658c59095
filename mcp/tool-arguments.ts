import { z } from 'zod';
import { checkAppName, checkProjectName, describeValue } from '../constructs/field-rules';
import { FieldError, Problem } from '../api/problem';
import { parseRequest } from '../api/validate-request';

/** A tool's arguments as JSON Schema: an object, as MCP requires. */
export interface ObjectJsonSchema {
  readonly type: 'object';
  readonly properties?: Record<string, object>;
  readonly required?: string[];
  readonly [key: string]: unknown;
}

/** Arguments that passed: the path parameters, checked, and the rest as the caller gave it. */
export interface ParsedArguments {
  /** Path parameters by name (project, name, id). */
  readonly path: Readonly<Record<string, string>>;
  /** Every other argument as given: the API reads and checks it again with the same schema. */
  readonly rest: Readonly<Record<string, unknown>>;
}

/** Arguments that did not pass: every failing field with what was given and what is expected. */
export class ToolArgumentsError extends Error {
  constructor(public readonly errors: readonly FieldError[]) {
    super(
      `Invalid arguments: ${errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ')}`,
    );
    this.name = 'ToolArgumentsError';
  }
}

/** How a tool's arguments are described and checked. */
export interface ToolArguments {
  readonly jsonSchema: ObjectJsonSchema;
  /** @throws ToolArgumentsError naming every failing field */
  parse(args: unknown): ParsedArguments;
}

/** A path parameter checked by the same rule the API applies to it. */
function pathArgument(check: (value: string) => string | undefined, description: string) {
  return z
    .string()
    .superRefine((value, ctx) => {
      const problem = check(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
    })
    .meta({ description });
}

/** The project a tool works in. */
export const projectArgument = pathArgument(
  checkProjectName,
  'The project (a DNS label); the token must grant it',
);

/** The name of a CronJob or function. */
export function nameArgument(what: string) {
  return pathArgument(checkAppName, `The ${what}'s name`);
}

/** A temporary function's id, as deploy_function answered it. */
export const functionIdArgument = pathArgument(
  checkAppName,
  'The temporary function’s id, from deploy_function (fn-…)',
);

/** A session's id, from open_session: the name of its function. */
export const sessionIdArgument = pathArgument(
  checkAppName,
  'The session’s id, from open_session (sess-…)',
);

/** An execution's id: its Job's uid; the API checks its form. */
export const executionIdArgument = z.string().min(1).max(36).meta({
  description: 'The execution’s id (the uid of its Job), from trigger_cronjob or list_executions',
});

/**
 * Arguments made of path parameters and, optionally, the route's own body or query schema:
 * one flat object for the agent, checked in two parts with the API's validator (so the
 * messages are the API's). Passing arguments are not transformed: the API gets what was given.
 * @param path schemas of the path parameters, by name
 * @param route the route's body or query schema (an object schema) @default - no other argument
 */
export function toolArguments(
  path: Readonly<Record<string, z.ZodType>>,
  route?: z.ZodType,
): ToolArguments {
  const pathSchema = z.strictObject(path);
  const pathJson = jsonSchemaOf(pathSchema);
  const routeJson = route ? jsonSchemaOf(route) : undefined;
  const jsonSchema: ObjectJsonSchema = {
    ...routeJson,
    type: 'object',
    properties: { ...pathJson.properties, ...routeJson?.properties },
    required: [...(pathJson.required ?? []), ...(routeJson?.required ?? [])],
    additionalProperties: false,
  };
  const pathKeys = Object.keys(path);
  return {
    jsonSchema,
    parse(args) {
      if (typeof args !== 'object' || args === null || Array.isArray(args)) {
        throw new ToolArgumentsError([
          { path: '', message: `given ${describeValue(args)}, expected an object of arguments` },
        ]);
      }
      const given = args as Record<string, unknown>;
      const pathPart = Object.fromEntries(pathKeys.map((key) => [key, given[key]]));
      const rest = Object.fromEntries(
        Object.entries(given).filter(([key]) => !pathKeys.includes(key)),
      );
      const errors = [
        ...fieldErrors(() => parseRequest(pathSchema, pathPart, 'body')),
        ...(route
          ? fieldErrors(() => parseRequest(route, rest, 'body'))
          : Object.keys(rest).map((key) => ({
              path: key,
              message: `unknown field, expected only ${pathKeys.join(', ') || 'no arguments'}`,
            }))),
      ];
      if (errors.length > 0) throw new ToolArgumentsError(errors);
      return { path: pathPart as Record<string, string>, rest };
    },
  };
}

/** The field errors of the API's 400 for a check, or none. */
function fieldErrors(check: () => unknown): readonly FieldError[] {
  try {
    check();
    return [];
  } catch (error) {
    if (error instanceof Problem && error.status === 400) return error.errors;
    throw error;
  }
}

function jsonSchemaOf(schema: z.ZodType): ObjectJsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as ObjectJsonSchema;
  return rest as ObjectJsonSchema;
}
