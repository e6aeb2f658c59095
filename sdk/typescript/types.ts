import type { BootstrapRecord } from '../../runtimes/log-records';
import type {
  ApplicationDefinition,
  CronJobDefinition,
  FunctionDefinition,
  SourceRuntimeName,
} from '../../constructs';
import type { DeleteResult } from '../../api/applications';
import type { ApplicationView, ApplyResponse as ApplyResult } from '../../api/routes/applications';
import type {
  CronJobChange,
  CronJobSummary,
  CronJobView,
  ExecutionQuery,
  ExecutionView,
  ScheduleChange,
  TriggerResult,
} from '../../api/routes/cronjobs';
import type { ExecutionPage as Page, ExecutionStatus } from '../../api/store/store';
import type {
  FunctionView,
  RevisionView,
  TrafficRequest as TrafficTarget,
  TrafficView as FunctionTrafficView,
} from '../../api/functions';
import type { InvocationQuery, InvocationView } from '../../api/routes/function-invocations';
import type {
  InvocationPage,
  InvocationStatus,
  InvocationTrigger,
} from '../../api/store/invocation-store';
import type {
  DeployedFunction,
  DeployFunctionRequest,
  ExecuteRequest,
  ExecutionError as ExecuteError,
  ExecutionResult as ExecuteResult,
  ExecutionStatus as ExecuteStatus,
  OperationTimings,
  OutputTruncation,
} from '../../api/operations';
import type {
  ExecutionFiles,
  FileContent,
  OmissionReason,
  OmittedFile,
} from '../../api/execution-files';

export type { ApplicationDefinition, CronJobDefinition, FunctionDefinition, SourceRuntimeName };
export type { ApplicationView, ApplyResult, DeleteResult };
export type {
  CronJobChange,
  CronJobSummary,
  CronJobView,
  ExecutionQuery,
  ExecutionStatus,
  ExecutionView,
  ScheduleChange,
  TriggerResult,
};
export type { FunctionTrafficView, FunctionView, RevisionView, TrafficTarget };
export type {
  InvocationPage,
  InvocationQuery,
  InvocationStatus,
  InvocationTrigger,
  InvocationView,
};
export type {
  DeployedFunction,
  DeployFunctionRequest,
  ExecuteError,
  ExecuteRequest,
  ExecuteResult,
  ExecuteStatus,
  OperationTimings,
  OutputTruncation,
};
/** Files in and out of `execute`: `inputFiles` of the request, `outputFiles` and `omittedFiles` of the result. */
export type { ExecutionFiles, FileContent, OmissionReason, OmittedFile };

// Not the API's KubeObject: that is client-node's model (optional apiVersion, Date timestamps).
/** A Kubernetes object as the API shows it. */
export interface KubeObjectView {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string } & Record<
    string,
    unknown
  >;
  readonly [field: string]: unknown;
}

// The API's dry-run body is untyped (its manifests are KubeObject, see above).
/** The manifests a definition would produce (`?dryRun=true`). */
export interface DryRunResult {
  readonly dryRun: true;
  readonly manifests: KubeObjectView[];
}

/** A list response. */
export interface ItemList<T> {
  readonly items: T[];
}

/** A page of executions, newest first. */
export type ExecutionPage = Page<ExecutionView>;

/** Options of a Function invocation. */
export interface InvokeOptions {
  /** Invoke the revision with this traffic tag. @default - split by the traffic percentages */
  readonly tag?: string;
  /**
   * Time limit of the request (the function's own timeout is enforced by the API: 504).
   * @default 900000 (15 minutes, above the longest function timeout)
   */
  readonly timeoutMs?: number;
}

/** Options of an operation (they deploy and run user code). */
export interface OperationOptions {
  /** Time limit of the request. @default 900000 (15 minutes) */
  readonly timeoutMs?: number;
}

/** A Function's answer as it is: status, headers and body. */
export interface RawInvokeResult {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
  /** The body decoded as UTF-8. */
  readonly text: string;
  /** The `X-Request-Id` of the invocation, when the answer has one. */
  readonly requestId?: string;
  /**
   * With `logs: true`: what the function's code wrote during this invocation (and, on its
   * first such call, while loading), without the runtime's own record. Undefined when not
   * asked for, when the output exceeded the runtime's 8 KiB (see `logs()`), or for an image
   * function that does not implement `X-Hks-Log: tail`.
   */
  readonly logs?: string;
  /** With `logs: true`: the runtime's record of this invocation (status, duration, error with stack). */
  readonly invocation?: BootstrapRecord;
}

/** A raw request body for a Function. */
export interface RawInvokeRequest extends InvokeOptions {
  readonly body: string | Uint8Array;
  /** @default "application/octet-stream" for bytes, "text/plain" for strings */
  readonly contentType?: string;
  /** Ask for the invocation's output with the answer (`X-Hks-Log: tail`). @default false */
  readonly logs?: boolean;
}

/** Which logs of a Function. */
export interface FunctionLogOptions {
  /** Only lines newer than this, e.g. `30s`, `5m`, `1h`. @default - all the pods keep */
  readonly since?: string;
  /** Only the last n lines. @default - all */
  readonly tail?: number;
}

/** Options of a log stream. */
export interface FollowOptions {
  /** Stops the stream when aborted. @default - runs until the server ends it */
  readonly signal?: AbortSignal;
}

/** Options of waiting for a Function to become ready. */
export interface WaitOptions {
  /** @default 120000 */
  readonly timeoutMs?: number;
  /** Time between two polls. @default 1000 */
  readonly intervalMs?: number;
  /** Called with the Function after every poll. @default - nothing */
  readonly onProgress?: (view: FunctionView) => void;
  /** Stops waiting when aborted. @default - none */
  readonly signal?: AbortSignal;
}

/** Source runtimes of the internal API. */
export type OperationRuntime = SourceRuntimeName;

/** The outcome of invoking a deployed temporary function: as execute, without a deploy. */
export type InvokeFunctionResult = ExecuteResult;
