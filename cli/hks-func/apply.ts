import { ApplicationDefinition, CheckedDefinition, loadDefinitions } from '../../constructs';
import { ApplyResult, HksApiError, HksClient } from '../../sdk/typescript';
import { CliContext } from './context';
import { CliError } from './errors';

/** Kinds in the order they are applied: CronJob templates before the CronJobs using them. */
const ORDER: Record<ApplicationDefinition['kind'], number> = {
  StatelessApplication: 0,
  Function: 1,
  CronJob: 2,
};

/**
 * Reads definitions with the project's loader (YAML, schema, `source:` files, set rules).
 * @throws DefinitionError as the loader gives it (exit 2), or CliError when there are none
 */
export function readDefinitions(path: string, cwd: string): ApplicationDefinition[] {
  const checked: CheckedDefinition[] = loadDefinitions(path, cwd);
  if (checked.length === 0)
    throw CliError.usage(`${path}: given no definitions, expected YAML files of definitions`);
  return checked.map((c) => c.definition).sort((a, b) => ORDER[a.kind] - ORDER[b.kind]);
}

/** What was applied. */
export interface Applied {
  readonly kind: string;
  readonly project: string;
  readonly name: string;
  readonly version: number;
  readonly created: boolean;
  readonly objects: string[];
}

/**
 * Creates each definition, or replaces it when it exists. The files read from a `source:`
 * path travel as `files`; the path itself means nothing to the API.
 */
export async function applyDefinitions(
  ctx: CliContext,
  client: HksClient,
  definitions: readonly ApplicationDefinition[],
): Promise<Applied[]> {
  const applied: Applied[] = [];
  for (const definition of definitions) {
    const body = forApi(definition);
    let result: ApplyResult;
    let created = true;
    try {
      result = await client.applications.create(body);
    } catch (error) {
      if (!(error instanceof HksApiError && error.status === 409)) throw error;
      created = false;
      result = await client.applications.replace(body);
    }
    const { project, name } = definition.metadata;
    ctx.note(
      `${definition.kind} ${project}/${name}: ${created ? 'created' : 'updated'} (version ${result.version})`,
    );
    applied.push({
      kind: definition.kind,
      project,
      name,
      version: result.version,
      created,
      objects: result.objects,
    });
  }
  return applied;
}

function forApi(definition: ApplicationDefinition): ApplicationDefinition {
  if (definition.kind !== 'Function' || definition.spec.source === undefined) return definition;
  const { source: _source, ...spec } = definition.spec;
  return { ...definition, spec };
}
