import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import {
  API_VERSION,
  checkDefinitions,
  DEFAULT_RUNTIME_IMAGES,
  DEFINITION_SCHEMAS,
  DefinitionError,
  DefinitionKind,
  SCHEDULES_ANNOTATION,
  synthesizeDefinitions,
} from '../constructs';
import { Manifest } from './support/manifests';
import { PLATFORM_ONLY_FIELDS } from './support/platform-only-fields';
import {
  FieldLeaf,
  listSchemaFields,
  pathOf,
  SchemaField,
  unwrapSchema,
} from './support/schema-fields';
import { FIELD_DOCS, type FieldDoc } from '../constructs/schema-field';

/**
 * Every field of every kind, set on its own to a valid non-default value, must change the
 * synthesized manifests and show there (its marker, or its documented transformation), and
 * where its mapping is known, at its place. Fields the platform only reads itself are listed
 * in PLATFORM_ONLY_FIELDS. A field added to a schema and forgotten by its construct fails here.
 */

const PROJECT = 'nofield';
const NAME = 'nofield-app';
const PYTHON_CODE = 'def handler(event, context):\n    return 1\n';

type Spec = Record<string, unknown>;

/** Minimal valid specs; `default` unless a field's sample names another (mutually exclusive fields). */
const BASE_SPECS: { readonly [K in DefinitionKind]: Readonly<Record<string, Spec>> } = {
  StatelessApplication: { default: { image: 'ghcr.io/acme/base:1.0.0' } },
  CronJob: { default: { image: 'ghcr.io/acme/base:1.0.0', schedule: '0 3 * * *' } },
  Function: {
    default: { runtime: 'python3.12', code: PYTHON_CODE },
    files: { runtime: 'python3.12', files: { 'main.py': PYTHON_CODE } },
    image: { runtime: 'image', image: 'ghcr.io/acme/base-fn:1.0.0' },
  },
};

/** How a field is set where generated markers do not fit its rules. */
interface FieldSample {
  /** Values to try in order. @default - markers, distinctive numbers or every enum member */
  readonly values?: readonly unknown[];
  /** What the manifests carry for a value. @default - the value itself */
  readonly shows?: (value: unknown) => unknown;
  /** Set next to the field in its object, when the field is not valid alone. @default - none */
  readonly siblings?: Readonly<Record<string, unknown>>;
  /** The base spec to start from. @default "default" */
  readonly variant?: string;
}

/** Keyed `<path>` for every kind or `<Kind> <path>` for one. */
const FIELD_SAMPLES: Readonly<Record<string, FieldSample>> = {
  'spec.schedule': { values: ['17 4 * * 2'] },
  'spec.timeZone': { values: ['Asia/Tokyo'] },
  'spec.resources.cpu': { values: ['250m'] },
  'spec.resources.memory': { values: ['192Mi'] },
  'spec.resources.cpuLimit': { values: ['1500m'] },
  'spec.resources.memoryLimit': { values: ['640Mi'] },
  'spec.envFrom[].prefix': { siblings: { configMap: 'seed-config' } },
  // python3.12 is the default variant's runtime, image has a variant of its own (spec.image).
  'Function spec.runtime': {
    values: ['nodejs20'],
    shows: (runtime) => DEFAULT_RUNTIME_IMAGES[runtime as 'nodejs20'],
  },
  'Function spec.image': { variant: 'image' },
  'Function spec.files.<key>': { variant: 'files' },
  // A schedule needs its name and cron; each field its own schedule (names apart) when set together.
  'Function spec.schedules[].name': { siblings: { cron: '17 4 * * 2' } },
  'Function spec.schedules[].cron': { values: ['17 4 * * 2'], siblings: { name: 's-cron' } },
  'Function spec.schedules[].timeZone': {
    values: ['Asia/Tokyo'],
    siblings: { name: 's-zone', cron: '@daily' },
  },
  'Function spec.schedules[].input': {
    values: [{ db_config: 'input-marker-x' }],
    shows: () => '"db_config":"input-marker-x"',
    siblings: { name: 's-input', cron: '@daily' },
  },
  'Function spec.schedules[].concurrencyPolicy': {
    values: ['Allow', 'Forbid'],
    shows: (policy) => `"concurrencyPolicy":"${String(policy)}"`,
    siblings: { name: 's-policy', cron: '@daily' },
  },
  'Function spec.schedules[].suspend': {
    shows: (suspend) => `"suspend":${String(suspend)}`,
    siblings: { name: 's-suspend', cron: '@daily' },
  },
  'Function spec.schedules[].startingDeadlineSeconds': {
    shows: (seconds) => `"startingDeadlineSeconds":${String(seconds)}`,
    siblings: { name: 's-deadline', cron: '@daily' },
  },
};

