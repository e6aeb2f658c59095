import { z } from 'zod';
import {
  API_VERSION,
  ApplicationDefinition,
  DEFINITION_SCHEMAS,
  DefinitionKind,
} from './definition-schema';
import { describeValue } from './field-rules';

/** A problem inside one document, before its source is known. */
export interface FieldProblem {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** The result of checking one document. */
export type ParsedDefinition =
  | { readonly ok: true; readonly definition: ApplicationDefinition }
  | { readonly ok: false; readonly problems: readonly FieldProblem[] };

const KINDS = Object.keys(DEFINITION_SCHEMAS) as DefinitionKind[];

/** The definitions {@link parseDefinition} returned: the schema has passed them as they are. */
const passed = new WeakSet<object>();

/**
 * Whether `definition` is one {@link parseDefinition} returned, so the constructs built from it
 * need not run the same schema again (a definition is a value: nothing changes it after its
 * check; a copy, or a definition typed by hand, is checked by its construct).
 */
export function passedSchema(definition: ApplicationDefinition): boolean {
  return passed.has(definition) && passed.has(definition.spec);
}
const TYPE_NAMES: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  record: 'a mapping',
};

/**
 * Checks one document against the schema of its kind and reports every problem, each with
 * the value given and what is expected.
 */
export function parseDefinition(document: unknown): ParsedDefinition {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return fail(
      [],
      `given ${describeValue(document)}, expected a mapping with apiVersion, kind, metadata and spec`,
    );
  }
  const kind = (document as Record<string, unknown>).kind;
  if (!KINDS.includes(kind as DefinitionKind)) {
    const problems: FieldProblem[] = [
      {
        path: ['kind'],
        message: `given ${describeValue(kind)}, expected one of ${KINDS.join(', ')}`,
      },
    ];
    const apiVersion = (document as Record<string, unknown>).apiVersion;
    if (apiVersion !== API_VERSION) problems.push(apiVersionProblem(apiVersion));
    return { ok: false, problems };
  }
  const schema: z.ZodType = DEFINITION_SCHEMAS[kind as DefinitionKind];
  const result = schema.safeParse(document, { error: describeIssue });
  if (result.success) {
    const definition = result.data as ApplicationDefinition;
    passed.add(definition);
    passed.add(definition.spec);
    return { ok: true, definition };
  }
  return { ok: false, problems: result.error.issues.flatMap(toFieldProblems) };
}

function fail(path: PropertyKey[], message: string): ParsedDefinition {
  return { ok: false, problems: [{ path, message }] };
}

function apiVersionProblem(given: unknown): FieldProblem {
  return {
    path: ['apiVersion'],
    message: `given ${describeValue(given)}, expected ${JSON.stringify(API_VERSION)}`,
  };
}

/** One issue per unknown key, so each points at its own field. */
function toFieldProblems(issue: z.core.$ZodIssue): FieldProblem[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: [...issue.path, key], message: issue.message }));
  }
  if (issue.code === 'invalid_key') {
    // A bad record key: the key's own rule says what is wrong with it.
    return issue.issues.map((inner) => ({ path: issue.path, message: inner.message }));
  }
  return [{ path: issue.path, message: issue.message }];
}

/** zod error map: every message says what was given and what is expected. */
export function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  const given = `given ${describeValue(issue.input)}`;
  switch (issue.code) {
    case 'invalid_type': {
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      return issue.input === undefined
        ? `missing, expected ${expected}`
        : `${given}, expected ${expected}`;
    }
    case 'too_small':
      return `${given}, expected at least ${issue.minimum}${issue.origin === 'array' ? ' items' : ''}`;
    case 'too_big':
      return `${given}, expected at most ${issue.maximum}${issue.origin === 'array' ? ' items' : ''}`;
    case 'invalid_value':
      return `${given}, expected ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}`;
    case 'unrecognized_keys': {
      const shape = (issue.inst as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def
        ?.shape;
      return `unknown field, expected only ${Object.keys(shape ?? {}).join(', ')}`;
    }
    case 'invalid_union':
      return `${given}, expected a string or a number`;
    default:
      return undefined;
  }
}
