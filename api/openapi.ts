import { z } from 'zod';
import { DEFAULT_HANDLERS, definitionJsonSchema } from '../constructs';
import { pathParamSchemas } from './path-params';
import { definitionRef } from './routes/response-schemas';
import { Route } from './routes/route';

type Json = Record<string, unknown>;

const DEFINITION_REF = '#/components/schemas/ApplicationDefinition';

function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    unrepresentable: 'any',
    io,
    // A stored definition in a response is the document's ApplicationDefinition schema.
    override: (ctx) => {
      if (ctx.zodSchema !== definitionRef) return;
      for (const key of Object.keys(ctx.jsonSchema)) delete ctx.jsonSchema[key];
      ctx.jsonSchema.$ref = DEFINITION_REF;
    },
  }) as Json;
  return rest;
}

/** {@link ProblemDetails} (api/problem.ts) as JSON Schema. */
const PROBLEM = {
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', description: 'URI naming the kind of problem' },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string' },
    instance: { type: 'string', description: 'The request path the problem is about' },
    errors: {
      type: 'array',
      description: 'Every failing field, for validation problems',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: {
          path: { type: 'string' },
          message: { type: 'string' },
          line: {
            type: 'integer',
            minimum: 1,
            description: 'For source code errors: the line of the file the error is on',
          },
        },
      },
    },
  },
};

/** The `ETag` response header of a stored application's version. */
const ETAG_HEADER = {
  description: 'Strong entity tag of the stored version (RFC 9110); send it as If-Match',
  schema: { type: 'string' },
};

/** The header parameters a route declares. */
function headerParameters(route: Route): Json[] {
  return Object.entries(route.requestHeaders ?? {}).map(([name, description]) => ({
    name,
    in: 'header',
    required: false,
    description,
    schema: { type: 'string' },
  }));
}

/** What each error status means; every route may answer the first five. */
const ERRORS: Readonly<Record<number, string>> = {
  400: 'Invalid path parameter, query or body: `errors` names each field',
  401: 'No token, or one that is invalid or expired',
  403: 'The token does not grant the project',
  404: 'No such object (or route)',
  405: 'The path does not allow the method: `Allow` lists those it does',
  502: 'Kubernetes is unreachable',
  409: 'Conflicts with the current state',
  412: 'If-Match does not match the current ETag (or the application does not exist)',
  413: 'The body is larger than HKS_BODY_LIMIT_BYTES (HKS_DEFINITION_LIMIT_BYTES for a definition), counted after decompression',
  415: 'A Content-Encoding other than identity, gzip, deflate or br, or a charset other than utf-8',
  422: 'Kubernetes rejected the objects',
  429: "Too many of the project's requests at once (temporary functions, definitions being checked); see Retry-After",
  503: 'A dependency (the function, the source checker) is not available now, or checking the definition passed its time or memory limit',
  504: 'Not ready, or no answer, in time',
};
const COMMON_ERRORS = [400, 401, 403, 404, 502];
/** Statuses of the body parser, for routes that take a body. */
const BODY_ERRORS = [413, 415];

