import { API_VERSION } from './definition-schema';
import { formatPath } from './definition-problem';
import { parseDefinition } from './parse-definition';

/** Props a builder made from a definition that passed the schema (see {@link propsOfCheckedDefinition}). */
const fromCheckedDefinitions = new WeakSet<object>();

/**
 * Marks props made from a definition the schema passed ({@link passedSchema}): their construct
 * skips {@link checkProps}, which would run the same schema on the same values again (about
 * 4% of a 1000-definition synth).
 */
export function propsOfCheckedDefinition<T extends object>(props: T): T {
  fromCheckedDefinitions.add(props);
  return props;
}

/** Whether {@link checkProps} can be skipped for these props. */
export function propsAlreadyChecked(props: object): boolean {
  return fromCheckedDefinitions.has(props);
}

/**
 * Validates construct props with the same schema as YAML and API definitions, so that the
 * code door reports the same problems in the same words.
 *
 * @throws Error listing every problem, each with the field, the value given and what is expected
 */
export function checkProps(
  kind: string,
  name: string,
  project: string,
  labels: Readonly<Record<string, string>> | undefined,
  spec: object,
): void {
  const parsed = parseDefinition({
    apiVersion: API_VERSION,
    kind,
    metadata: { name, project, ...(labels ? { labels } : {}) },
    spec: withoutUndefined(spec),
  });
  if (parsed.ok) return;
  const lines = parsed.problems.map((p) => `  ${propPath(p.path)}: ${p.message}`);
  throw new Error(
    `${kind} ${JSON.stringify(name)} in project ${JSON.stringify(project)} is invalid:\n${lines.join('\n')}`,
  );
}

/** Props are flat: `spec.resources.cpu` is the prop `resources.cpu`. */
function propPath(path: readonly PropertyKey[]): string {
  if (path[0] === 'spec') return formatPath(path.slice(1));
  if (path[0] === 'metadata')
    return formatPath(path[1] === 'project' ? ['project'] : path.slice(1));
  return formatPath(path);
}

function withoutUndefined(spec: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(spec).filter(([, value]) => value !== undefined));
}
