import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { natsTriggers } from '../api/event-triggers/triggers';
import { effectiveSchedule } from '../api/function-schedules/scheduled-functions';
import { kindFields } from '../cli/schema-declarations';
import {
  API_VERSION,
  checkDefinitions,
  type DefinitionKind,
  type FunctionDefinition,
  synthesizeDefinitions,
} from '../constructs';

/**
 * A default declared with its field in the schema is the one the platform uses: setting the
 * field to its declared default gives the same manifests (or, for a Function's schedules and
 * triggers, which the API runs, the same effective schedule and trigger) as leaving it out.
 * A construct that keeps a default of its own beside the declaration fails here.
 */

type Spec = Record<string, unknown>;

const BASE_SPECS: Readonly<Record<DefinitionKind, Spec>> = {
  StatelessApplication: { image: 'ghcr.io/acme/base:1.0.0' },
  CronJob: { image: 'ghcr.io/acme/base:1.0.0', schedule: '0 3 * * *' },
  Function: {
    runtime: 'python3.12',
    code: 'def handler(event):\n    return 1\n',
    schedules: [{ name: 'nightly', cron: '@daily' }],
    triggers: [{ nats: { subject: 'orders.created', stream: 'ORDERS', durable: 'fn' } }],
  },
};

function definition(kind: DefinitionKind, spec: Spec) {
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: { name: 'defaults-app', project: 'defaults' },
    spec,
  };
}

/** The base spec with the field at `path` (`resources.cpu`, `schedules[].timeZone`) set. */
function withValue(kind: DefinitionKind, path: string, value: unknown): Spec {
  const spec = structuredClone(BASE_SPECS[kind]);
  const names = path.split('.');
  let cursor = spec as Record<string, unknown>;
  names.forEach((segment, i) => {
    const name = segment.replace(/\[\]$/, '');
    if (i === names.length - 1) {
      cursor[name] = value;
      return;
    }
    const next = (cursor[name] ??= {}) as Record<string, unknown> | Record<string, unknown>[];
    cursor = Array.isArray(next) ? next[0] : next;
  });
  return spec;
}

function manifests(kind: DefinitionKind, spec: Spec): unknown[] {
  const [checked] = checkDefinitions([
    { document: definition(kind, spec), source: { file: 'field-defaults', document: 1 } },
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'hks-field-defaults-'));
  try {
    return synthesizeDefinitions([checked.definition], dir).flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => d.toJSON()),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the platform makes of a spec: the manifests, or what the API runs for a Function. */
function effect(kind: DefinitionKind, path: string, spec: Spec): unknown {
  const fn = definition(kind, spec) as FunctionDefinition;
  if (path.startsWith('schedules[].')) return (fn.spec.schedules ?? []).map(effectiveSchedule);
  if (path.startsWith('triggers[].')) return natsTriggers(fn);
  return manifests(kind, spec);
}

const valued = kindFields().filter(
  (f) => f.doc.default !== undefined && !f.path.startsWith('metadata.'),
);

test('the schema declares defaults as values', () => {
  expect(valued.length).toBeGreaterThan(20);
});

test.each(valued.map((f) => [f.kind, f.path, f.doc.default] as const))(
  '%s %s: the declared default %j is what leaving the field out gives',
  (kind, path, value) => {
    const without = effect(kind, path, BASE_SPECS[kind]);
    expect(effect(kind, path, withValue(kind, path, value))).toEqual(without);
  },
);

test.each([
  ['CronJob', 'startingDeadlineSeconds', 301],
  ['Function', 'scaling.maxScale', 11],
  ['Function', 'schedules[].timeZone', 'Asia/Tokyo'],
  ['Function', 'triggers[].nats.maxDeliver', 6],
] as const)(
  '%s %s: another value than the default changes what the platform does',
  (kind, path, value) => {
    expect(effect(kind, path, withValue(kind, path, value))).not.toEqual(
      effect(kind, path, BASE_SPECS[kind]),
    );
  },
);
