import { z } from 'zod';
import { definitionJsonSchema } from '../constructs';
import { Route } from './routes/route';

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    unrepresentable: 'any',
    io,
  }) as Json;
  return rest;
}

const PROBLEM = {
  type: 'object',
  description: 'RFC 9457 problem details',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
};

/** Routes mounted under one base path, with the security scheme they require. */
export interface RouteGroup {
  /** e.g. `/api/v1`. */
  readonly base: string;
  readonly routes: readonly Route[];
  /** `bearer` (user tokens) or `internalBearer` (internal tokens). */
  readonly security: 'bearer' | 'internalBearer';
}

/** The OpenAPI 3.1 document, generated from the route tables and the definition schema. */
export function openApiDocument(groups: readonly RouteGroup[], version: string): Json {
  const { $schema: _ignored, ...definition } = definitionJsonSchema();
  const paths: Record<string, Json> = {};
  for (const { base, routes, security } of groups)
    for (const route of routes) {
      const path = `${base}${route.path.replace(/:(\w+)/g, '{$1}')}`;
      const pathParams = [...route.path.matchAll(/:(\w+)/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
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
                    route.body === 'definition'
                      ? { $ref: '#/components/schemas/ApplicationDefinition' }
                      : jsonSchema(route.body),
                },
              },
            };
      paths[path] = {
        ...paths[path],
        [route.method]: {
          summary: route.summary,
          security: [{ [security]: [] }],
          parameters: [...pathParams, ...queryParams],
          ...(body ? { requestBody: body } : {}),
          responses: {
            [String(route.status ?? 200)]: {
              description: 'Success',
              content: { [route.produces ?? 'application/json']: {} },
            },
            default: {
              description: 'Error',
              content: {
                'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
              },
            },
          },
        },
      };
    }
  for (const [path, summary] of [
    ['/healthz', 'Liveness'],
    ['/readyz', 'Readiness: the cluster and the store are reachable'],
    ['/metrics', 'Prometheus metrics'],
    ['/openapi.json', 'This document'],
  ]) {
    paths[path] = { get: { summary, security: [], responses: { 200: { description: 'OK' } } } };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'HKS Platform API', version },
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
    },
    paths,
  };
}
