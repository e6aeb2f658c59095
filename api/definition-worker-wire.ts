import { FieldError, Problem } from './problem';

/** An error as it crosses from a worker thread: a Problem keeps all its fields. */
export type WireError =
  | {
      readonly problem: {
        readonly status: number;
        readonly title: string;
        readonly detail: string;
        readonly errors: readonly FieldError[];
        readonly headers: Readonly<Record<string, string>>;
        readonly extensions: Readonly<Record<string, unknown>>;
      };
    }
  | { readonly name: string; readonly message: string; readonly stack?: string };

/** What a worker posts back for one job. */
export type WorkerReply =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: WireError };

export function toWireError(error: unknown): WireError {
  if (error instanceof Problem) {
    const { status, title, detail, errors, headers, extensions } = error;
    return { problem: { status, title, detail, errors, headers, extensions } };
  }
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message, stack: e.stack };
}

/** The error a worker reported, as the main thread throws it. */
export function fromWireError(wire: WireError): Error {
  if ('problem' in wire) {
    const { status, title, detail, errors, headers, extensions } = wire.problem;
    return new Problem(status, title, detail, errors, headers, extensions);
  }
  const error = new Error(wire.message);
  error.name = wire.name;
  if (wire.stack) error.stack = wire.stack;
  return error;
}
