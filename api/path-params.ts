import type { RequestHandler } from 'express';
import { checkAppName, checkProjectName, describeValue } from '../constructs/field-rules';
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

/**
 * The rule of each path parameter, by the segment before it: names follow the definition
 * schema's rules, temporary functions (`fn-…`, `exec-…`) are functions and so named like one.
 */
const RULES: Readonly<Record<string, ParamRule>> = {
  'projects/:project': checkProjectName,
  'applications/:name': checkAppName,
  'cronjobs/:name': checkAppName,
  'functions/:name': checkAppName,
  'executions/:id': checkExecutionId,
  'functions/:id': checkAppName,
};

/**
 * Validates the path parameters of one route before its handlers run, so that no malformed
 * value (`a%2Fb` decodes to `a/b`, `..`, upper case, over-long) reaches Kubernetes or the store.
 * @param path the route's express path, e.g. `/projects/:project/cronjobs/:name`
 * @throws Error when the path has a parameter without a rule (a programming error, at start)
 */
export function validatePathParams(path: string): RequestHandler {
  const segments = path.split('/');
  const params = segments.flatMap((segment, i) => {
    if (!segment.startsWith(':')) return [];
    const key = `${segments[i - 1]}/${segment}`;
    const rule = RULES[key];
    if (!rule)
      throw new Error(
        `Route ${path}: no rule for path parameter ${segment} after "${segments[i - 1]}"; add one to api/path-params.ts`,
      );
    return [{ name: segment.slice(1), rule }];
  });
  return (req, _res, next) => {
    const errors = params.flatMap(({ name, rule }) => {
      const message = rule(String(req.params[name]));
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