/** Objects a container created on the way to a field starts with (its required fields). */
const CONTAINER_SEEDS: Readonly<Record<string, Spec>> = {
  'spec.secretEnv.<key>': { secret: 'seed-secret', key: 'seed-key' },
};

/** The values one trial set: the field's value and the record keys on its path. */
interface Trial {
  readonly value: unknown;
  readonly keys: readonly string[];
  readonly document: Spec;
}

/** A known mapping: where in which object a field's value lands. */
interface Placement {
  readonly object: (m: Manifest) => boolean;
  readonly find: (m: Manifest) => unknown;
  readonly expected: unknown;
}

const isKind = (kind: string, apiGroup?: string) => (m: Manifest) =>
  m.kind === kind && (apiGroup === undefined || m.apiVersion.startsWith(apiGroup));
const DEPLOYMENT = isKind('Deployment');
const CRONJOB = isKind('CronJob');
const KNATIVE_SERVICE = isKind('Service', 'serving.knative.dev/');
const SERVICE = isKind('Service', 'v1');
const CONFIG_MAP = isKind('ConfigMap');

type Json = Record<string, unknown> & Record<number, unknown>;
const dig = (value: unknown, ...keys: (string | number)[]): unknown =>
  keys.reduce<unknown>((v, key) => (v as Json | undefined)?.[key], value);
const podOf = (m: Manifest) =>
  m.kind === 'CronJob'
    ? dig(m, 'spec', 'jobTemplate', 'spec', 'template', 'spec')
    : dig(m, 'spec', 'template', 'spec');
const containerOf = (m: Manifest) => dig(podOf(m), 'containers', 0);
/** Found among a list (env, ports) or equal. */
const listed = (list: unknown, item: unknown) =>
  Array.isArray(list) && list.some((entry) => isDeepStrictEqual(entry, item)) ? item : list;

/** The container fields every workload maps the same way, on the object `workload` selects. */
function containerPlacements(
  workload: (m: Manifest) => boolean,
): Record<string, (t: Trial) => Placement[]> {
  const inContainer = (find: (c: unknown) => unknown, expected: unknown): Placement[] => [
    { object: workload, find: (m) => find(containerOf(m)), expected },
  ];
  const secretEnv = (t: Trial, secret: unknown, key: unknown) => {
    const variable = { name: t.keys[0], valueFrom: { secretKeyRef: { name: secret, key } } };
    return inContainer((c) => listed(dig(c, 'env'), variable), variable);
  };
  return {
    'spec.image': (t) => inContainer((c) => dig(c, 'image'), t.value),
    'spec.env.<key>': (t) =>
      inContainer((c) => listed(dig(c, 'env'), { name: t.keys[0], value: String(t.value) }), {
        name: t.keys[0],
        value: String(t.value),
      }),
    'spec.secretEnv.<key>.secret': (t) => secretEnv(t, t.value, 'seed-key'),
    'spec.secretEnv.<key>.key': (t) => secretEnv(t, 'seed-secret', t.value),
    'spec.resources.cpu': (t) =>
      inContainer((c) => dig(c, 'resources', 'requests', 'cpu'), t.value),
    'spec.resources.memory': (t) =>
      inContainer((c) => dig(c, 'resources', 'requests', 'memory'), t.value),
    'spec.resources.cpuLimit': (t) =>
      inContainer((c) => dig(c, 'resources', 'limits', 'cpu'), t.value),
    'spec.resources.memoryLimit': (t) =>
      inContainer((c) => dig(c, 'resources', 'limits', 'memory'), t.value),
  };
}

