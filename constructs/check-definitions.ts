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

  // Cross-document rules use what each document says of itself, even when other fields of
  // it are invalid, so that every problem is reported in one pass.
  const identities: Identity[] = [];
  for (const input of inputs) {
    const parsed = parseDefinition(input.document);
    if (parsed.ok) {
      const definition = withSourceFiles(parsed.definition, input, (message) =>
        report(input, ['spec', 'source'], message),
      );
      if (definition) checked.push({ definition, source: input.source });
    } else {
      for (const problem of parsed.problems) report(input, problem.path, problem.message);
    }
    const identity = identityOf(input);
    if (identity) identities.push(identity);
  }

  const byKey = new Map<string, Identity>();
  for (const entry of identities) {
    const key = `${entry.project}/${entry.name}`;
    const first = byKey.get(key);
    if (first) {
      report(
        entry.input,
        ['metadata', 'name'],
        `given ${JSON.stringify(entry.name)}, expected a name not used elsewhere in project ${JSON.stringify(entry.project)} (already used by the ${first.kind} at ${first.input.source.file}:${first.input.source.document})`,
      );
    } else {
      byKey.set(key, entry);
    }
  }

  for (const entry of identities) {
    if (entry.kind !== 'CronJob' || entry.template === undefined) continue;
    const target = byKey.get(`${entry.project}/${entry.template}`);
    if (target?.kind === 'StatelessApplication') continue;
    const candidates = identities
      .filter((c) => c.kind === 'StatelessApplication' && c.project === entry.project)
      .map((c) => c.name);
    const found = target
      ? `, which is a ${target.kind}`
      : ` (not found in project ${JSON.stringify(entry.project)})`;
    const expected = candidates.length
      ? `one of ${candidates.join(', ')}`
      : `a StatelessApplication of project ${JSON.stringify(entry.project)}, but it has none`;
    report(
      entry.input,
      ['spec', 'template'],
      `given ${JSON.stringify(entry.template)}${found}, expected ${expected}`,
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

/** What a document says of itself, read leniently for the cross-document rules. */
interface Identity {
  readonly input: DefinitionInput;
  readonly kind: string;
  readonly project: string;
  readonly name: string;
  readonly template?: string;
}

function identityOf(input: DefinitionInput): Identity | undefined {
  const doc = input.document as
    | {
        kind?: unknown;
        metadata?: { name?: unknown; project?: unknown };
        spec?: { template?: unknown };
      }
    | null
    | undefined;
  const kind = doc?.kind;
  const name = doc?.metadata?.name;
  const project = doc?.metadata?.project;
  if (typeof kind !== 'string' || typeof name !== 'string' || typeof project !== 'string')
    return undefined;
  const template = doc?.spec?.template;
  return {
    input,
    kind,
    project,
    name,
    template: typeof template === 'string' ? template : undefined,
  };
}
