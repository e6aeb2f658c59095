import { z } from 'zod';
import { ASYNC_STATES } from './queue-store';

/**
 * An asynchronous invocation as the API answers it: the one declaration the routes' OpenAPI
 * response schemas and the TypeScript type are both made from.
 */
export const asyncInvocationView = z.object({
  id: z.string(),
  project: z.string(),
  function: z.string(),
  tag: z.string().optional().meta({ description: 'The tagged revision it was sent to' }),
  state: z.enum(ASYNC_STATES),
  attempts: z.number().int().min(0),
  maxAttempts: z.number().int().min(1),
  attemptIds: z
    .array(z.string())
    .meta({ description: 'Invocation-history ids of the attempts made so far, first to last' }),
  createdAt: z.string(),
  updatedAt: z.string(),
  nextAttemptAt: z
    .string()
    .optional()
    .meta({ description: 'When the next attempt is due (queued or waiting for a retry)' }),
  finishedAt: z.string().optional(),
  durationMs: z.number().min(0).optional().meta({ description: 'Of the last attempt' }),
  requestBytes: z.number().int().min(0),
  idempotencyKey: z.string().optional(),
  callbackUrl: z.string().optional(),
  callback: z
    .object({
      state: z.enum(['pending', 'delivered', 'failed']),
      attempts: z.number().int().min(0),
      status: z.number().int().optional(),
      error: z.string().optional(),
      at: z.string().optional(),
    })
    .optional()
    .meta({
      description: 'Delivery of the result to callbackUrl: pending until delivered or given up',
    }),
  lastError: z.string().optional(),
  result: z
    .object({
      status: z.number().int(),
      contentType: z.string().optional(),
      bytes: z.number().int().min(0),
      truncated: z
        .boolean()
        .meta({ description: 'Only the first HKS_ASYNC_RESULT_LIMIT_BYTES were kept' }),
      body: z.string().optional().meta({ description: 'The body kept, as text when it is UTF-8' }),
      bodyBase64: z
        .string()
        .optional()
        .meta({ description: 'The body kept, base64, when it is not UTF-8' }),
    })
    .optional()
    .meta({
      description:
        "The function's answer to the last attempt (lists leave out body and bodyBase64); absent until one ended",
    }),
});

/** An asynchronous invocation as the API shows it. */
export type AsyncInvocationView = z.infer<typeof asyncInvocationView>;

/** The answer to a submission: 202 queued now, 200 the invocation holding the idempotency key. */
export const asyncSubmissionView = z.object({
  id: z.string(),
  state: z.enum(ASYNC_STATES),
  location: z.string().meta({ description: 'Where to poll it (also the Location header)' }),
});

/** The key a project's callbacks are signed with, and how. */
export const callbackKeyView = z.object({
  algorithm: z.literal('HMAC-SHA256'),
  header: z.literal('X-Hks-Signature'),
  key: z.string(),
});
