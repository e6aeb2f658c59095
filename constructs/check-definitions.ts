import { ApplicationDefinition } from './definition-schema';
import {
  DefinitionError,
  DefinitionProblem,
  DefinitionSource,
  formatPath,
} from './definition-problem';
import {
  checkHandlerFile,
  checkSourceSize,
  DEFAULT_HANDLERS,
  isSourceRuntime,
} from './function-rules';
import { parseDefinition } from './parse-definition';
import { FunctionSourceRead } from './read-function-source';

/** One document handed in through any door (YAML file, API JSON, code). */
export interface DefinitionInput {
  readonly document: unknown;
  readonly source: DefinitionSource;
  /** Finds the 1-based line of a field, when the door knows it. */
  readonly locate?: (path: readonly PropertyKey[]) => number | undefined;
  /**
   * Reads a Function's `source` path, relative to where the document came from. Only doors
   * that come from files have it; elsewhere a Function gives `code` or `files`.
   */
  readonly readSource?: (source: string) => FunctionSourceRead;
}

/** A definition that passed every check, with where it came from. */
export interface CheckedDefinition {
  readonly definition: ApplicationDefinition;
  readonly source: DefinitionSource;
}

/**
 * Checks documents one by one and then as a set (unique names per project, CronJob templates
 * that exist). Reports every problem at once.
 *
 * @throws DefinitionError with all problems when anything is invalid
 */
export function checkDefinitions(inputs: readonly DefinitionInput[]): CheckedDefinition[] {
  const problems: DefinitionProblem[] = [];
  const checked: CheckedDefinition[] = [];
  const report = (input: DefinitionInput, path: readonly PropertyKey[], message: string) =>
    problems.push({
      source: input.source,
      path: formatPath(path),
      message,
      line: input.locate?.(path),
    });

  const inputOf = new Map<CheckedDefinition, DefinitionInput>();
  for (const input of inputs) {
    const parsed = parseDefinition(input.document);
    if (!parsed.ok) {
      for (const problem of parsed.problems) report(input, problem.path, problem.message);
      continue;
    }
    const definition = withSourceFiles(parsed.definition, input, (message) =>
      report(input, ['spec', 'source'], message),
    );
    if (!definition) continue;
    const entry = { definition, source: input.source };
    checked.push(entry);
    inputOf.set(entry, input);
  }

  const byKey = new Map<string, CheckedDefinition>();
  for (const entry of checked) {
    const { name, project } = entry.definition.metadata;
    const key = `${project}/${name}`;
    const first = byKey.get(key);
    if (first) {
      report(
        inputOf.get(entry)!,
        ['metadata', 'name'],
        `given ${JSON.stringify(name)}, expected a name not used elsewhere in project ${JSON.stringify(project)} (already used by the ${first.definition.kind} at ${first.source.file}:${first.source.document})`,
      );
    } else {
      byKey.set(key, entry);
    }
  }

  for (const entry of checked) {
    const definition = entry.definition;
    if (definition.kind !== 'CronJob' || definition.spec.template === undefined) continue;
    const template = definition.spec.template;
    const target = byKey.get(`${definition.metadata.project}/${template}`);
    if (target?.definition.kind === 'StatelessApplication') continue;
    const candidates = checked
      .filter(
        (c) =>
          c.definition.kind === 'StatelessApplication' &&
          c.definition.metadata.project === definition.metadata.project,
      )
      .map((c) => c.definition.metadata.name);
    const found = target
      ? `, which is a ${target.definition.kind}`
      : ` (not found in project ${JSON.stringify(definition.metadata.project)})`;
    const expected = candidates.length
      ? `one of ${candidates.join(', ')}`
      : `a StatelessApplication of project ${JSON.stringify(definition.metadata.project)}, but it has none`;
    report(
      inputOf.get(entry)!,
      ['spec', 'template'],
      `given ${JSON.stringify(template)}${found}, expected ${expected}`,
    );
  }

  if (problems.length > 0) throw new DefinitionError(problems);
  return checked;
}

/**
 * A Function with a `source` path gets the files read from it (`spec.files`), checked like
 * files given directly. Other definitions pass as they are.
 * @returns the definition, or undefined after reporting why its source is unusable
 */
function withSourceFiles(
  definition: ApplicationDefinition,
  input: DefinitionInput,
  report: (message: string) => void,
): ApplicationDefinition | undefined {
  if (definition.kind !== 'Function' || definition.spec.source === undefined) return definition;
  const { runtime, source } = definition.spec;
  if (!input.readSource) {
    report(
      `given ${JSON.stringify(source)}, expected code or files: a source path can only be read from a definition file`,
    );
    return undefined;
  }
  const read = input.readSource(source);
  if (!read.ok) {
    report(read.message);
    return undefined;
  }
  if (isSourceRuntime(runtime)) {
    const handler = definition.spec.handler ?? DEFAULT_HANDLERS[runtime];
    const problem = checkSourceSize(read.files) ?? checkHandlerFile(runtime, handler, read.files);
    if (problem) {
      report(problem);
      return undefined;
    }
  }
  return { ...definition, spec: { ...definition.spec, files: read.files } };
}
