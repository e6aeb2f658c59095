import { existsSync } from 'node:fs';
import { CheckedDefinition, checkDefinitions } from './check-definitions';
import { DefinitionError, DefinitionProblem } from './definition-problem';
import { listDefinitionFiles, readDefinitionFiles } from './read-definition-files';

/**
 * Reads and checks every definition in a folder (or one file): YAML syntax, each document
 * against its kind's schema, then the set as a whole.
 *
 * @param path folder or file
 * @param baseDir folder that file names in messages are relative to
 * @default baseDir - the current working directory
 * @throws DefinitionError with every problem found
 */
export function loadDefinitions(path: string, baseDir = process.cwd()): CheckedDefinition[] {
  if (!existsSync(path)) {
    throw new DefinitionError([
      {
        source: { file: path, document: 0 },
        path: '',
        message: 'given a path that does not exist, expected a folder or YAML file of definitions',
      },
    ]);
  }
  const files = listDefinitionFiles(path);
  // The fast reader first; any problem is reported from a read with `yaml` alone, so that
  // messages, document numbers and lines are exactly the parser of record's.
  return (
    checkFiles(files, baseDir, { fast: true }) ?? checkFiles(files, baseDir, { fast: false }) ?? []
  );
}

/**
 * Reads and checks the files.
 * @returns the checked definitions, or `undefined` when the fast read found problems
 * @throws DefinitionError with every problem found, when not reading fast
 */
function checkFiles(
  files: readonly string[],
  baseDir: string,
  options: { readonly fast: boolean },
): CheckedDefinition[] | undefined {
  const { inputs, problems } = readDefinitionFiles(files, baseDir, options);
  let checked: CheckedDefinition[] = [];
  const all: DefinitionProblem[] = [...problems];
  try {
    checked = checkDefinitions(inputs);
  } catch (error) {
    if (!(error instanceof DefinitionError)) throw error;
    all.push(...error.problems);
  }
  if (all.length === 0) return checked;
  if (options.fast) return undefined;
  throw new DefinitionError(all);
}
