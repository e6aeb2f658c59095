import { z } from 'zod';

/**
 * A default as JSON: a number, string, boolean, list or object (not a recursive type, which
 * the types of zod's registries cannot take).
 */
export type DefaultValue =
  string | number | boolean | null | readonly unknown[] | { readonly [key: string]: unknown };

/**
 * A field of the definition schema declared once: its documentation and its default are data
 * on the zod schema, read by the JSON Schema (description and `default`) and by `npm run
 * schema`, which writes the construct props with their TSDoc (`constructs/generated/`), the
 * `*_DEFAULTS` objects the constructs read and the defaults table of docs/definitions.md.
 */
export interface FieldDoc {
  /** What the field means, in sentences: the prop's TSDoc and the JSON Schema's description. */
  readonly doc: string;
  /** The value the platform uses when the field is not given (a JSON value). @default - none */
  readonly default?: DefaultValue;
  /** A default that is not one value, in words ("no deadline"). @default - none */
  readonly defaultText?: string;
  /** Why the default is what it is, e.g. what cdk8s-plus or Kubernetes would do. @default - none */
  readonly why?: string;
  /** The TypeScript type of the prop when zod cannot tell it (a `z.custom`). @default - from the schema */
  readonly tsType?: { readonly name: string; readonly from: string };
}

/** An object of the schema that becomes a named props interface. */
export interface TypeDoc {
  /** Name of the generated interface, e.g. `ResourceRequirements`. */
  readonly typeName: string;
  /** TSDoc of the interface. */
  readonly doc: string;
}

/** The documentation of every field: the outer schema of each property of an object. */
export const FIELD_DOCS = z.registry<FieldDoc>();

/** The objects that become named props interfaces. */
export const TYPE_DOCS = z.registry<TypeDoc>();

/** A field that must be given. */
export function requiredField<T extends z.ZodType>(
  schema: T,
  doc: string | Omit<FieldDoc, 'default' | 'defaultText'>,
): T {
  const fieldDoc = typeof doc === 'string' ? { doc } : doc;
  const field = schema.meta({ description: fieldDoc.doc }) as T;
  FIELD_DOCS.add(field, fieldDoc);
  // meta() makes a copy: a named object stays named.
  const typeDoc = TYPE_DOCS.get(schema);
  if (typeDoc) TYPE_DOCS.add(field, typeDoc);
  return field;
}

/** What an optional field's declaration says: a default value or a default in words. */
export type OptionalFieldDoc = FieldDoc &
  ({ readonly default: DefaultValue } | { readonly defaultText: string });

/** An optional field, with its default as a value (`default`) or in words (`defaultText`). */
export function optionalField<T extends z.ZodType>(
  schema: T,
  doc: OptionalFieldDoc,
): z.ZodOptional<T> {
  const field = schema.optional().meta({
    description: `${doc.doc} Default: ${defaultWords(doc)}.`,
    ...(doc.default === undefined ? {} : { default: doc.default }),
  });
  FIELD_DOCS.add(field, doc);
  return field;
}

/** An object of the schema that the props name (`TYPE_DOCS`). */
export function namedObject<T extends z.ZodType>(schema: T, typeName: string, doc: string): T {
  TYPE_DOCS.add(schema, { typeName, doc });
  return schema;
}

/** A field's default as a sentence says it: `300`, `Forbid`, `[1,10,60]`, `no deadline`. */
export function defaultWords(doc: FieldDoc): string {
  if (doc.defaultText !== undefined) return doc.defaultText;
  if (typeof doc.default === 'string') return doc.default;
  return JSON.stringify(doc.default).replace(/,/g, ', ');
}

/** The defaults of an object's fields in a line: `cpu 100m, memory 128Mi, cpuLimit none`. */
export function fieldDefaultsSummary(object: z.ZodObject): string {
  return Object.entries(object.shape)
    .map(([name, field]) => [name, FIELD_DOCS.get(field as z.ZodType)] as const)
    .filter(([, doc]) => doc?.default !== undefined || doc?.defaultText !== undefined)
    .map(([name, doc]) => `${name} ${defaultWords(doc as FieldDoc)}`)
    .join(', ');
}
