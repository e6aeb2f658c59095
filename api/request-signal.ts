import { AsyncLocalStorage } from 'node:async_hooks';
import type { Request, Response } from 'express';

/**
 * The abort signal of the HTTP request being handled, carried through its async work so that
 * every Kubernetes call made for it ({@link KubeRest}) is abandoned
 * once its client has gone, without threading a parameter through every layer.
 */
const requestSignals = new AsyncLocalStorage<AbortSignal>();

/** The signal of the request whose handler is running. @default - none outside a request */
export function currentRequestSignal(): AbortSignal | undefined {
  return requestSignals.getStore();
}

/** Runs `handle` with `signal` as the current request's signal. */
export function withRequestSignal<T>(signal: AbortSignal, handle: () => T): T {
  return requestSignals.run(signal, handle);
}

/**
 * Runs `run` outside any request: work it starts that outlives the request (an informer
 * started lazily by one) is not abandoned when that request's client goes.
 */
export function outsideRequest<T>(run: () => T): T {
  return requestSignals.exit(run);
}

/**
 * A signal that aborts when the client goes before the response is complete (it closed the
 * connection or gave up waiting). A response that was sent in full never aborts it.
 */
export function clientGoneSignal(req: Request, res: Response): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished)
      controller.abort(new Error(`client of ${req.method} ${req.path} gone`));
  });
  return controller.signal;
}
