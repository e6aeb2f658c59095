import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';

/** The line every fake container "prints"; the pod log API returns it. */
export const fakeContainerLogLine = 'hello from a kwok fake container';

/** Annotation that makes kwok end a pod Failed with the given exit code, e.g. `"3"`. */
export const exitCodeAnnotation = 'hks.dev/exit-code';

/**
 * Writes kwok's configuration: the pod stages from `kwok/stages.yaml` plus a ClusterLogs
 * object that maps every container's log to one file (in the CRI log format kubelet uses).
 *
 * @param configFile where to write the multi-document configuration
 */
export function writeKwokConfig(configFile: string): void {
  const dir = dirname(configFile);
  mkdirSync(dir, { recursive: true });
  const logsFile = join(dir, 'container.log');
  writeFileSync(logsFile, `2026-01-01T00:00:00.000000000Z stdout F ${fakeContainerLogLine}\n`);
  const clusterLogs = {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'ClusterLogs',
    metadata: { name: 'all-containers' },
    spec: { logs: [{ logsFile, follow: false }] },
  };
  const stages = readFileSync(join(__dirname, 'kwok', 'stages.yaml'), 'utf8');
  writeFileSync(configFile, `${stages.trimEnd()}\n---\n${stringify(clusterLogs)}`);
}