/** Placements of the fields every workload that runs a pod of its own maps alike. */
function podWorkloadPlacements(
  workload: (m: Manifest) => boolean,
): Record<string, (t: Trial) => Placement[]> {
  const inContainer = (find: (c: unknown) => unknown, expected: unknown): Placement[] => [
    { object: workload, find: (m) => find(containerOf(m)), expected },
  ];
  return {
    ...containerPlacements(workload),
    'spec.command[]': (t) => inContainer((c) => dig(c, 'command'), [t.value]),
    'spec.args[]': (t) => inContainer((c) => dig(c, 'args'), [t.value]),
    'spec.envFrom[].configMap': (t) =>
      inContainer((c) => dig(c, 'envFrom', 0, 'configMapRef', 'name'), t.value),
    'spec.envFrom[].secret': (t) =>
      inContainer((c) => dig(c, 'envFrom', 0, 'secretRef', 'name'), t.value),
    'spec.envFrom[].prefix': (t) => inContainer((c) => dig(c, 'envFrom', 0, 'prefix'), t.value),
    'spec.serviceAccount': (t) => [
      { object: workload, find: (m) => dig(podOf(m), 'serviceAccountName'), expected: t.value },
    ],
  };
}

function metadataPlacements(
  object: (m: Manifest) => boolean,
): Record<string, (t: Trial) => Placement[]> {
  return {
    'metadata.name': (t) => [{ object, find: (m) => m.metadata.name, expected: t.value }],
    'metadata.project': (t) => [{ object, find: (m) => m.metadata.namespace, expected: t.value }],
    'metadata.labels.<key>': (t) => [
      { object, find: (m) => m.metadata.labels?.[t.keys[0]], expected: t.value },
    ],
  };
}

const cronJobSpec =
  (...keys: string[]) =>
  (t: Trial): Placement[] => [
    { object: CRONJOB, find: (m) => dig(m, 'spec', ...keys), expected: t.value },
  ];
const knativeTemplate =
  (...keys: string[]) =>
  (t: Trial, expected: unknown = t.value): Placement[] => [
    { object: KNATIVE_SERVICE, find: (m) => dig(m, 'spec', 'template', ...keys), expected },
  ];
const knativeEnv = (name: string) => (t: Trial) => {
  const variable = { name, value: String(t.value) };
  return [
    {
      object: KNATIVE_SERVICE,
      find: (m: Manifest) => listed(dig(containerOf(m), 'env'), variable),
      expected: variable,
    },
  ];
};

