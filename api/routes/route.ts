import type { Request, Response } from 'express';
import type { z } from 'zod';

/** One API route: registered in express and described in the OpenAPI document from the same data. */
export interface Route {
  readonly method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express path under /api/v1, e.g. `/projects/:project/applications/:name`. */
  readonly path: string;
  readonly summary: string;
  /** Schema of the query string. @default - none */
  readonly query?: z.ZodType;
  /** Schema of the JSON body, or `definition` for an application definition. @default - no body */
  readonly body?: z.ZodType | 'definition';
  /** Take the body as raw bytes of any media type (passed on as is). @default false */
  readonly rawBody?: boolean;
  /** Success status. @default 200 */
  readonly status?: number;
  /** Response media type. @default "application/json" */
  readonly produces?: string;
  readonly handle: (req: Request, res: Response) => Promise<void>;
}