const problemResponse = (status: number) => ({
  description: ERRORS[status] ?? 'Error',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** The `Allow` response header: the methods a path allows. */
const ALLOW_HEADER = {
  description: 'The methods the path allows, e.g. `GET, HEAD, OPTIONS`',
  schema: { type: 'string' },
};

/**
 * What every path answers for a method it does not declare (405, with `Allow`) and for OPTIONS
 * (204, with `Allow`, no body): stated once, as operations they would be listed as callable.
 */
const METHOD_NOT_ALLOWED = {
  description: `${ERRORS[405]}. OPTIONS on any path answers 204 with Allow and no body (under /api/v1 and /internal/v1 after the token is checked: 401 without one)`,
  headers: { Allow: ALLOW_HEADER },
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
};

const requiredOneOf = (keys: readonly string[]) => keys.map((key) => ({ required: [key] }));

/**
 * The source rule of a Function's spec, which the schema checks in code, in JSON Schema: runtime
 * image takes an image and no source, a source runtime exactly one of source, code and files
 * and no image.
 */
const FUNCTION_SOURCE_RULE = {
  oneOf: [
    {
      properties: { runtime: { const: 'image' } },
      required: ['image'],
      not: { anyOf: requiredOneOf(['source', 'code', 'files', 'handler']) },
    },
    {
      properties: { runtime: { enum: Object.keys(DEFAULT_HANDLERS) } },
      not: { required: ['image'] },
      oneOf: requiredOneOf(['source', 'code', 'files']),
    },
  ],
};

/** The definition schema with the rules JSON Schema can state added to it. */
function definitionSchema(): Json {
  const { $schema: _ignored, ...definition } = definitionJsonSchema();
  const kinds = (definition.oneOf ?? []) as { properties: Record<string, Json> }[];
  for (const kind of kinds) {
    if ((kind.properties.kind as { const?: string }).const !== 'Function') continue;
    Object.assign(kind.properties.spec, FUNCTION_SOURCE_RULE, {
      description:
        'runtime image: an image and none of source, code, files and handler; a source runtime: exactly one of source, code and files, and no image',
    });
  }
  return definition;
}

/** Routes mounted under one base path, with the security scheme they require. */
export interface RouteGroup {
  /** e.g. `/api/v1`. */
  readonly base: string;
  readonly routes: readonly Route[];
  /** `bearer` (user tokens) or `internalBearer` (internal tokens). */
  readonly security: 'bearer' | 'internalBearer';
  /** Error statuses every route of the group may answer besides the common ones. @default - none */
  readonly errors?: readonly number[];
}

/** The responses of one route: its success statuses and bodies, then its problems. */
function responses(route: Route, groupErrors: readonly number[]): Json {
  const media = route.produces ?? 'application/json';
  const success: Json = {};
  // A pass-through route's own success is the function's answer, stated as `default` below.
  const bodies: Readonly<Record<number, z.ZodType | undefined>> = {
    ...(route.passThrough ? {} : { [route.status ?? 200]: undefined }),
    ...route.responses,
  };
  for (const [status, body] of Object.entries(bodies))
    success[status] = {
      description: route.status === 204 ? 'Done' : 'Success',
      // Not on a dry run's 200 beside a 201: nothing was stored.
      ...(route.etag && !(status === '200' && route.status === 201)
        ? { headers: { ETag: ETAG_HEADER } }
        : {}),
      ...(status === '204'
        ? {}
        : {
            content: {
              [media]: body ? { schema: jsonSchema(body, 'output') } : {},
              ...(route.streams && status === String(route.status ?? 200)
                ? {
                    [route.streams.media]: {
                      schema: {
                        ...jsonSchema(route.streams.schema, 'output'),
                        description: route.streams.description,
                      },
                    },
                  }
                : {}),
            },
          }),
    };
  const takesBody = route.body !== undefined || route.rawBody === true;
  const errors = [
    ...new Set([
      ...COMMON_ERRORS,
      ...(takesBody ? BODY_ERRORS : []),
      ...(route.errors ?? []),
      ...groupErrors,
    ]),
  ].sort((a, b) => a - b);
  return {
    ...success,
    ...Object.fromEntries(errors.map((status) => [String(status), problemResponse(status)])),
    // The function's own status, headers and body.
    ...(route.passThrough
      ? { default: { description: "The function's response: its status, headers and body" } }
      : {}),
  };
}

/** Each dependency `/readyz` checks: `ok` or why not. */
const READY_CHECKS = {
  type: 'object',
  required: ['cluster', 'store'],
  properties: {
    cluster: { type: 'string', description: '`ok` or why not' },
    store: { type: 'string', description: '`ok` or why not' },
  },
};

/** Probes and documents outside the route tables. */
const OTHER_PATHS: Json = {
  '/healthz': {
    get: {
      summary: 'Liveness',
      security: [],
      responses: {
        200: {
          description: 'OK',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['status'],
                properties: { status: { const: 'ok' } },
              },
            },
          },
        },
      },
    },
  },
  '/readyz': {
    get: {
      summary: 'Readiness: the cluster and the store are reachable',
      security: [],
      responses: {
        200: {
          description: 'Ready',
          content: { 'application/json': { schema: READY_CHECKS } },
        },
        503: {
          description: 'The cluster or the store did not answer within 1.5 s (or failed)',
          headers: { 'Retry-After': { description: 'Seconds', schema: { type: 'string' } } },
          content: {
            'application/problem+json': {
              schema: { allOf: [{ $ref: '#/components/schemas/Problem' }, READY_CHECKS] },
            },
          },
        },
      },
    },
  },
  '/metrics': {
    get: {
      summary: 'Prometheus metrics (with the metrics token as bearer)',
      security: [],
      responses: {
        200: { description: 'OK', content: { 'text/plain': {} } },
        401: problemResponse(401),
        404: problemResponse(404),
      },
    },
  },
  '/openapi.json': {
    get: {
      summary: 'This document',
      security: [],
      responses: { 200: { description: 'OK', content: { 'application/json': {} } } },
    },
  },
};

/** The OpenAPI 3.1 document, generated from the route tables and the definition schema. */
export function openApiDocument(groups: readonly RouteGroup[], version: string): Json {
  const definition = definitionSchema();
  const paths: Record<string, Json> = {};
  for (const { base, routes, security, errors = [] } of groups)
    for (const route of routes) {
      const path = `${base}${route.path.replace(/:(\w+)/g, '{$1}')}`;
      const pathParams = pathParamSchemas(route.path).map(({ name, schema }) => ({
        name,
        in: 'path',
        required: true,
        schema,
      }));
      const query = route.query
        ? ((jsonSchema(route.query).properties as Record<string, Json> | undefined) ?? {})
        : {};
      const queryParams = Object.entries(query).map(([name, schema]) => ({
        name,
        in: 'query',
        required: false,
        schema,
      }));
      const body =
        route.body === undefined
          ? undefined
          : {
              required: true,
              content: {
                'application/json': {
                  schema:
                    route.body === 'definition' ? { $ref: DEFINITION_REF } : jsonSchema(route.body),
                },
              },
            };
      paths[path] = {
        ...paths[path],
        [route.method]: {
          summary: route.summary,
          // OpenAPI 3.1: the role names a non-OAuth requirement needs.
          security: [{ [security]: [...(route.roles ?? [])] }],
          parameters: [...pathParams, ...queryParams, ...headerParameters(route)],
          ...(body ? { requestBody: body } : {}),
          responses: responses(route, errors),
        },
      };
    }
  return {
    openapi: '3.1.0',
    info: {
      title: 'HKS Platform API',
      version,
      description:
        'Errors are RFC 9457 application/problem+json. A method a path does not declare is a 405 with Allow (components.responses.MethodNotAllowed); OPTIONS answers 204 with Allow. Bodies larger than their limit are 413, unknown encodings and charsets 415.',
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A user token: JWT with a projects claim',
        },
        internalBearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'An internal token: JWT with audience hks-internal, a projects claim and at most 10 minutes between iat and exp',
        },
      },
      schemas: { ApplicationDefinition: definition, Problem: PROBLEM },
      responses: { MethodNotAllowed: METHOD_NOT_ALLOWED },
    },
    paths: { ...paths, ...OTHER_PATHS },
  };
}