/** Known mappings, by kind and field path. */
const PLACEMENTS: { readonly [K in DefinitionKind]: Record<string, (t: Trial) => Placement[]> } = {
  StatelessApplication: {
    ...metadataPlacements(DEPLOYMENT),
    ...podWorkloadPlacements(DEPLOYMENT),
    'spec.port': (t) => [
      { object: SERVICE, find: (m) => dig(m, 'spec', 'ports', 0, 'port'), expected: t.value },
      {
        object: DEPLOYMENT,
        find: (m) => dig(containerOf(m), 'ports', 0, 'containerPort'),
        expected: t.value,
      },
    ],
    'spec.replicas': (t) => [
      { object: DEPLOYMENT, find: (m) => dig(m, 'spec', 'replicas'), expected: t.value },
    ],
  },
  CronJob: {
    ...metadataPlacements(CRONJOB),
    ...podWorkloadPlacements(CRONJOB),
    'spec.schedule': cronJobSpec('schedule'),
    'spec.timeZone': cronJobSpec('timeZone'),
    'spec.concurrencyPolicy': cronJobSpec('concurrencyPolicy'),
    'spec.suspend': cronJobSpec('suspend'),
    'spec.startingDeadlineSeconds': cronJobSpec('startingDeadlineSeconds'),
    'spec.activeDeadlineSeconds': cronJobSpec('jobTemplate', 'spec', 'activeDeadlineSeconds'),
    'spec.backoffLimit': cronJobSpec('jobTemplate', 'spec', 'backoffLimit'),
    'spec.restartPolicy': (t) => [
      { object: CRONJOB, find: (m) => dig(podOf(m), 'restartPolicy'), expected: t.value },
    ],
    'spec.ttlSecondsAfterFinished': cronJobSpec('jobTemplate', 'spec', 'ttlSecondsAfterFinished'),
    'spec.successfulJobsHistoryLimit': cronJobSpec('successfulJobsHistoryLimit'),
    'spec.failedJobsHistoryLimit': cronJobSpec('failedJobsHistoryLimit'),
  },
  Function: {
    ...metadataPlacements(KNATIVE_SERVICE),
    ...containerPlacements(KNATIVE_SERVICE),
    'spec.runtime': (t) => [
      {
        object: KNATIVE_SERVICE,
        find: (m) => dig(containerOf(m), 'image'),
        expected: DEFAULT_RUNTIME_IMAGES[t.value as 'nodejs20'],
      },
    ],
    'spec.handler': knativeEnv('HKS_HANDLER'),
    'spec.code': (t) => [
      { object: CONFIG_MAP, find: (m) => dig(m, 'data', 'src.main.py'), expected: t.value },
    ],
    'spec.files.<key>': (t) => [
      {
        object: CONFIG_MAP,
        find: (m) => dig(m, 'data', `src.${t.keys[0].split('/').join('__')}`),
        expected: t.value,
      },
    ],
    'spec.timeoutSeconds': (t) => [
      ...knativeTemplate('spec', 'timeoutSeconds')(t),
      ...knativeEnv('HKS_TIMEOUT_SECONDS')(t),
    ],
    'spec.scaling.minScale': (t) =>
      knativeTemplate(
        'metadata',
        'annotations',
        'autoscaling.knative.dev/min-scale',
      )(t, String(t.value)),
    'spec.scaling.maxScale': (t) =>
      knativeTemplate(
        'metadata',
        'annotations',
        'autoscaling.knative.dev/max-scale',
      )(t, String(t.value)),
    'spec.scaling.target': (t) =>
      knativeTemplate(
        'metadata',
        'annotations',
        'autoscaling.knative.dev/target',
      )(t, String(t.value)),
    'spec.scaling.containerConcurrency': knativeTemplate('spec', 'containerConcurrency'),
    ...Object.fromEntries(
      [
        'name',
        'cron',
        'timeZone',
        'input',
        'concurrencyPolicy',
        'suspend',
        'startingDeadlineSeconds',
      ].map((key) => [`spec.schedules[].${key}`, scheduleAnnotation(key)]),
    ),
    'spec.visibility': (t) => [
      {
        object: KNATIVE_SERVICE,
        find: (m) => m.metadata.labels?.['networking.knative.dev/visibility'],
        expected: t.value,
      },
    ],
  },
};

/** A schedule's field in the Knative Service's schedules annotation (JSON), in the schedule that sets it. */
function scheduleAnnotation(key: string): (t: Trial) => Placement[] {
  return (t) => [
    {
      object: KNATIVE_SERVICE,
      find: (m) => {
        const annotations = dig(m, 'metadata', 'annotations') as Record<string, string> | undefined;
        const schedules = JSON.parse(annotations?.[SCHEDULES_ANNOTATION] ?? '[]') as Record<
          string,
          unknown
        >[];
        return schedules.find((s) => isDeepStrictEqual(s[key], t.value))?.[key];
      },
      expected: t.value,
    },
  ];
}

const KINDS = Object.keys(DEFINITION_SCHEMAS) as DefinitionKind[];

let markers = 0;
/** A string found nowhere else: `marker1x` is no part of `marker12x`. */
const marker = () => `marker${++markers}x`;

