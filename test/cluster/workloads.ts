import { exitCodeAnnotation, fakeContainerLogLine } from './kwok-config';

/** Image for test containers; kwok never pulls it, a real cluster runs it. */
export const testImage = 'busybox:1.36';

/**
 * A pod spec that passes Pod Security `restricted`. On kwok's fake nodes the container
 * does not run; on a real node it prints the same line kwok's log file holds and exits
 * with `exitCode`, so the tests behave alike on both.
 *
 * @param exitCode the exit code the container ends with
 */
export function restrictedPodSpec(exitCode = 0): object {
  return {
    restartPolicy: 'Never',
    automountServiceAccountToken: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65534,
      runAsGroup: 65534,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [
      {
        name: 'main',
        image: testImage,
        command: ['sh', '-c', `echo '${fakeContainerLogLine}'; exit ${exitCode}`],
        resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '16Mi' } },
        securityContext: {
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          readOnlyRootFilesystem: true,
        },
      },
    ],
  };
}

/** Pod annotations that make kwok end the pod with `exitCode` (ignored by real nodes). */
export function exitCodeAnnotations(exitCode: number): Record<string, string> {
  return { [exitCodeAnnotation]: String(exitCode) };
}
