/**
 * Reads the field declarations of the definition schema (`FIELD_DOCS`, `TYPE_DOCS` of
 * `constructs/schema-field.ts`) for the files `npm run schema` writes: which named objects
 * there are, their fields with their documentation and defaults, and each field's TypeScript
 * type.
 */
import { z } from 'zod';
import {
  applicationLabelsSchema,
  DEFINITION_SCHEMAS,
  type DefinitionKind,
  workloadContainerSchema,
} from '../constructs/definition-schema';
import { FIELD_DOCS, type FieldDoc, TYPE_DOCS, type TypeDoc } from '../constructs/schema-field';

type Def = { type: string } & Record<string, unknown>;
const defOf = (schema: z.ZodType): Def => schema._zod.def as unknown as Def;

/** A property of a named object, with its declaration. */
export interface DeclaredField {
  readonly name: string;
  readonly schema: z.ZodType;
  readonly optional: boolean;
  readonly doc: FieldDoc;
}

/** A named object of the schema: one generated props interface. */
export interface NamedObject extends TypeDoc {
  readonly schema: z.ZodObject;
  readonly fields: readonly DeclaredField[];
}

/** `spec` of a kind's definition schema. */
export function specSchemaOf(kind: DefinitionKind): z.ZodObject {
  return DEFINITION_SCHEMAS[kind].shape.spec as unknown as z.ZodObject;
}

/** The schema a field accepts inside its `optional` wrapper. */
export function unwrapped(schema: z.ZodType): { schema: z.ZodType; optional: boolean } {
  const def = defOf(schema);
  if (def.type === 'optional') return { schema: def.innerType as z.ZodType, optional: true };
  return { schema, optional: false };
}

/** The declaration of a property; throws naming it when it was declared without one. */
function declaredField(owner: string, name: string, schema: z.ZodType): DeclaredField {
  const doc = FIELD_DOCS.get(schema);
  const { optional } = unwrapped(schema);
  if (doc === undefined)
    throw new Error(
      `${owner}.${name}: declared without documentation, expected requiredField() or optionalField() of constructs/schema-field.ts`,
    );
  if (doc.doc.includes('*/'))
    throw new Error(`${owner}.${name}: its doc holds "*/", which would end the TSDoc comment`);
  return { name, schema, optional, doc };
}

/**
 * Every named object the props take, in a stable order: the container settings and labels,
 * then each kind's spec and the objects its fields name, depth first.
 */
export function namedObjects(): NamedObject[] {
  const found = new Map<string, NamedObject>();
  const visit = (schema: z.ZodType) => {
    const { schema: inner } = unwrapped(schema);
    const def = defOf(inner);
    if (def.type === 'array') return visit(def.element as z.ZodType);
    if (def.type === 'record') return visit(def.valueType as z.ZodType);
    if (def.type !== 'object') return;
    const typeDoc = TYPE_DOCS.get(inner);
    if (typeDoc === undefined)
      throw new Error(
        `an object of the schema (${Object.keys(def.shape as object).join(', ')}) has no name, expected namedObject() of constructs/schema-field.ts`,
      );
    const known = found.get(typeDoc.typeName);
    if (known && known.schema.shape !== (inner as z.ZodObject).shape)
      throw new Error(`${typeDoc.typeName}: two different objects of the schema have that name`);
    if (known) return;
    const object = inner as z.ZodObject;
    const fields = Object.entries(object.shape).map(([name, field]) =>
      declaredField(typeDoc.typeName, name, field as z.ZodType),
    );
    found.set(typeDoc.typeName, { ...typeDoc, schema: object, fields });
    for (const field of fields) visit(field.schema);
  };
  visit(workloadContainerSchema);
  visit(applicationLabelsSchema);
  for (const kind of Object.keys(DEFINITION_SCHEMAS) as DefinitionKind[]) visit(specSchemaOf(kind));
  return [...found.values()];
}

/** The TypeScript type of a field's schema; named objects by their name. */
export function tsTypeOf(schema: z.ZodType, doc: FieldDoc | undefined, where: string): string {
  if (doc?.tsType) return doc.tsType.name;
  const { schema: inner } = unwrapped(schema);
  const def = defOf(inner);
  const named = TYPE_DOCS.get(inner);
  if (named) return named.typeName;
  const of = (child: unknown) => tsTypeOf(child as z.ZodType, undefined, where);
  switch (def.type) {
    case 'string':
    case 'number':
    case 'boolean':
      return def.type;
    case 'enum':
      return Object.values(def.entries as Record<string, string>)
        .map((value) => JSON.stringify(value))
        .join(' | ');
    case 'literal':
      return (def.values as unknown[]).map((value) => JSON.stringify(value)).join(' | ');
    case 'union':
      return (def.options as z.ZodType[]).map(of).join(' | ');
    case 'array': {
      const item = of(def.element);
      return `readonly ${item.includes(' ') ? `(${item})` : item}[]`;
    }
    case 'record':
      return `Readonly<Record<string, ${of(def.valueType)}>>`;
    case 'pipe':
      return of(def.in);
    default:
      throw new Error(
        `${where}: zod type ${def.type} has no TypeScript type here, expected a tsType in its optionalField()/requiredField() declaration`,
      );
  }
}

/** `CronJobSpecProps` → `CRON_JOB_SPEC_DEFAULTS`. */
export function defaultsName(typeName: string): string {
  const words = typeName.replace(/Props$/, '').replace(/([a-z0-9])([A-Z])/g, '$1_$2');
  return `${words.toUpperCase()}_DEFAULTS`;
}

/** A field of a kind's definition, where it is and how it is declared. */
export interface KindField {
  readonly kind: DefinitionKind;
  /** `replicas`, `resources.cpu`, `schedules[].timeZone`, `metadata.labels`. */
  readonly path: string;
  readonly doc: FieldDoc;
}

/** Every declared field of every kind's metadata and spec, depth first. */
export function kindFields(): KindField[] {
  const out: KindField[] = [];
  const walk = (kind: DefinitionKind, schema: z.ZodType, path: string) => {
    const { schema: inner } = unwrapped(schema);
    const def = defOf(inner);
    if (def.type === 'array') return walk(kind, def.element as z.ZodType, `${path}[]`);
    if (def.type === 'record') return walk(kind, def.valueType as z.ZodType, `${path}.<key>`);
    if (def.type !== 'object') return;
    for (const [name, field] of Object.entries((inner as z.ZodObject).shape)) {
      const doc = FIELD_DOCS.get(field as z.ZodType);
      const fieldPath = path === '' ? name : `${path}.${name}`;
      if (doc) out.push({ kind, path: fieldPath, doc });
      walk(kind, field as z.ZodType, fieldPath);
    }
  };
  for (const kind of Object.keys(DEFINITION_SCHEMAS) as DefinitionKind[]) {
    const metadata = DEFINITION_SCHEMAS[kind].shape.metadata as unknown as z.ZodType;
    walk(kind, metadata, 'metadata');
    walk(kind, specSchemaOf(kind), '');
  }
  return out;
}
