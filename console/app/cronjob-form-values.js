// The CronJob form's values and the definition they stand for, both ways. What the form does
// not edit (secretEnv, envFrom, resources, labels...) is kept from the definition it started
// from, so saving a form never drops it. Pure: Node runs it too
// (test/console-cronjob-form.test.ts).

/** The `apiVersion` of definitions (constructs/definition-schema.ts API_VERSION). */
export const API_VERSION = 'hks.hexabase.io/v1';

/** The job settings the form edits as whole numbers, with the default the platform applies. */
export const NUMBER_SETTINGS = [
  { key: 'startingDeadlineSeconds', label: 'Starting deadline (seconds)', default: '300' },
  { key: 'activeDeadlineSeconds', label: 'Run time limit (seconds)', default: 'none' },
  { key: 'backoffLimit', label: 'Retries (backoff limit)', default: '6' },
  {
    key: 'ttlSecondsAfterFinished',
    label: 'Delete finished Jobs after (seconds)',
    default: 'kept until the history limits',
  },
  { key: 'successfulJobsHistoryLimit', label: 'Succeeded Jobs kept', default: '3' },
  { key: 'failedJobsHistoryLimit', label: 'Failed Jobs kept', default: '3' },
];

/** The spec fields the form owns: set from the values, removed when left empty. */
const FORM_FIELDS = [
  'template',
  'image',
  'command',
  'args',
  'env',
  'schedule',
  'timeZone',
  'concurrencyPolicy',
  'suspend',
  'restartPolicy',
  ...NUMBER_SETTINGS.map((s) => s.key),
];

/**
 * The values of a new CronJob's form.
 * @param {{templates: string[], timeZone: string}} defaults the project's StatelessApplications
 *   and the zone to start with
 */
export function newFormValues({ templates, timeZone }) {
  return {
    name: '',
    source: templates.length ? 'template' : 'image',
    template: templates[0] ?? '',
    image: '',
    command: '',
    args: '',
    env: [],
    schedule: '0 9 * * 1-5',
    timeZone,
    concurrencyPolicy: '',
    restartPolicy: '',
    suspend: false,
    ...Object.fromEntries(NUMBER_SETTINGS.map((s) => [s.key, ''])),
  };
}

/** The form's values of a stored CronJob definition. */
export function formValuesOf(definition) {
  const spec = definition.spec;
  return {
    name: definition.metadata.name,
    source: spec.template === undefined ? 'image' : 'template',
    template: spec.template ?? '',
    image: spec.image ?? '',
    command: listText(spec.command),
    args: listText(spec.args),
    env: Object.entries(spec.env ?? {}).map(([name, value]) => ({ name, value: String(value) })),
    schedule: spec.schedule,
    timeZone: spec.timeZone ?? '',
    concurrencyPolicy: spec.concurrencyPolicy ?? '',
    restartPolicy: spec.restartPolicy ?? '',
    suspend: spec.suspend ?? false,
    ...Object.fromEntries(
      NUMBER_SETTINGS.map((s) => [s.key, spec[s.key] === undefined ? '' : String(spec[s.key])]),
    ),
  };
}

/**
 * The definition the values stand for, on top of `base` (the stored one when editing).
 * Values are passed as typed, not judged: the API says what is wrong with them.
 * @param {ReturnType<typeof newFormValues>} values
 * @param {string} project
 * @param {object} [base] the stored definition
 */
export function definitionOf(values, project, base) {
  const spec = Object.fromEntries(
    Object.entries(base?.spec ?? {}).filter(([key]) => !FORM_FIELDS.includes(key)),
  );
  const set = (key, value) => {
    if (value !== undefined && value !== '') spec[key] = value;
  };
  if (values.source === 'template') set('template', values.template);
  else set('image', values.image.trim());
  set('command', listOf(values.command));
  set('args', listOf(values.args));
  const env = values.env.filter((e) => e.name !== '' || e.value !== '');
  if (env.length) spec.env = Object.fromEntries(env.map((e) => [e.name, e.value]));
  set('schedule', values.schedule.trim());
  set('timeZone', values.timeZone.trim());
  set('concurrencyPolicy', values.concurrencyPolicy);
  set('restartPolicy', values.restartPolicy);
  if (values.suspend || base?.spec?.suspend !== undefined) spec.suspend = values.suspend;
  for (const { key } of NUMBER_SETTINGS) set(key, numberOf(values[key]));
  return {
    apiVersion: API_VERSION,
    kind: 'CronJob',
    metadata: { ...base?.metadata, name: values.name.trim(), project },
    spec,
  };
}

/** A number as typed: the number when it reads as one, else the text for the API to refuse. */
function numberOf(text) {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : trimmed;
}

/**
 * Command or args as typed: one item per line, or a JSON array (for items with line breaks).
 * @returns {string[] | undefined} undefined when empty: the image's or template's own
 */
export function listOf(text) {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (trimmed.startsWith('[')) {
    try {
      const parsed = JSON.parse(trimmed);
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // Not JSON after all: lines.
    }
  }
  return text.split('\n').filter((line) => line.trim() !== '');
}

/** Command or args for the text field: lines, or JSON when an item has a line break. */
export function listText(list) {
  if (!list?.length) return '';
  return list.some((item) => item.includes('\n') || item.trim() === '' || item.startsWith('['))
    ? JSON.stringify(list)
    : list.join('\n');
}