/** Values to try for a leaf, in order: the first one the whole definition accepts is used. */
function candidates(leaf: FieldLeaf): unknown[] {
  switch (leaf.type) {
    case 'string': {
      const m = marker();
      // plain, a handler (module.function), an upper-case name, a file path
      return [m, `${m}.handler`, m.toUpperCase(), `${m}.py`];
    }
    case 'number':
      return [7, 37, 1234].filter(
        (n) => n >= (leaf.min ?? -Infinity) && n <= (leaf.max ?? Infinity),
      );
    case 'boolean':
      return [true, false];
    case 'enum':
    case 'literal':
      return [...leaf.values];
    case 'union':
      return leaf.options.flatMap(candidates);
    case 'unknown':
      return [];
  }
}

/** Enums and booleans: every member is tried; the default one changes nothing. */
const triesEveryMember = (leaf: FieldLeaf) => leaf.type === 'enum' || leaf.type === 'boolean';

function sampleOf(kind: DefinitionKind, path: string): FieldSample {
  return FIELD_SAMPLES[`${kind} ${path}`] ?? FIELD_SAMPLES[path] ?? {};
}

function baseDocument(kind: DefinitionKind, variant = 'default'): Spec {
  const spec = BASE_SPECS[kind][variant];
  if (!spec) throw new Error(`${kind}: no base spec ${JSON.stringify(variant)} in BASE_SPECS`);
  return structuredClone({
    apiVersion: API_VERSION,
    kind,
    metadata: { name: NAME, project: PROJECT },
    spec,
  });
}

/** The base document with one field set: containers on the way are created (with seeds). */
function withField(
  base: Spec,
  field: SchemaField,
  value: unknown,
  keys: readonly string[],
  siblings: Readonly<Record<string, unknown>> = {},
): Spec {
  const document = structuredClone(base);
  let cursor: Json = document as Json;
  let keyIndex = 0;
  field.segments.forEach((segment, i) => {
    const last = i === field.segments.length - 1;
    const next = field.segments[i + 1];
    const fresh = () =>
      next?.kind === 'item'
        ? []
        : {
            ...structuredClone(CONTAINER_SEEDS[pathOf(field.segments.slice(0, i + 1))] ?? {}),
            ...(i === field.segments.length - 2 ? siblings : {}),
          };
    if (segment.kind === 'item') {
      const list = cursor as unknown as unknown[];
      list.push(last ? value : fresh());
      cursor = list[list.length - 1] as Json;
      return;
    }
    const name = segment.kind === 'property' ? segment.name : keys[keyIndex++];
    if (last) cursor[name] = value;
    else cursor = (cursor[name] ??= fresh()) as Json;
  });
  return document;
}

/** Synthesizes documents the way `npm run synth` and the API do; returns the problems instead when invalid. */
function synthesize(documents: readonly Spec[]): Manifest[] | string {
  let checked;
  try {
    checked = checkDefinitions(
      documents.map((document, index) => ({
        document,
        source: { file: 'no-field-dropped', document: index },
      })),
    );
  } catch (error) {
    if (error instanceof DefinitionError) return error.message;
    throw error;
  }
  const dir = mkdtempSync(join(tmpdir(), 'hks-no-field-'));
  try {
    return synthesizeDefinitions(
      checked.map((c) => c.definition),
      dir,
    ).flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => d.toJSON() as Manifest),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every leaf of the objects as `Kind/name path = value`; keys are part of the path. */
interface ManifestLeaf {
  readonly path: string;
  readonly value: unknown;
}
function leavesOf(manifests: readonly Manifest[]): ManifestLeaf[] {
  const out: ManifestLeaf[] = [];
  const visit = (value: unknown, path: string) => {
    if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) visit(child, `${path}.${key}`);
    } else {
      out.push({ path, value });
    }
  };
  for (const m of manifests) visit(m, `${m.kind}/${m.metadata.name}`);
  return out;
}
const leafKey = (leaf: ManifestLeaf) => `${leaf.path}=${JSON.stringify(leaf.value)}`;

