import { Chart, Testing } from 'cdk8s';
import { ProjectChart } from '../../constructs';

/** A Kubernetes object as synthesized. */
export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
};

/** A fresh ProjectChart in a test app. */
export function projectChart(project = 'shop', namespace?: string): ProjectChart {
  return new ProjectChart(Testing.app(), project, { project, namespace });
}

/** Synthesizes a chart into its objects. */
export function synth(chart: Chart): Manifest[] {
  return Testing.synth(chart) as Manifest[];
}

/** The single object of a kind and name. */
export function find(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && m.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
  return found[0];
}

/** Reads a nested field by dotted path (numbers index arrays). */
export function at(value: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value);
}

/** The pod spec inside a Deployment, Job or CronJob. */
export function podSpecOf(manifest: Manifest): Record<string, unknown> {
  const path =
    manifest.kind === 'CronJob' ? 'spec.jobTemplate.spec.template.spec' : 'spec.template.spec';
  return at(manifest, path) as Record<string, unknown>;
}

/**
 * The fields Pod Security `restricted` checks, as a list of violations (empty = compliant).
 * The integration tests confirm the same against a real API server's admission.
 */
export function restrictedViolations(podSpec: Record<string, unknown>): string[] {
  const violations: string[] = [];
  const podContext = (podSpec.securityContext ?? {}) as Record<string, unknown>;
  if (podSpec.hostNetwork || podSpec.hostPID || podSpec.hostIPC) violations.push('host namespaces');
  for (const c of podSpec.containers as Record<string, unknown>[]) {
    const ctx = (c.securityContext ?? {}) as Record<string, unknown>;
    if (ctx.allowPrivilegeEscalation !== false)
      violations.push(`${c.name}: allowPrivilegeEscalation`);
    if (ctx.privileged) violations.push(`${c.name}: privileged`);
    const drop = (at(ctx, 'capabilities.drop') ?? []) as string[];
    if (!drop.includes('ALL')) violations.push(`${c.name}: capabilities.drop ALL`);
    if (((at(ctx, 'capabilities.add') ?? []) as string[]).some((cap) => cap !== 'NET_BIND_SERVICE'))
      violations.push(`${c.name}: capabilities.add`);
    if (ctx.runAsNonRoot !== true && podContext.runAsNonRoot !== true)
      violations.push(`${c.name}: runAsNonRoot`);
    if (ctx.runAsUser === 0 || podContext.runAsUser === 0)
      violations.push(`${c.name}: runAsUser 0`);
    const seccomp = (at(ctx, 'seccompProfile.type') ?? at(podContext, 'seccompProfile.type')) as
      string | undefined;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      violations.push(`${c.name}: seccompProfile`);
  }
  for (const v of (podSpec.volumes ?? []) as Record<string, unknown>[]) {
    if (v.hostPath) violations.push(`volume ${v.name}: hostPath`);
  }
  return violations;
}
