import {
  ApplicationDefinition,
  checkDefinitions,
  DefinitionError,
  DefinitionProblem,
} from '../constructs';
import { FieldError, Problem } from './problem';
import type { StoredApplication } from './store/store';

const REQUEST_SOURCE = { file: 'request body', document: 1 };

const storedSource = (a: StoredApplication) => ({
  file: `stored application ${a.name}`,
  document: a.version,
});

/**
 * Checks a request body as a definition among the project's other stored definitions (unique
 * names, CronJob templates). A stored definition that the schema now rejects (stored by an
 * earlier release) is left out of the check, so it blocks no unrelated write; a write that
 * depends on it (its template) or that it depends on (a CronJob templated on the body, which is
 * re-applied with it) is refused with an error naming it.
 * @param others the project's stored applications other than the body's
 * @throws Problem 400 listing every failing field of the body; 409 naming each stored definition
 *   the write depends on that no longer passes the schema
 */
export function checkAgainstStored(
  body: unknown,
  others: readonly StoredApplication[],
): ApplicationDefinition {
  let usable = [...others];
  for (;;) {
    try {
      const checked = checkDefinitions([
        ...usable.map((a) => ({ document: a.definition, source: storedSource(a) })),
        { document: body, source: REQUEST_SOURCE },
      ]);
      return checked[checked.length - 1].definition;
    } catch (error) {
      if (!(error instanceof DefinitionError)) throw error;
      const own = error.problems.filter((p) => p.source.file === REQUEST_SOURCE.file);
      if (own.length) throw invalidBody(own);
      const broken = usable.filter((a) =>
        error.problems.some((p) => p.source.file === storedSource(a).file),
      );
      const blocking = relatedFields(body, broken);
      if (blocking.length) throw staleStored(blocking, error.problems);
      // Leaving them out may break others that name them (a template): check again.
      usable = usable.filter((a) => !broken.includes(a));
    }
  }
}

function invalidBody(problems: readonly DefinitionProblem[]): Problem {
  const errors = problems.map((p) => ({ path: p.path, message: p.message }));
  return new Problem(
    400,
    'Invalid definition',
    errors.map((e) => `${e.path || '(document)'}: ${e.message}`).join('; '),
    errors,
  );
}

/** Which of `stored` the body names as its template, or name the body as theirs. */
function relatedFields(
  body: unknown,
  stored: readonly StoredApplication[],
): { field: string; value: string; application: StoredApplication }[] {
  const doc = body as { metadata?: { name?: unknown }; spec?: { template?: unknown } } | null;
  const name = doc?.metadata?.name;
  const template = doc?.spec?.template;
  return stored.flatMap((a) => {
    if (a.name === template) return [{ field: 'spec.template', value: a.name, application: a }];
    const theirs = (a.definition as { spec?: { template?: unknown } } | null)?.spec?.template;
    if (typeof name === 'string' && theirs === name)
      return [{ field: 'metadata.name', value: name, application: a }];
    return [];
  });
}

function staleStored(
  related: ReturnType<typeof relatedFields>,
  problems: readonly DefinitionProblem[],
): Problem {
  const errors: FieldError[] = related.map(({ field, value, application: a }) => {
    const own = problems
      .filter((p) => p.source.file === storedSource(a).file)
      .map((p) => `${p.path || '(document)'}: ${p.message}`)
      .join('; ');
    const how = field === 'spec.template' ? 'the template' : `a ${a.kind} templated on it`;
    return {
      path: field,
      message: `given ${JSON.stringify(value)}: the stored definition of ${JSON.stringify(a.name)} (version ${a.version}, ${how}) no longer passes the schema (${own}); expected it replaced (PUT /applications/${a.name}) or deleted first`,
    };
  });
  return new Problem(
    409,
    'Stored definition invalid',
    errors.map((e) => `${e.path}: ${e.message}`).join('; '),
    errors,
  );
}
