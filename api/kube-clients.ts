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
  const request = currentRequestSignal();
  const deadline = AbortSignal.timeout(timeoutMs);
  return request ? AbortSignal.any([deadline, request]) : deadline;
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