function shows(changed: readonly ManifestLeaf[], wanted: unknown): boolean {
  return changed.some(({ path, value }) =>
    typeof wanted === 'string'
      ? path.includes(wanted) || (typeof value === 'string' && value.includes(wanted))
      : String(value) === String(wanted),
  );
}

/** The trials of a field: one value (or each member) with record keys the definition accepts. */
function trialsOf(kind: DefinitionKind, field: SchemaField, base: Spec): Trial[] | string {
  const sample = sampleOf(kind, field.path);
  const values = sample.values ?? candidates(field.leaf);
  const keyChoices = field.segments
    .filter((s) => s.kind === 'entry')
    .map(
      (s) => candidates({ type: 'string' }).filter((k) => s.key.safeParse(k).success) as string[],
    );
  const keyCombinations = keyChoices.reduce<string[][]>(
    (combos, choices) => combos.flatMap((c) => choices.map((k) => [...c, k])),
    [[]],
  );
  let lastProblem = 'no candidate values';
  const firstValid = (value: unknown): Trial | undefined => {
    for (const keys of keyCombinations) {
      const document = withField(base, field, value, keys, sample.siblings);
      const result = synthesize([document]);
      if (typeof result !== 'string') return { value, keys, document };
      lastProblem = result;
    }
    return undefined;
  };
  const trials: Trial[] = [];
  for (const value of values) {
    const trial = firstValid(value);
    if (trial) trials.push(trial);
    if (trial && !triesEveryMember(field.leaf)) break;
  }
  if (trials.length > 0) return trials;
  return `${kind} ${field.path}: none of ${JSON.stringify(values)} is valid (${lastProblem}); give the field a value in FIELD_SAMPLES`;
}

/** The values a field shows (or the problems); shown: its trials that change the manifests. */
interface FieldCheck {
  readonly problems: string[];
  readonly shown: Trial[];
}

/** What the manifests must carry for a trial: its value (or transformation) and its keys. */
function wantedOf(kind: DefinitionKind, field: SchemaField, trial: Trial): unknown[] {
  const sample = sampleOf(kind, field.path);
  return [sample.shows ? sample.shows(trial.value) : trial.value, ...trial.keys];
}

function placementProblems(
  kind: DefinitionKind,
  field: SchemaField,
  trial: Trial,
  manifests: readonly Manifest[],
): string[] {
  return (PLACEMENTS[kind][field.path]?.(trial) ?? []).flatMap((placement) => {
    const found = manifests.filter(placement.object).map(placement.find);
    if (found.some((f) => isDeepStrictEqual(f, placement.expected))) return [];
    return [
      `${kind} ${field.path}: given ${JSON.stringify(trial.value)}, expected ${JSON.stringify(placement.expected)} at its place, found ${JSON.stringify(found)}`,
    ];
  });
}

/** The declaration of a field (its outer schema, as the property holds it). */
function declarationOf(kind: DefinitionKind, field: SchemaField): FieldDoc | undefined {
  let schema: z.ZodType = DEFINITION_SCHEMAS[kind];
  let declaration: FieldDoc | undefined;
  for (const segment of field.segments) {
    const def = unwrapSchema(schema).schema._zod.def as unknown as Record<string, unknown>;
    if (segment.kind === 'property')
      schema = (def.shape as Record<string, z.ZodType>)[segment.name];
    else schema = (segment.kind === 'entry' ? def.valueType : def.element) as z.ZodType;
    declaration = segment.kind === 'property' ? FIELD_DOCS.get(schema) : undefined;
  }
  return declaration;
}

/** Whether a value is the field's declared default (or the field declares none as a value). */
function isDefaultOf(kind: DefinitionKind, field: SchemaField, value: unknown): boolean {
  const declared = declarationOf(kind, field)?.default;
  return declared === undefined || isDeepStrictEqual(declared, value);
}

