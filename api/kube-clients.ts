import {
  createConfiguration,
  type KubeConfig,
  type RequestContext,
  ServerConfiguration,
} from '@kubernetes/client-node';
import { ClientGoneError, KubeTimeoutError } from './kube-rest';
import { currentRequestSignal } from './request-signal';

/**
 * The signal a client-node call is sent with: its deadline, and the current request's client.
 * Node-fetch rejects with an `AbortError` either way; {@link abortCause} tells which.
 */
function callSignal(timeoutMs: number): AbortSignal {
  // A controller and a timer, not AbortSignal.any([AbortSignal.timeout(ms), ...]): Node may
  // garbage-collect a timeout signal inside a composite before it fires (nodejs/node#57736),
  // and the call then never ends (seen with etcd stopped: 2 of 14 reads hung 30 s and more).
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException('The deadline passed', 'TimeoutError')),
    timeoutMs,
  );
  timer.unref();
  const request = currentRequestSignal();
  if (request?.aborted) controller.abort(request.reason);
  else request?.addEventListener('abort', () => controller.abort(request.reason), { once: true });
  controller.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  return controller.signal;
}

/**
 * A generated client of @kubernetes/client-node (`CoreV1Api`, `BatchV1Api`...) whose every call
 * has a deadline of `timeoutMs` and is abandoned when the current request's client goes.
 */
export function clientWithDeadline<T>(
  config: KubeConfig,
  api: new (configuration: ReturnType<typeof createConfiguration>) => T,
  timeoutMs: number,
): T {
  const cluster = config.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig has no current cluster');
  return new api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: config },
      promiseMiddleware: [
        {
          pre: async (context: RequestContext) => {
            context.setSignal(callSignal(timeoutMs));
            return context;
          },
          post: async (context) => context,
        },
      ],
    }),
  );
}

/**
 * What an `AbortError` of a client-node call means: the current request's client has gone,
 * or (otherwise) the deadline passed.
 */
export function abortCause(what: string, timeoutMs: number): KubeTimeoutError | ClientGoneError {
  return currentRequestSignal()?.aborted
    ? new ClientGoneError(what)
    : new KubeTimeoutError(what, timeoutMs);
}
