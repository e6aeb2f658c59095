import { z } from 'zod';
import {
  AsyncInvocations,
  ASYNC_STATES,
  asyncInvocationView,
  callbackKeyView,
} from '../async-invocations';
import { parseRequest } from '../validate-request';
import { itemsOf } from './response-schemas';
import { Route } from './route';

/** Most invocations one list answers. */
const MAX_LIST = 500;

const listQuery = z.strictObject({
  state: z.enum(ASYNC_STATES).optional(),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_LIST)
    .optional()
    .meta({ description: '@default 50' }),
});

const params = (req: { params: Record<string, unknown> }) =>
  [String(req.params.project), String(req.params.name), String(req.params.id)] as const;

/** Routes of a function's asynchronous invocations and a project's callback key. */
export function asyncInvocationRoutes(async: AsyncInvocations): Route[] {
  const base = '/projects/:project/functions/:name/async-invocations';
  return [
    {
      method: 'get',
      path: base,
      summary:
        "A function's asynchronous invocations, newest first (?state= queued, running, succeeded, failed-retrying, dead or cancelled; ?limit=, at most 500), without result bodies",
      query: listQuery,
      responses: { 200: itemsOf(asyncInvocationView) },
      handle: async (req, res) => {
        const { state, limit } = parseRequest(listQuery, req.query, 'query');
        const items = await async.list(
          { project: String(req.params.project), function: String(req.params.name), state },
          limit ?? 50,
        );
        res.json({ items });
      },
    },
    {
      method: 'get',
      path: `${base}/:id`,
      summary:
        'An asynchronous invocation: its state, attempts (with their invocation-history ids), result and callback delivery',
      responses: { 200: asyncInvocationView },
      handle: async (req, res) => {
        res.json(await async.get(...params(req)));
      },
    },
    {
      method: 'delete',
      path: `${base}/:id`,
      summary:
        'Cancels an asynchronous invocation that is queued or waiting for a retry; 409 naming its state otherwise',
      errors: [409],
      responses: { 200: asyncInvocationView },
      handle: async (req, res) => {
        res.json(await async.cancel(...params(req)));
      },
    },
    {
      method: 'get',
      path: '/projects/:project/async-callback-key',
      summary:
        'The key the project\'s callbacks are signed with (X-Hks-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">)',
      responses: { 200: callbackKeyView },
      handle: async (req, res) => {
        res.json({
          algorithm: 'HMAC-SHA256',
          header: 'X-Hks-Signature',
          key: async.callbackKey(String(req.params.project)),
        });
      },
    },
  ];
}
