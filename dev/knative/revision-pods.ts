import { randomBytes } from 'node:crypto';
import type { ActionLog } from './action-log';
import { errorMessage } from './error-message';
import type { KubeAccess } from './kube-access';
import { STAND_IN_LABEL, buildLogs, buildPod, exitCodeAnnotations } from './pod-manifest';
import { REVISION_LABEL } from './revision-manifest';
import type { KnativeRevision } from './types';

/** Where a revision's pods go. */
export interface RevisionPodsOptions {
  readonly kube: KubeAccess;
  readonly log: ActionLog;
  /** `<namespace>/<service>`, for log lines. */
  readonly service: string;
  /** Node labels of the pods (kwok's fake nodes). */
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Whether kwok serves per-pod logs from Logs objects. */
  readonly kwokLogs: boolean;
}

/**
 * The pod (and kwok Logs object) standing for one revision's local process: its log is the
 * process's output, and it ends Failed with the process's exit code.
 */
export class RevisionPods {
  private readonly names: string[] = [];
  private exitCode: number | undefined;
  private closed = false;

  constructor(private readonly options: RevisionPodsOptions) {}

  /**
   * Replaces the revision's pods left by an earlier run with a new one.
   * @param revision the stored Revision (its uid owns the pod)
   * @param logsFile the process's CRI-format log file
   */
  public async create(revision: KnativeRevision, logsFile: string): Promise<void> {
    const { kube, log, service, nodeSelector, kwokLogs } = this.options;
    const { namespace, name } = revision.metadata;
    if (this.closed) return;
    try {
      const stale = await kube.podNames(
        namespace,
        `${REVISION_LABEL}=${name},${STAND_IN_LABEL}=true`,
      );
      await Promise.all(stale.map((pod) => this.delete(namespace, pod)));
      const podName = `${name}-deployment-${randomBytes(3).toString('hex')}`;
      const pod = await kube.createPod(buildPod(revision, podName, nodeSelector, this.exitCode));
      this.names.push(podName);
      if (kwokLogs) await kube.createLogs(buildLogs(pod, logsFile));
      log('pod created', { service, revision: name, pod: podName });
      if (this.closed) await this.delete(namespace, podName);
    } catch (error) {
      log('error', { service, revision: name, message: `create pod: ${errorMessage(error)}` });
    }
  }

  /** The process exited: kwok ends the pods Failed with its exit code. */
  public async exited(namespace: string, code: number): Promise<void> {
    this.exitCode = code;
    if (this.closed) return;
    const { kube, log, service } = this.options;
    await Promise.all(
      this.names.map((pod) =>
        kube
          .annotatePod(namespace, pod, exitCodeAnnotations(code))
          .catch((error: unknown) => log('error', { service, pod, message: errorMessage(error) })),
      ),
    );
  }

  /** Deletes the pods and their Logs objects (scale to zero); a later start creates a new one. */
  public async deleteRunning(namespace: string): Promise<void> {
    const names = this.names.splice(0);
    this.exitCode = undefined;
    await Promise.all(names.map((pod) => this.delete(namespace, pod)));
  }

  /** Deletes the pods and their Logs objects; none are created afterwards. */
  public async deleteAll(namespace: string): Promise<void> {
    this.closed = true;
    await Promise.all(this.names.map((pod) => this.delete(namespace, pod)));
  }

  private async delete(namespace: string, pod: string): Promise<void> {
    const { kube, log, service, kwokLogs } = this.options;
    await Promise.all([
      kube.deletePod(namespace, pod),
      kwokLogs ? kube.deleteLogs(namespace, pod) : undefined,
    ]).catch((error: unknown) =>
      log('error', { service, pod, message: `delete pod: ${errorMessage(error)}` }),
    );
  }
}
