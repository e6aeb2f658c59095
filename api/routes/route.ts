import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { ProjectRole } from '../auth';

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
  /**
   * JSON success bodies by status, for the OpenAPI document (a `dryRun` may answer 200 where
   * the route's status is 201). @default - the success status, body not described
   */
  readonly responses?: Readonly<Record<number, z.ZodType>>;
  /**
   * A streamed form of the success response, asked for by `Accept` (Server-Sent Events), for
   * the OpenAPI document: its media type, the schema of one event and what it is.
   * @default - none
   */
  readonly streams?: {
    readonly media: string;
    readonly schema: z.ZodType;
    readonly description: string;
  };
  /**
   * Error statuses (problems) besides those every route may answer: 400, 401, 403, 404 and 502.
   * @default - none
   */
  readonly errors?: readonly number[];
  /** Success responses carry the strong `ETag` of the stored version. @default false */
  readonly etag?: boolean;
  /** Request headers the route reads, by name, with what they mean. @default - none */
  readonly requestHeaders?: Readonly<Record<string, string>>;
  /** The status and body are the function's own (invoke): any status, any media type. @default false */
  readonly passThrough?: boolean;
  /**
   * Roles the token must hold in the path's project besides its grant (a 403 otherwise), named
   * in the OpenAPI security requirement. @default - none: the project grant is enough
   */
  readonly roles?: readonly ProjectRole[];
  readonly handle: (req: Request, res: Response) => Promise<void>;
}
