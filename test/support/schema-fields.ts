import { z } from 'zod';

/** One step from a schema to a field inside it. */
export type FieldSegment =
  | { readonly kind: 'property'; readonly name: string; readonly optional: boolean }
  /** One entry of a record; its key is checked by `key`. */
  | { readonly kind: 'entry'; readonly key: z.ZodType }
  /** One item of an array. */
  | { readonly kind: 'item' };

/** What a leaf field accepts. */
export type FieldLeaf =
  | { readonly type: 'string' }
  | { readonly type: 'number'; readonly min?: number; readonly max?: number }
  | { readonly type: 'boolean' }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  | { readonly type: 'literal'; readonly values: readonly unknown[] }
  | { readonly type: 'union'; readonly options: readonly FieldLeaf[] }
  | { readonly type: 'unknown'; readonly zodType: string };

/** A leaf field of a schema: where it is and what it accepts. */
export interface SchemaField {
  /** Dotted path; `<key>` stands for a record entry, `[]` for an array item. */
  readonly path: string;
  readonly segments: readonly FieldSegment[];
  readonly leaf: FieldLeaf;
}

/** Wrappers whose inner schema is what the field accepts (refinements are checks in zod v4). */
const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch']);

type Def = { type: string } & Record<string, unknown>;
const defOf = (schema: z.ZodType): Def => schema._zod.def as unknown as Def;

/** The schema a field accepts, without optional/default/pipe wrappers. */
export function unwrapSchema(schema: z.ZodType): { schema: z.ZodType; optional: boolean } {
  let current = schema;
  let optional = false;
  for (;;) {
    const def = defOf(current);
    if (WRAPPERS.has(def.type)) {
      optional ||= def.type !== 'readonly';
      current = def.innerType as z.ZodType;
    } else if (def.type === 'pipe') {
      current = def.in as z.ZodType;
    } else {
      return { schema: current, optional };
    }
  }
}

/** Every leaf field of a schema, depth first in declaration order. */
export function listSchemaFields(schema: z.ZodType): SchemaField[] {
  const fields: SchemaField[] = [];
  walk(schema, [], fields);
  return fields;
}

function walk(schema: z.ZodType, segments: FieldSegment[], out: SchemaField[]): void {
  const inner = unwrapSchema(schema).schema;
  const def = defOf(inner);
  if (def.type === 'object') {
    const shape = def.shape as Record<string, z.ZodType>;
    for (const [name, child] of Object.entries(shape)) {
      const optional = unwrapSchema(child).optional;
      walk(child, [...segments, { kind: 'property', name, optional }], out);
    }
  } else if (def.type === 'record') {
    walk(
      def.valueType as z.ZodType,
      [...segments, { kind: 'entry', key: def.keyType as z.ZodType }],
      out,
    );
  } else if (def.type === 'array') {
    walk(def.element as z.ZodType, [...segments, { kind: 'item' }], out);
  } else {
    out.push({ path: pathOf(segments), segments, leaf: leafOf(inner) });
  }
}

function leafOf(schema: z.ZodType): FieldLeaf {
  const def = defOf(schema);
  switch (def.type) {
    case 'string':
      return { type: 'string' };
    case 'number': {
      const number = schema as z.ZodNumber;
      const finite = (n: number | null) => (n === null || !Number.isFinite(n) ? undefined : n);
      return { type: 'number', min: finite(number.minValue), max: finite(number.maxValue) };
    }
    case 'boolean':
      return { type: 'boolean' };
    case 'enum':
      return { type: 'enum', values: Object.values(def.entries as Record<string, string>) };
    case 'literal':
      return { type: 'literal', values: def.values as unknown[] };
    case 'union':
      return {
        type: 'union',
        options: (def.options as z.ZodType[]).map((o) => leafOf(unwrapSchema(o).schema)),
      };
    default:
      return { type: 'unknown', zodType: def.type };
  }
}

/** `spec.env.<key>`, `spec.envFrom[].prefix`. */
export function pathOf(segments: readonly FieldSegment[]): string {
  return segments
    .map((s) => (s.kind === 'property' ? `.${s.name}` : s.kind === 'entry' ? '.<key>' : '[]'))
    .join('')
    .replace(/^\./, '');
}