/** Sets the field alone on its base and checks what the manifests carry. */
function checkField(kind: DefinitionKind, field: SchemaField): FieldCheck {
  const sample = sampleOf(kind, field.path);
  const base = baseDocument(kind, sample.variant);
  const baseline = new Set(leavesOf(synthesize([base]) as Manifest[]).map(leafKey));
  const trials = trialsOf(kind, field, base);
  if (typeof trials === 'string') return { problems: [trials], shown: [] };
  const problems: string[] = [];
  const shown: Trial[] = [];
  let changedAny = false;
  for (const trial of trials) {
    const manifests = synthesize([trial.document]) as Manifest[];
    const changed = leavesOf(manifests).filter((leaf) => !baseline.has(leafKey(leaf)));
    // An enum member or boolean that changes nothing must be the default the schema declares.
    if (changed.length === 0 && trials.length > 1 && isDefaultOf(kind, field, trial.value))
      continue;
    changedAny ||= changed.length > 0;
    const missing = wantedOf(kind, field, trial).filter((w) => !shows(changed, w));
    if (missing.length > 0) {
      const given = `${JSON.stringify(trial.value)}${trial.keys.length ? ` (key ${trial.keys.join(', ')})` : ''}`;
      problems.push(
        `${kind} ${field.path}: given ${given}, ${missing.map((m) => JSON.stringify(m)).join(' and ')} found nowhere in the synthesized manifests${changed.length === 0 ? ' (they are the same as without the field)' : ''}: add it to the construct's mapping or to PLATFORM_ONLY_FIELDS with a reason`,
      );
      continue;
    }
    const misplaced = placementProblems(kind, field, trial, manifests);
    problems.push(...misplaced);
    if (misplaced.length === 0) shown.push(trial);
  }
  if (!changedAny && problems.length === 0) {
    problems.push(
      `${kind} ${field.path}: none of ${JSON.stringify(trials.map((t) => t.value))} changes the synthesized manifests: add it to the construct's mapping or to PLATFORM_ONLY_FIELDS with a reason`,
    );
  }
  return { problems, shown };
}

const fieldsOf = (kind: DefinitionKind) => listSchemaFields(DEFINITION_SCHEMAS[kind]);
const isPlatformOnly = (kind: DefinitionKind, path: string) =>
  `${kind} ${path}` in PLATFORM_ONLY_FIELDS;

describe.each(KINDS)('%s: no field dropped silently', (kind) => {
  const mapped = fieldsOf(kind).filter((f) => !isPlatformOnly(kind, f.path));
  const checks = new Map<string, FieldCheck>();
  const checkOnce = (field: SchemaField) => {
    const check = checks.get(field.path) ?? checkField(kind, field);
    checks.set(field.path, check);
    return check;
  };

  test.each(mapped.map((f) => [f.path, f] as const))(
    '%s shows in the manifests',
    (_path, field) => {
      expect(checkOnce(field).problems).toEqual([]);
    },
  );

  test('the fields of the default spec set all at once show together', () => {
    // The last trial that shows: for an enum, a member that is not the default.
    const chosen = mapped
      .filter((field) => sampleOf(kind, field.path).variant === undefined)
      .map((field) => ({ field, trial: checkOnce(field).shown.at(-1) }))
      .filter((c): c is { field: SchemaField; trial: Trial } => c.trial !== undefined);
    const document = chosen.reduce(
      (doc, { field, trial }) =>
        withField(doc, field, trial.value, trial.keys, sampleOf(kind, field.path).siblings),
      baseDocument(kind),
    );
    const manifests = synthesize([document]);
    if (typeof manifests === 'string')
      throw new Error(`${kind}: the fields set together are invalid: ${manifests}`);
    const all = leavesOf(manifests);
    const problems = chosen.flatMap(({ field, trial }) => [
      ...wantedOf(kind, field, trial)
        .filter((wanted) => typeof wanted === 'string' && !shows(all, wanted))
        .map(
          (wanted) =>
            `${kind} ${field.path}: ${JSON.stringify(wanted)} found nowhere when set with the other fields`,
        ),
      // Strings are found by their markers; numbers and booleans need their place.
      ...(typeof trial.value === 'string' ? [] : placementProblems(kind, field, trial, manifests)),
    ]);
    expect(problems).toEqual([]);
    expect(chosen.length).toBeGreaterThan(mapped.length / 2);
  });

  test('every known mapping names a field of the schema', () => {
    const paths = new Set(fieldsOf(kind).map((f) => f.path));
    expect(Object.keys(PLACEMENTS[kind]).filter((path) => !paths.has(path))).toEqual([]);
  });
});

