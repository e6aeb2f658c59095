import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { API_VERSION, checkDefinitions, synthesizeDefinitions } from '../constructs';
import { Manifest } from './support/manifests';

/**
 * Every kind's pods run with the same restricted settings (constructs/restricted-container.ts):
 * written out here as Kubernetes reads them, so a builder that drifts from the shared module
 * (or a change of the module itself) fails. The platform's API Deployment is checked in
 * platform-stack.test.ts.
 */
const RESTRICTED = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

const image = 'ghcr.io/acme/base:1.0.0';
const definitions = [
  { kind: 'StatelessApplication', spec: { image } },
  { kind: 'CronJob', spec: { image, schedule: '0 3 * * *' } },
  {
    kind: 'Function',
    spec: { runtime: 'python3.12', code: 'def handler(event):\n    return 1\n' },
  },
].map(({ kind, spec }, index) => ({
  document: {
    apiVersion: API_VERSION,
    kind,
    metadata: { name: `restricted-${kind.toLowerCase()}`, project: 'restricted' },
    spec,
  },
  source: { file: 'restricted-container', document: index },
}));

interface Container {
  readonly securityContext?: Record<string, unknown>;
  readonly resources?: unknown;
  readonly volumeMounts?: { mountPath: string }[];
}

function at(value: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>(
    (node, key) => (node as Record<string, unknown> | undefined)?.[key],
    value,
  );
}

/** The containers of each workload, by kind. */
function containersByKind(): Map<string, Container[]> {
  const dir = mkdtempSync(join(tmpdir(), 'hks-restricted-'));
  try {
    const files = synthesizeDefinitions(
      checkDefinitions(definitions).map((c) => c.definition),
      dir,
    );
    const manifests = files.flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => d.toJSON() as Manifest),
    );
    const byKind = new Map<string, Container[]>();
    for (const manifest of manifests) {
      const podPath =
        manifest.kind === 'CronJob'
          ? ['spec', 'jobTemplate', 'spec', 'template', 'spec', 'containers']
          : ['spec', 'template', 'spec', 'containers'];
      const containers = at(manifest, podPath);
      if (Array.isArray(containers)) byKind.set(manifest.kind, containers as Container[]);
    }
    return byKind;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const byKind = containersByKind();

test.each(['Deployment', 'CronJob', 'Service'])('%s containers run restricted', (kind) => {
  const containers = byKind.get(kind) ?? [];
  expect(containers.length).toBeGreaterThan(0);
  for (const container of containers) {
    expect(container.securityContext).toMatchObject(RESTRICTED);
    // The read-only root keeps a writable scratch folder.
    expect(container.volumeMounts?.map((m) => m.mountPath)).toContain('/tmp');
    expect(container.resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { memory: '128Mi' },
    });
  }
});

test('only the kinds Knative does not restrict say privileged: false', () => {
  expect(byKind.get('Deployment')?.[0].securityContext?.privileged).toBe(false);
  expect(byKind.get('CronJob')?.[0].securityContext?.privileged).toBe(false);
  // Not among the container fields Knative's webhook allows on a Service.
  expect(byKind.get('Service')?.[0].securityContext).not.toHaveProperty('privileged');
});