/** Template fields a CronJob does not copy (docs/definitions.md), with why. */
const NOT_COPIED_FROM_TEMPLATE: Readonly<Record<string, string>> = {
  'spec.command[]': 'a job runs its own command',
  'spec.args[]': 'a job runs its own arguments',
  'spec.port': 'a job serves nothing',
  'spec.replicas': 'a job runs one pod per run',
};

describe('CronJob spec.template', () => {
  const templateFields = fieldsOf('StatelessApplication').filter(
    (f) => f.path.startsWith('spec.') && !(f.path in NOT_COPIED_FROM_TEMPLATE),
  );
  const job = (): Spec => ({
    apiVersion: API_VERSION,
    kind: 'CronJob',
    metadata: { name: 'nofield-job', project: PROJECT },
    spec: { template: NAME, schedule: '0 3 * * *' },
  });
  const cronJobLeaves = (manifests: Manifest[] | string) => {
    if (typeof manifests === 'string') throw new Error(manifests);
    return leavesOf(manifests.filter(CRONJOB));
  };

  test.each(templateFields.map((f) => [f.path, f] as const))(
    "the template's %s shows in the CronJob",
    (path, field) => {
      const base = baseDocument('StatelessApplication');
      const baseline = new Set(cronJobLeaves(synthesize([base, job()])).map(leafKey));
      const trials = trialsOf('StatelessApplication', field, base);
      if (typeof trials === 'string') throw new Error(trials);
      const [trial] = trials;
      const changed = cronJobLeaves(synthesize([trial.document, job()])).filter(
        (leaf) => !baseline.has(leafKey(leaf)),
      );
      const missing = wantedOf('StatelessApplication', field, trial).filter(
        (wanted) => !shows(changed, wanted),
      );
      expect(
        missing.map(
          (m) =>
            `CronJob spec.template: the template's ${path} ${JSON.stringify(m)} found nowhere in the CronJob: copy it in mergeContainer or add it to NOT_COPIED_FROM_TEMPLATE with a reason`,
        ),
      ).toEqual([]);
    },
  );
});

test('every field sample names a field of the schemas', () => {
  const fields = KINDS.flatMap((kind) => fieldsOf(kind).map((f) => [kind, f.path] as const));
  const names = (key: string) =>
    fields.some(([kind, path]) => key === path || key === `${kind} ${path}`);
  expect(Object.keys(FIELD_SAMPLES).filter((key) => !names(key))).toEqual([]);
});

describe('PLATFORM_ONLY_FIELDS', () => {
  const entries = Object.entries(PLATFORM_ONLY_FIELDS);

  test('names fields of the schemas, each with a reason', () => {
    const known = new Set(KINDS.flatMap((kind) => fieldsOf(kind).map((f) => `${kind} ${f.path}`)));
    expect(entries.filter(([field]) => !known.has(field)).map(([field]) => field)).toEqual([]);
    expect(entries.filter(([, reason]) => reason.trim().length < 10)).toEqual([]);
  });

  test('are listed in docs/definitions.md', () => {
    const readme = readFileSync(join(__dirname, '..', 'docs', 'definitions.md'), 'utf8');
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const missing = entries
      .map(([field]) => field.split(' '))
      .filter(
        ([kind, path]) =>
          !new RegExp(`^\\| *${kind} *\\| *\`${escape(path)}\` *\\|`, 'm').test(readme),
      );
    expect(missing).toEqual([]);
  });
});
